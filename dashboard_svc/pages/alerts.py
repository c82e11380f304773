"""Alerts to work through: open, acknowledged and resolved alerts (the tab is in the URL) with
their evidence as a sentence; several at once can be acknowledged or resolved in one call, all or
none (managers for their teams, admins), each row links to the engineer's Compare History, and a CSV
export."""

from __future__ import annotations

from urllib.parse import urlencode

import dash
import dash_bootstrap_components as dbc
from dash import ClientsideFunction, Input, Output, State, dcc, html

from dashboard_svc import api_client, figures, ids, silences
from dashboard_svc import filters as shared_filters
from dashboard_svc.api_client import ApiError, clean
from dashboard_svc.components import grid, loading, message
from dashboard_svc.layout import principal

PATH = "/alerts"
NAME = "Alerts"
ORDER = 5
# Alerts belong to a team and (most rules) a root cause; they have no region or language, and
# an open alert stays open whatever the period: those filters are not shown here.
FILTERS = ("team", "root_cause")
STATUSES = {"open": "Open", "acknowledged": "Acknowledged", "resolved": "Resolved", "all": "All"}
DECISIONS = {ids.ALERT_ACK: "acknowledged", ids.ALERT_RESOLVE: "resolved"}
MAX_SELECTED = 500  # what POST /alerts/decisions takes in one call
ALL_OR_NONE = "not changed either: the selected alerts are changed all together or not at all"
CAPTION = (
    "Open means fired and not yet acknowledged or resolved — the Overview card counts the same. "
    "The team and root-cause filters apply."
)

COLUMNS = [
    {"field": "rule", "headerName": "Rule", "minWidth": 170},
    {"field": "status", "headerName": "Status", "minWidth": 145},
    {"field": "silenced", "headerName": "Notifications", "minWidth": 130},
    {
        "field": "subject_link",
        "headerName": "Engineer / team",
        "cellRenderer": "markdown",
        "tooltipField": "subject",
        "minWidth": 220,
        "flex": 2,
    },
    {"field": "team", "headerName": "Team", "minWidth": 100},
    {"field": "category", "headerName": "Category", "minWidth": 150},
    {"field": "opened_at", "headerName": "Opened (UTC)", "minWidth": 165},
    {
        "field": "evidence",
        "headerName": "Evidence",
        "minWidth": 280,
        "flex": 4,
        "wrapText": True,
        "autoHeight": True,
    },
]


def may_act() -> bool:
    user = principal()
    return bool(user and user.has_role("manager", "admin"))


def layout(**_query):
    acting = may_act()
    return html.Div(
        [
            dcc.Store(id=ids.ALERT_ROWS),
            dcc.Store(id=ids.ALERT_SELECTED, data=[]),
            dcc.Store(id=ids.ALERT_RESULT),
            dcc.Store(id=ids.ALERT_REFRESH),
            html.H1("Alerts", className="h4"),
            html.P(CAPTION, id=ids.ALERT_CAPTION, className="text-muted small"),
            dbc.Row(
                [
                    dbc.Col(
                        dbc.RadioItems(
                            id=ids.ALERT_STATUS,
                            value="open",
                            className="btn-group status-tabs",
                            inputClassName="btn-check",
                            labelClassName="btn btn-outline-primary",
                            labelCheckedClassName="active",
                            options=[
                                {"label": text, "value": key} for key, text in STATUSES.items()
                            ],
                        ),
                        lg=6,
                    ),
                    dbc.Col(
                        [
                            dbc.Button(
                                "Acknowledge selected",
                                id=ids.ALERT_ACK,
                                color="primary",
                                className="me-2",
                                disabled=not acting,
                            ),
                            dbc.Button(
                                "Resolve selected",
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
                        lg=6,
                        className="text-lg-end mt-2 mt-lg-0",
                    ),
                ],
                className="mb-2",
            ),
            html.Div(id=ids.ALERT_MESSAGE),
            html.Div(id=ids.ALERT_CONFIRMATION, role="status"),
            loading(
                grid(
                    ids.ALERT_GRID,
                    COLUMNS,
                    grid_options={
                        "rowSelection": {
                            "mode": "multiRow",
                            "checkboxes": True,
                            "headerCheckbox": True,
                            "enableClickSelection": False,
                        },
                    },
                    getRowId="params.data.id",
                )
            ),
            dbc.Card(
                dbc.CardBody(
                    [
                        html.H2(id=ids.ALERT_DETAIL_TITLE, className="h6"),
                        html.P(id=ids.ALERT_DETAIL_TEXT, className="mb-0"),
                    ]
                ),
                id=ids.ALERT_DETAIL,
                className="mt-3",
                style={"display": "none"},
            ),
            silences.section(),
        ]
    )


def export_href(status: str | None, filters: dict | None) -> str:
    """The CSV of what the tab shows: its status, the team and the root cause."""
    filters = filters or {}
    params = clean(
        {
            "status": status,
            "team": filters.get("team"),
            "category": filters.get("root_cause"),
            "format": "csv",
        }
    )
    return "/dashboard/download/alerts?" + urlencode(params or {})


def alert_list(filters: dict) -> list[dict]:
    """The alerts of the tab and filters (status, team, root cause), filtered by the API."""
    status = filters.get("status") or "open"
    return api_client.alerts(
        None if status == "all" else status, filters.get("team"), filters.get("root_cause")
    )


def decide_all(selected: list[dict], status: str) -> dict:
    """Acknowledge or resolve the selected alerts in one call, all or none (audited at the
    gateway); what was done, or why each was not, by pseudonym or team (the browser puts roster
    names in)."""
    chosen = selected[:MAX_SELECTED]
    subjects = [
        {key: alert.get(key) for key in ("rule", "engineer_code", "team")} for alert in chosen
    ]
    try:
        api_client.decide_alerts([alert["id"] for alert in chosen], status)
    except ApiError as error:
        at_fault = {item.get("id"): item.get("reason") for item in error.errors if "id" in item}
        fallback = ALL_OR_NONE if at_fault else error.message
        refused = [
            {**subject, "reason": at_fault.get(alert["id"], fallback)}
            for alert, subject in zip(chosen, subjects, strict=True)
        ]
        return {"done": [], "refused": refused}
    return {"done": subjects, "refused": []}


def register_callbacks(app: dash.Dash) -> None:
    @app.callback(
        Output(ids.ALERT_ROWS, "data"),
        Output(ids.ALERT_EXPORT, "href"),
        Output(ids.ALERT_MESSAGE, "children"),
        Output(ids.ALERT_STATUS, "value"),
        Input(ids.FILTERS, "data"),
        Input(ids.ALERT_REFRESH, "data"),
        State(ids.ALERT_STATUS, "value"),
    )
    def update_alerts(filters, _refresh, shown_status):
        if not filters:
            return dash.no_update, dash.no_update, dash.no_update, dash.no_update
        status = filters.get("status") or "open"
        tab = status if status != shown_status else dash.no_update
        href = export_href(None if status == "all" else status, filters)
        try:
            rows = figures.alert_rows(alert_list(filters))
        except ApiError as error:
            return [], href, message(error), tab
        note = None
        if not rows:
            text = "No alerts" if status == "all" else f"No {STATUSES[status].lower()} alerts"
            note = message(text=f"{text} for these filters.", colour="info")
        return rows, href, note, tab

    @app.callback(
        Output(ids.URL, "search", allow_duplicate=True),
        Input(ids.ALERT_STATUS, "value"),
        State(ids.FILTERS, "data"),
        prevent_initial_call=True,
    )
    def show_tab(status, filters):
        """The tab is part of the address: a reload or a shared link opens the same tab."""
        if not filters or status == (filters.get("status") or "open"):
            return dash.no_update
        return shared_filters.to_query({**filters, "status": status})

    @app.callback(
        Output(ids.ALERT_RESULT, "data"),
        Output(ids.ALERT_REFRESH, "data"),
        Input(ids.ALERT_ACK, "n_clicks"),
        Input(ids.ALERT_RESOLVE, "n_clicks"),
        State(ids.ALERT_SELECTED, "data"),
        prevent_initial_call=True,
    )
    def act(_ack, _resolve, selected):
        status = DECISIONS[dash.callback_context.triggered_id]
        if not selected:
            return {"status": status, "done": [], "refused": [], "none": True}, dash.no_update
        result = decide_all(selected, status)
        return {"status": status, **result}, len(result["done"])

    # Roster names, selection and confirmations live in the browser (assets/roster.js): the
    # server sees pseudonyms and alert ids only.
    app.clientside_callback(
        ClientsideFunction("roster", "alertRows"),
        Output(ids.ALERT_GRID, "rowData"),
        Input(ids.ALERT_ROWS, "data"),
        Input(ids.ROSTER, "data"),
        State(ids.URL, "search"),
    )
    app.clientside_callback(
        ClientsideFunction("roster", "alertSelection"),
        Output(ids.ALERT_SELECTED, "data"),
        Output(ids.ALERT_DETAIL_TITLE, "children"),
        Output(ids.ALERT_DETAIL_TEXT, "children"),
        Output(ids.ALERT_DETAIL, "style"),
        Input(ids.ALERT_GRID, "selectedRows"),
    )
    app.clientside_callback(
        ClientsideFunction("roster", "alertConfirmation"),
        Output(ids.ALERT_CONFIRMATION, "children"),
        Output(ids.ALERT_CONFIRMATION, "className"),
        Input(ids.ALERT_RESULT, "data"),
        State(ids.ROSTER, "data"),
    )
