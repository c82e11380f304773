"""Overview: KPI cards (analyses, mean sentiment, mean confidence, open alerts) with the change vs
the previous period, and the weekly trend; a click on a week narrows the period to that week. Its
callback makes two API calls at the same time: the weekly totals of both periods, and the open
alerts."""

from __future__ import annotations

from datetime import date, timedelta

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, dcc, html

from dashboard_svc import api_client, figures, ids
from dashboard_svc import filters as shared_filters
from dashboard_svc.api_client import ApiError
from dashboard_svc.components import change_text, fmt, kpi_card, loading, message
from dashboard_svc.filters import previous_period

PATH = "/"
NAME = "Overview"
ORDER = 0
FILTERS = ("period", "team", "region", "language", "root_cause")
# The one definition of an open alert (the API's `status=open`, the Alerts page's Open tab).
OPEN_ALERTS_MEANING = "fired, not yet acknowledged or resolved"
OPEN_ALERTS_CAPTION = "Any time; team and root cause apply, period, region and language do not."


def layout(**_query):
    return html.Div(
        [
            html.H1("Overview", className="h4"),
            html.Div(id=ids.OVERVIEW_MESSAGE),
            loading(
                dbc.Row(
                    [
                        dbc.Col(html.Div(id=f"{kpi}-slot"), md=6, xl=3)
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
            html.P("Click a week to narrow the period to it.", className="text-muted small mb-1"),
            loading(dcc.Graph(id=ids.WEEKLY_CHART, config={"displaylogo": False})),
        ]
    )


def open_alerts(filters: dict) -> list[dict]:
    """The open alerts the card counts: the API's open alerts of the team, of the chosen root
    cause when one is chosen."""
    alerts = api_client.alerts("open", filters.get("team"))
    cause = filters.get("root_cause")
    return [alert for alert in alerts if not cause or alert.get("category") == cause]


def both_periods(filters: dict) -> tuple[list[dict], list[dict]]:
    """Rows per week of the chosen period and of the equally long one before it, from one API
    call over both (one round trip through the gateway instead of two). The rows are per week and
    root cause: the cards and the chart need only a week's totals, which these give in at most
    five rows a week whatever the number of teams and regions (GET /trends/weekly answers a row
    per team and region: 7,800 rows for 100 teams over six months)."""
    earlier = previous_period(filters)
    return split_periods(api_client.root_causes({**filters, "from": earlier["from"]}), filters)


def split_periods(rows: list[dict], filters: dict) -> tuple[list[dict], list[dict]]:
    """Rows of weeks over both periods split as the API answers each period alone: the chosen
    period's weeks from the Monday of the week it starts in; the period before's, the weeks whose
    Monday is before the chosen period's first day (a week the two share is in both, as it is in
    two answers)."""
    start = date.fromisoformat(filters["start"])
    first_week = (start - timedelta(days=start.weekday())).isoformat()
    current = [row for row in rows if str(row["week"])[:10] >= first_week]
    previous = [row for row in rows if str(row["week"])[:10] < filters["start"]]
    return current, previous


def clicked_week(click: dict) -> str | None:
    point = (click.get("points") or [{}])[0]
    value = point.get("customdata") or point.get("x")
    return str(value)[:10] if value else None


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
            (current, previous), alerts = api_client.together(
                lambda: both_periods(filters), lambda: open_alerts(filters)
            )
        except ApiError as error:
            empty = figures.empty_figure("Analyses and mean scores per week", error.message)
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
            _alerts_card(alerts),
        ]
        note = None
        if not current:
            note = message(
                text="No analyses in this period for these filters — widen the period or clear a filter.",
                colour="info",
            )
        figure = figures.weekly_figure(current, filters.get("start"), filters.get("end"))
        return (*cards, figure, note)

    @app.callback(
        Output(ids.URL, "search", allow_duplicate=True),
        Input(ids.WEEKLY_CHART, "clickData"),
        State(ids.FILTERS, "data"),
        prevent_initial_call=True,
    )
    def narrow_to_week(click, current):
        week = clicked_week(click or {})
        if not week or not current:
            return dash.no_update
        start = date.fromisoformat(week)
        end = min(start + timedelta(days=6), shared_filters.today())
        chosen = {**current, "preset": "custom", "start": week, "end": end.isoformat()}
        return shared_filters.to_query(chosen)


def _card(title, value, change, component_id, unit=""):
    text, tone = change_text(change, unit)
    return kpi_card(title, value, text, component_id, tone)


def _alerts_card(alerts: list[dict]):
    return kpi_card(
        "Open alerts",
        f"{len(alerts):,}",
        OPEN_ALERTS_MEANING,
        ids.KPI_ALERTS,
        caption=OPEN_ALERTS_CAPTION,
    )
