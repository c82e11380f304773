"""Languages and regions: analyses per output language and per region; a click on a bar filters
every chart by it."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, dcc, html

from dashboard_svc import api_client, figures, ids
from dashboard_svc.api_client import ApiError
from dashboard_svc.components import loading, message
from dashboard_svc.layout import set_filter_from_click

PATH = "/languages"
NAME = "Languages & regions"
ORDER = 2
FILTERS = ("period", "team", "region", "language", "root_cause")
LANGUAGE_TITLE = "Analyses per output language"
REGION_TITLE = "Analyses per region"


def layout(**_query):
    return html.Div(
        [
            html.H1("Languages & regions", className="h4"),
            html.P(
                "Click a bar to filter every page by that language or region; click again to clear.",
                className="text-muted small",
            ),
            html.Div(id=ids.LANGUAGE_MESSAGE),
            dbc.Row(
                [
                    dbc.Col(
                        loading(dcc.Graph(id=ids.LANGUAGE_CHART, config={"displaylogo": False})),
                        lg=6,
                    ),
                    dbc.Col(
                        loading(dcc.Graph(id=ids.REGION_CHART, config={"displaylogo": False})), lg=6
                    ),
                ]
            ),
        ]
    )


def clicked_bar(click: dict) -> str | None:
    point = (click.get("points") or [{}])[0]
    return point.get("customdata") or point.get("x")


def register_callbacks(app: dash.Dash) -> None:
    @app.callback(
        Output(ids.LANGUAGE_CHART, "figure"),
        Output(ids.REGION_CHART, "figure"),
        Output(ids.LANGUAGE_MESSAGE, "children"),
        Input(ids.FILTERS, "data"),
    )
    def update_languages(filters):
        if not filters:
            return dash.no_update, dash.no_update, dash.no_update
        try:
            languages = api_client.languages(filters)
            weekly = api_client.weekly(filters)
        except ApiError as error:
            empty = figures.empty_figure(LANGUAGE_TITLE, error.message)
            return empty, figures.empty_figure(REGION_TITLE, error.message), message(error)
        return (
            figures.totals_bar(languages, "language", LANGUAGE_TITLE, "output language"),
            figures.totals_bar(weekly, "region", REGION_TITLE, "region"),
            None,
        )

    set_filter_from_click(app, ids.LANGUAGE_CHART, "language", clicked_bar)
    set_filter_from_click(app, ids.REGION_CHART, "region", clicked_bar)
