"""Engineers: the sortable table of engineers with analyses in the period (names from the
private roster shown in the browser only), and find one by name (the name goes to the look-up in
a request body, never into a URL or a server-side callback)."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import ClientsideFunction, Input, Output, State, dcc, html

from dashboard_svc import api_client, ids
from dashboard_svc.api_client import ApiError
from dashboard_svc.components import COUNT_FORMAT, SCORE_FORMAT, grid, loading, message
from dashboard_svc.figures import label

PATH = "/engineers"
NAME = "Engineers"
ORDER = 3
FILTERS = ("period", "team", "region", "language", "root_cause")

COLUMNS = [
    {
        "field": "engineer",
        "headerName": "Engineer",
        "cellRenderer": "markdown",
        "tooltipField": "engineer_code",
        "minWidth": 260,
        "flex": 2,
    },
    {"field": "team", "headerName": "Team"},
    {
        "field": "sessions",
        "headerName": "Analyses",
        "type": "numericColumn",
        "sort": "desc",
        "valueFormatter": COUNT_FORMAT,
    },
    {
        "field": "mean_sentiment",
        "headerName": "Mean sentiment",
        "type": "numericColumn",
        "valueFormatter": SCORE_FORMAT,
        "minWidth": 140,
    },
    {
        "field": "mean_confidence",
        "headerName": "Mean confidence",
        "type": "numericColumn",
        "valueFormatter": SCORE_FORMAT,
        "minWidth": 150,
    },
    {"field": "most_common_root_cause", "headerName": "Most common root cause", "minWidth": 190},
    {"field": "last_analysed", "headerName": "Last analysis", "minWidth": 130},
]


def layout(**_query):
    return html.Div(
        [
            dcc.Location(id=ids.DRILL, refresh=True),
            dcc.Store(id=ids.ENGINEER_ROWS),
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
                "The name is turned into the engineer's pseudonym and not kept anywhere. "
                "Names of your team show in the table once they are in your roster.",
                className="text-muted small",
            ),
            html.Div(id=ids.FIND_MESSAGE),
            html.Div(id=ids.ENGINEER_MESSAGE),
            loading(grid(ids.ENGINEER_GRID, COLUMNS)),
        ]
    )


def engineer_rows(rows: list[dict]) -> list[dict]:
    """Table rows with pseudonyms only (the browser adds roster names and links)."""
    return [
        {
            "engineer_code": row["engineer_code"],
            "team": row.get("team"),
            "sessions": row["sessions"],
            "mean_sentiment": row["mean_sentiment"],
            "mean_confidence": row["mean_confidence"],
            "most_common_root_cause": label(row["most_common_root_cause"]),
            "last_analysed": str(row["last_analysed_at"])[:10],
        }
        for row in rows
    ]


def register_callbacks(app: dash.Dash) -> None:
    @app.callback(
        Output(ids.ENGINEER_ROWS, "data"),
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

    # Roster names are put in the browser, from local storage, never on the server.
    app.clientside_callback(
        ClientsideFunction("roster", "engineerRows"),
        Output(ids.ENGINEER_GRID, "rowData"),
        Input(ids.ENGINEER_ROWS, "data"),
        Input(ids.ROSTER, "data"),
        State(ids.URL, "search"),
    )
    app.clientside_callback(
        ClientsideFunction("roster", "findEngineer"),
        Output(ids.DRILL, "href"),
        Output(ids.FIND_MESSAGE, "children"),
        Input(ids.FIND_BUTTON, "n_clicks"),
        Input(ids.FIND_NAME, "n_submit"),
        State(ids.FIND_NAME, "value"),
        State(ids.URL, "search"),
        prevent_initial_call=True,
    )
