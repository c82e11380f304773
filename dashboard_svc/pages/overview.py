"""Overview: KPI cards (analyses, mean sentiment, mean confidence, open alerts) with the change vs
the previous period, and the weekly trend."""

from __future__ import annotations

from datetime import datetime

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, dcc, html

from dashboard_svc import api_client, figures, ids
from dashboard_svc.api_client import ApiError
from dashboard_svc.components import change_text, fmt, kpi_card, loading, message
from dashboard_svc.filters import previous_period

PATH = "/"
NAME = "Overview"
ORDER = 0


def layout(**_query):
    return html.Div(
        [
            html.H1("Overview", className="h4"),
            html.Div(id=ids.OVERVIEW_MESSAGE),
            loading(
                dbc.Row(
                    [
                        dbc.Col(html.Div(id=f"{kpi}-slot"), md=3)
                        for kpi in (
                            ids.KPI_SESSIONS,
                            ids.KPI_SENTIMENT,
                            ids.KPI_CONFIDENCE,
                            ids.KPI_ALERTS,
                        )
                    ],
                    className="g-3 mb-3",
                )
            ),
            loading(dcc.Graph(id=ids.WEEKLY_CHART, config={"displaylogo": False})),
        ]
    )


def register_callbacks(app: dash.Dash) -> None:
    @app.callback(
        Output(f"{ids.KPI_SESSIONS}-slot", "children"),
        Output(f"{ids.KPI_SENTIMENT}-slot", "children"),
        Output(f"{ids.KPI_CONFIDENCE}-slot", "children"),
        Output(f"{ids.KPI_ALERTS}-slot", "children"),
        Output(ids.WEEKLY_CHART, "figure"),
        Output(ids.OVERVIEW_MESSAGE, "children"),
        Input(ids.FILTERS, "data"),
    )
    def update_overview(filters):
        if not filters:
            return (dash.no_update,) * 6
        try:
            current = api_client.weekly(filters)
            previous = api_client.weekly(previous_period(filters))
            alerts = api_client.alerts(None, filters.get("team"), limit=500)
        except ApiError as error:
            empty = figures.empty_figure("Analyses and mean sentiment per week", error.message)
            return None, None, None, None, empty, message(error)
        values = figures.kpis(current, previous)
        cards = [
            _card(
                "Analyses",
                f"{values['sessions']['value']:,}",
                values["sessions"]["change"],
                ids.KPI_SESSIONS,
                "count",
            ),
            _card(
                "Mean sentiment",
                fmt(values["mean_sentiment"]["value"]),
                values["mean_sentiment"]["change"],
                ids.KPI_SENTIMENT,
            ),
            _card(
                "Mean confidence",
                fmt(values["mean_confidence"]["value"]),
                values["mean_confidence"]["change"],
                ids.KPI_CONFIDENCE,
            ),
            _alerts_card(alerts, filters),
        ]
        note = None
        if not current:
            note = message(
                text="No analyses in this period for these filters — widen the period or clear a filter.",
                colour="info",
            )
        return (*cards, figures.weekly_figure(current), note)


def _card(title, value, change, component_id, unit=""):
    text, tone = change_text(change, unit)
    return kpi_card(title, value, text, component_id, tone)


def _alerts_card(alerts: list[dict], filters: dict):
    live = sum(1 for alert in alerts if alert["status"] != "resolved")
    earlier = previous_period(filters)

    def opened_between(start: str, end: str) -> int:
        return sum(
            1
            for alert in alerts
            if datetime.fromisoformat(start)
            <= datetime.fromisoformat(alert["opened_at"])
            < datetime.fromisoformat(end)
        )

    change = opened_between(filters["from"], filters["to"]) - opened_between(
        earlier["from"], earlier["to"]
    )
    text = f"{change:+d} opened vs previous period"
    return kpi_card(
        "Open alerts",
        str(live),
        text,
        ids.KPI_ALERTS,
        "danger" if change > 0 else "success" if change < 0 else "muted",
    )
