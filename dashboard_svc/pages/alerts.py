"""Alerts to act on: open, acknowledged and resolved alerts with their evidence; acknowledge and
resolve (managers for their teams, admins), and a CSV export of what is shown."""

from __future__ import annotations

from urllib.parse import urlencode

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, html

from dashboard_svc import api_client, figures, ids
from dashboard_svc.api_client import ApiError, clean
from dashboard_svc.components import grid, loading, message
from dashboard_svc.layout import principal

PATH = "/alerts"
NAME = "Alerts"
ORDER = 5
STATUSES = {"open": "Open", "acknowledged": "Acknowledged", "resolved": "Resolved", "": "All"}

COLUMNS = [
    {"field": "rule", "headerName": "Rule", "checkboxSelection": True},
    {"field": "status", "headerName": "Status"},
    {"field": "subject", "headerName": "Engineer / team", "flex": 2},
    {"field": "team", "headerName": "Team"},
    {"field": "category", "headerName": "Category"},
    {"field": "opened_at", "headerName": "Opened (UTC)"},
    {"field": "evidence", "headerName": "Evidence", "flex": 3},
]


def may_act() -> bool:
    user = principal()
    return bool(user and user.has_role("manager", "admin"))


def layout(**_query):
    acting = may_act()
    return html.Div(
        [
            html.H1("Alerts", className="h4"),
            dbc.Row(
                [
                    dbc.Col(
                        dbc.RadioItems(
                            id=ids.ALERT_STATUS,
                            value="open",
                            inline=True,
                            options=[
                                {"label": text, "value": key} for key, text in STATUSES.items()
                            ],
                        ),
                        md=6,
                    ),
                    dbc.Col(
                        [
                            dbc.Button(
                                "Acknowledge",
                                id=ids.ALERT_ACK,
                                color="primary",
                                className="me-2",
                                disabled=not acting,
                            ),
                            dbc.Button(
                                "Resolve",
                                id=ids.ALERT_RESOLVE,
                                color="success",
                                className="me-2",
                                disabled=not acting,
                            ),
                            html.A(
                                "Export CSV",
                                id=ids.ALERT_EXPORT,
                                className="btn btn-outline-secondary",
                                href="#",
                            ),
                        ],
                        md=6,
                        className="text-md-end",
                    ),
                ],
                className="mb-2",
            ),
            html.Div(id=ids.ALERT_MESSAGE),
            loading(
                grid(
                    ids.ALERT_GRID,
                    COLUMNS,
                    grid_options={"rowSelection": "single"},
                    getRowId="params.data.id",
                )
            ),
            html.Div(id=ids.ALERT_DETAIL, className="mt-3"),
            html.Div(id=ids.ALERT_REFRESH, hidden=True),
        ]
    )


def export_href(status: str | None, filters: dict | None) -> str:
    params = clean({"status": status, "team": (filters or {}).get("team"), "format": "csv"})
    return "/dashboard/download/alerts?" + urlencode(params or {})


def register_callbacks(app: dash.Dash) -> None:
    @app.callback(
        Output(ids.ALERT_GRID, "rowData"),
        Output(ids.ALERT_EXPORT, "href"),
        Output(ids.ALERT_MESSAGE, "children", allow_duplicate=True),
        Input(ids.FILTERS, "data"),
        Input(ids.ALERT_STATUS, "value"),
        Input(ids.ALERT_REFRESH, "children"),
        prevent_initial_call="initial_duplicate",
    )
    def update_alerts(filters, status, _refresh):
        if not filters:
            return dash.no_update, dash.no_update, dash.no_update
        href = export_href(status or None, filters)
        try:
            rows = figures.alert_rows(api_client.alerts(status or None, filters.get("team")))
        except ApiError as error:
            return [], href, message(error)
        if dash.callback_context.triggered_id == ids.ALERT_REFRESH:
            return rows, href, dash.no_update  # keep the action's confirmation on screen
        note = (
            None
            if rows
            else message(
                text=f"No {STATUSES[status or ''].lower()} alerts for these filters.", colour="info"
            )
        )
        return rows, href, note

    @app.callback(
        Output(ids.ALERT_MESSAGE, "children", allow_duplicate=True),
        Output(ids.ALERT_REFRESH, "children"),
        Input(ids.ALERT_ACK, "n_clicks"),
        Input(ids.ALERT_RESOLVE, "n_clicks"),
        State(ids.ALERT_GRID, "selectedRows"),
        prevent_initial_call=True,
    )
    def act(_ack, _resolve, selected):
        action = "ack" if dash.callback_context.triggered_id == ids.ALERT_ACK else "resolve"
        if not selected:
            return message(text="Select an alert in the table first."), dash.no_update
        alert = selected[0]
        try:
            changed = api_client.act_on_alert(alert["id"], action)
        except ApiError as error:
            return message(error), dash.no_update
        return (
            message(
                text=f"Alert {changed['rule'].replace('_', ' ')} is now {changed['status']}.",
                colour="success",
            ),
            f"{changed['id']}:{changed['status']}",
        )

    @app.callback(Output(ids.ALERT_DETAIL, "children"), Input(ids.ALERT_GRID, "selectedRows"))
    def show_detail(selected):
        if not selected:
            return None
        alert = selected[0]
        return dbc.Card(
            dbc.CardBody(
                [
                    html.H2(f"{alert['rule']} — {alert['subject']}", className="h6"),
                    html.P(alert["evidence"] or "No evidence recorded.", className="mb-0 small"),
                ]
            )
        )
