"""One engineer: the Compare History view (current vs previous period, team baseline, weekly
timeline, root-cause mix, recurring categories and streaks, open alerts, the agent's text)."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import ClientsideFunction, Input, Output, dcc, html

from dashboard_svc import api_client, figures, ids
from dashboard_svc.api_client import ApiError
from dashboard_svc.components import change_text, fmt, grid, kpi_card, loading, message
from dashboard_svc.filters import period_days, period_until
from shared.pseudonyms import is_engineer_code

PATH = "/engineers/history"
PATH_TEMPLATE = "/engineers/<engineer_code>"
NAME = "Engineer"
ORDER = 4
FILTERS = ("period",)  # Compare History is one engineer's: team, region etc. do not apply

ALERT_COLUMNS = [
    {"field": "rule", "headerName": "Rule"},
    {"field": "category", "headerName": "Category"},
    {"field": "status", "headerName": "Status"},
    {"field": "opened_at", "headerName": "Opened (UTC)"},
    {
        "field": "evidence",
        "headerName": "Evidence",
        "flex": 3,
        "wrapText": True,
        "autoHeight": True,
    },
]


def layout(engineer_code: str | None = None, **_query):
    return html.Div(
        [
            dcc.Store(id=ids.HISTORY_CODE, data=engineer_code),
            dbc.Row(
                [
                    dbc.Col(
                        html.H1(
                            [
                                "Compare History: ",
                                # the roster name replaces the code in the browser (title: code)
                                html.Span(engineer_code or "", id=ids.HISTORY_NAME),
                            ],
                            className="h4",
                        ),
                        md=12,
                    ),
                    dbc.Col(html.P(id=ids.HISTORY_PERIOD_NOTE, className="text-muted small")),
                ],
                className="mb-2",
            ),
            html.Div(id=ids.HISTORY_MESSAGE),
            loading(dbc.Row(id=ids.HISTORY_KPIS, className="g-3 mb-3")),
            dbc.Row(
                [
                    dbc.Col(
                        loading(dcc.Graph(id=ids.HISTORY_TIMELINE, config={"displaylogo": False})),
                        lg=6,
                    ),
                    dbc.Col(
                        loading(dcc.Graph(id=ids.HISTORY_MIX, config={"displaylogo": False})), lg=6
                    ),
                ]
            ),
            html.H2("Summary for the agent", className="h5 mt-3"),
            html.Pre(
                id=ids.HISTORY_TEXT,
                className="bg-light p-3 rounded",
                style={"whiteSpace": "pre-wrap"},
            ),
            html.H2("Open alerts", className="h5 mt-3"),
            grid(ids.HISTORY_ALERTS, ALERT_COLUMNS),
        ]
    )


def history_cards(answer: dict) -> list:
    current, previous, delta = answer["current"], answer["previous"], answer["delta"]
    baseline = answer.get("team_baseline") or {}
    cards = []
    for title, value, change, unit in (
        (
            "Analyses",
            f"{current['sessions']:,}",
            delta.get("sessions") if previous["sessions"] else None,
            "count",
        ),
        ("Mean sentiment", fmt(current["mean_sentiment"]), delta.get("mean_sentiment"), ""),
        ("Mean confidence", fmt(current["mean_confidence"]), delta.get("mean_confidence"), ""),
        ("Team mean sentiment", fmt(baseline.get("mean_sentiment")), None, ""),
    ):
        text, tone = change_text(change, unit)
        if title.startswith("Team"):
            text, tone = f"team {answer.get('team') or '—'}, same period", "muted"
        cards.append(
            dbc.Col(
                kpi_card(title, value, text, f"history-{title.lower().replace(' ', '-')}", tone),
                md=6,
                xl=3,
            )
        )
    return cards


def register_callbacks(app: dash.Dash) -> None:
    @app.callback(
        Output(ids.HISTORY_KPIS, "children"),
        Output(ids.HISTORY_TIMELINE, "figure"),
        Output(ids.HISTORY_MIX, "figure"),
        Output(ids.HISTORY_TEXT, "children"),
        Output(ids.HISTORY_ALERTS, "rowData"),
        Output(ids.HISTORY_MESSAGE, "children"),
        Output(ids.HISTORY_PERIOD_NOTE, "children"),
        Input(ids.HISTORY_CODE, "data"),
        Input(ids.FILTERS, "data"),
    )
    def update_history(code, filters):
        if not filters:
            return (dash.no_update,) * 7
        days, until = period_days(filters), period_until(filters)
        note = (
            f"The last {days} days compared with the {days} days before "
            "(as long as the period chosen above)."
            if until is None
            else f"The {days} days to {filters['end']} compared with the {days} days before "
            "(the period chosen above)."
        )
        if not is_engineer_code(code or ""):
            empty = figures.empty_figure("Weekly timeline", "Not an engineer pseudonym.")
            return (
                [],
                empty,
                empty,
                "",
                [],
                message(text="This address does not name an engineer pseudonym."),
                note,
            )
        try:
            answer = api_client.history(code, days, until)
        except ApiError as error:
            empty = figures.empty_figure("Weekly timeline", error.message)
            return [], empty, empty, "", [], message(error), note
        return (
            history_cards(answer),
            figures.history_timeline(answer["timeline"]),
            figures.root_cause_mix(answer),
            answer["text"],
            figures.alert_rows(answer["alerts"]),
            None,
            note,
        )

    app.clientside_callback(
        ClientsideFunction("roster", "historyName"),
        Output(ids.HISTORY_NAME, "children"),
        Output(ids.HISTORY_NAME, "title"),
        Input(ids.HISTORY_CODE, "data"),
        Input(ids.ROSTER, "data"),
    )
