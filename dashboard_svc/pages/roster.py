"""My roster: the names of the manager's team, kept in this browser only (local storage), each
with the pseudonym the look-up gave it; every page shows the name where the pseudonym appears.
All of it happens in the browser (assets/roster.js); no server-side callback sees a name."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import ClientsideFunction, Input, Output, State, dcc, html

from dashboard_svc import ids
from dashboard_svc.components import grid

PATH = "/roster"
NAME = "My roster"
ORDER = 6
FILTERS = ()

COLUMNS = [
    {"field": "name", "headerName": "Name", "minWidth": 200},
    {"field": "engineer_code", "headerName": "Pseudonym", "minWidth": 300, "flex": 2},
]


def layout(**_query):
    return html.Div(
        [
            html.H1("My roster", className="h4"),
            dbc.Alert(
                [
                    html.Strong("Names stay in this browser. "),
                    "They are kept in this browser's local storage only: never on the platform's "
                    "servers, in addresses, logs or tables. Each name is sent once, in the body of "
                    "a look-up, to get its pseudonym; each counts against your look-up limit. "
                    "Use “Clear roster” on a shared computer.",
                ],
                color="info",
                className="small",
            ),
            dbc.Row(
                [
                    dbc.Col(
                        [
                            dbc.Label("Names, one per line", html_for=ids.ROSTER_TEXT),
                            dbc.Textarea(
                                id=ids.ROSTER_TEXT,
                                rows=6,
                                placeholder="Greta Dashwood\nBo Dashwood",
                                spellcheck="false",
                            ),
                        ],
                        lg=6,
                    ),
                    dbc.Col(
                        [
                            dbc.Label("Or a CSV file"),
                            dcc.Upload(
                                id=ids.ROSTER_UPLOAD,
                                max_size=256 * 1024,
                                accept=".csv,text/csv,text/plain",
                                children=html.Div(
                                    ["Drop a CSV here or ", html.A("choose one", href="#")]
                                ),
                                className="upload-box",
                            ),
                            html.P(
                                "A column named “name” (or “engineer”), else the first column.",
                                className="text-muted small mt-1",
                            ),
                        ],
                        lg=6,
                    ),
                ],
                className="g-3 mb-2",
            ),
            dbc.Button("Add to roster", id=ids.ROSTER_ADD, color="primary", className="me-2"),
            dbc.Button("Clear roster", id=ids.ROSTER_CLEAR, color="danger", outline=True),
            html.Div(id=ids.ROSTER_STATUS, className="mt-3", role="status"),
            html.H2("In this browser", className="h5 mt-3"),
            grid(ids.ROSTER_GRID, COLUMNS),
        ]
    )


def register_callbacks(app: dash.Dash) -> None:
    app.clientside_callback(
        ClientsideFunction("roster", "addNames"),
        Output(ids.ROSTER, "data"),
        Output(ids.ROSTER_STATUS, "children"),
        Output(ids.ROSTER_TEXT, "value"),
        Input(ids.ROSTER_ADD, "n_clicks"),
        Input(ids.ROSTER_UPLOAD, "contents"),
        State(ids.ROSTER_TEXT, "value"),
        State(ids.ROSTER, "data"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        ClientsideFunction("roster", "clear"),
        Output(ids.ROSTER, "data", allow_duplicate=True),
        Output(ids.ROSTER_STATUS, "children", allow_duplicate=True),
        Input(ids.ROSTER_CLEAR, "n_clicks"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        ClientsideFunction("roster", "rosterRows"),
        Output(ids.ROSTER_GRID, "rowData"),
        Input(ids.ROSTER, "data"),
    )
