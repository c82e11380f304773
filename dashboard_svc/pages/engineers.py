"""Engineers: find one by name (turned into the pseudonym by the API; the name is never stored or
put in a URL) and the sortable table of engineers with analyses in the period."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, dcc, html

from dashboard_svc import api_client, ids
from dashboard_svc.api_client import ApiError
from dashboard_svc.components import grid, loading, message
from dashboard_svc.figures import label

PATH = "/engineers"
NAME = "Engineers"
ORDER = 3

COLUMNS = [
    {
        "field": "engineer_code",
        "headerName": "Engineer (pseudonym)",
        "cellRenderer": "markdown",
        "flex": 2,
    },
    {"field": "team", "headerName": "Team"},
    {"field": "sessions", "headerName": "Analyses", "type": "numericColumn", "sort": "desc"},
    {"field": "mean_sentiment", "headerName": "Mean sentiment", "type": "numericColumn"},
    {"field": "mean_confidence", "headerName": "Mean confidence", "type": "numericColumn"},
    {"field": "most_common_root_cause", "headerName": "Most common root cause"},
    {"field": "last_analysed", "headerName": "Last analysis"},
]


def layout(**_query):
    return html.Div(
        [
            dcc.Location(id=ids.DRILL, refresh=True),
            html.H1("Engineers", className="h4"),
            dbc.Form(
                dbc.Row(
                    [
                        dbc.Col(
                            dbc.Input(
                                id=ids.FIND_NAME,
                                type="text",
                                placeholder="Engineer name",
                                autocomplete="off",
                                maxLength=200,
                            ),
                            md=4,
                        ),
                        dbc.Col(
                            dbc.Button("Open history", id=ids.FIND_BUTTON, color="primary"),
                            md="auto",
                        ),
                    ],
                    className="g-2",
                ),
                className="mb-2",
            ),
            html.P(
                "The name is turned into the engineer's pseudonym and not kept anywhere.",
                className="text-muted small",
            ),
            html.Div(id=ids.FIND_MESSAGE),
            html.Div(id=ids.ENGINEER_MESSAGE),
            loading(grid(ids.ENGINEER_GRID, COLUMNS)),
        ]
    )


def engineer_rows(rows: list[dict]) -> list[dict]:
    """Table rows; the pseudonym links to the engineer's Compare History page."""
    return [
        {
            **row,
            "engineer_code": f"[{row['engineer_code']}](/dashboard/engineers/{row['engineer_code']})",
            "mean_sentiment": None
            if row["mean_sentiment"] is None
            else round(row["mean_sentiment"], 2),
            "mean_confidence": None
            if row["mean_confidence"] is None
            else round(row["mean_confidence"], 2),
            "most_common_root_cause": label(row["most_common_root_cause"]),
            "last_analysed": str(row["last_analysed_at"])[:10],
        }
        for row in rows
    ]


def register_callbacks(app: dash.Dash) -> None:
    @app.callback(
        Output(ids.ENGINEER_GRID, "rowData"),
        Output(ids.ENGINEER_MESSAGE, "children"),
        Input(ids.FILTERS, "data"),
    )
    def update_engineers(filters):
        if not filters:
            return dash.no_update, dash.no_update
        try:
            rows = api_client.engineers(filters)
        except ApiError as error:
            return [], message(error)
        note = (
            None
            if rows
            else message(
                text="No engineer has analyses in this period for these filters.", colour="info"
            )
        )
        return engineer_rows(rows), note

    @app.callback(
        Output(ids.DRILL, "href"),
        Output(ids.FIND_MESSAGE, "children"),
        Output(ids.FIND_NAME, "value"),
        Input(ids.FIND_BUTTON, "n_clicks"),
        Input(ids.FIND_NAME, "n_submit"),
        State(ids.FIND_NAME, "value"),
        prevent_initial_call=True,
    )
    def find_engineer(_clicks, _submit, name):
        if not (name or "").strip():
            return dash.no_update, message(text="Type the engineer's name first."), dash.no_update
        try:
            code = api_client.lookup_engineer(name.strip())
        except ApiError as error:
            return dash.no_update, message(error), dash.no_update
        return f"/dashboard/engineers/{code}", None, ""
