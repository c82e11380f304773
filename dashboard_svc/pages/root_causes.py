"""Root causes: analyses per week stacked by root cause, and each category's share. A click on a
category filters every chart by it."""

from __future__ import annotations

import dash
from dash import Input, Output, dcc, html

from dashboard_svc import api_client, figures, ids
from dashboard_svc.api_client import ApiError
from dashboard_svc.components import (
    COUNT_FORMAT,
    SCORE_FORMAT,
    SHARE_FORMAT,
    grid,
    loading,
    message,
)
from dashboard_svc.layout import set_filter_from_click

PATH = "/root-causes"
NAME = "Root causes"
ORDER = 1
FILTERS = ("period", "team", "region", "language", "root_cause")

COLUMNS = [
    {"field": "label", "headerName": "Root cause", "minWidth": 160},
    {
        "field": "sessions",
        "headerName": "Analyses",
        "type": "numericColumn",
        "valueFormatter": COUNT_FORMAT,
    },
    {
        "field": "share",
        "headerName": "Share of analyses",
        "type": "numericColumn",
        "valueFormatter": SHARE_FORMAT,
    },
    {
        "field": "mean_sentiment",
        "headerName": "Mean sentiment",
        "type": "numericColumn",
        "valueFormatter": SCORE_FORMAT,
    },
]


def layout(**_query):
    return html.Div(
        [
            html.H1("Root causes", className="h4"),
            html.P(
                "Click a band of the chart to filter every page by it; click again to clear.",
                className="text-muted small",
            ),
            html.Div(id=ids.CAUSE_MESSAGE),
            loading(dcc.Graph(id=ids.CAUSE_AREA, config={"displaylogo": False})),
            html.H2("Share of analyses", className="h5 mt-3"),
            grid(ids.CAUSE_TABLE, COLUMNS),
        ]
    )


def clicked_cause(click: dict) -> str | None:
    point = (click.get("points") or [{}])[0]
    return point.get("customdata")


def register_callbacks(app: dash.Dash) -> None:
    @app.callback(
        Output(ids.CAUSE_AREA, "figure"),
        Output(ids.CAUSE_TABLE, "rowData"),
        Output(ids.CAUSE_MESSAGE, "children"),
        Input(ids.FILTERS, "data"),
    )
    def update_root_causes(filters):
        if not filters:
            return dash.no_update, dash.no_update, dash.no_update
        try:
            rows = api_client.root_causes(filters)
        except ApiError as error:
            return figures.empty_figure("Root causes over time", error.message), [], message(error)
        return (
            figures.root_cause_area(rows, filters.get("start"), filters.get("end")),
            figures.root_cause_shares(rows),
            None,
        )

    set_filter_from_click(app, ids.CAUSE_AREA, "root_cause", clicked_cause)
