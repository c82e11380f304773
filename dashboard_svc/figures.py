"""Figures and table rows of the dashboard, built by pure functions from API answers (unit-tested
without a browser). Colours: the Okabe–Ito palette, safe for colour-blind readers."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import plotly.graph_objects as go

from shared import domain

PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
ROOT_CAUSE_COLOURS = dict(zip(domain.ROOT_CAUSES, PALETTE, strict=False))
FONT = {"family": "system-ui, -apple-system, Segoe UI, sans-serif", "size": 13}


def label(code: str | None) -> str:
    """`knowledge_gap` → `Knowledge gap`."""
    return (code or "—").replace("_", " ").capitalize()


def _layout(title: str, **extra: Any) -> dict[str, Any]:
    return {
        "title": {"text": title, "x": 0, "xanchor": "left", "font": {"size": 16}},
        "font": FONT,
        "margin": {"l": 56, "r": 24, "t": 56, "b": 48},
        "plot_bgcolor": "#ffffff",
        "paper_bgcolor": "#ffffff",
        "legend": {"orientation": "h", "y": -0.18},
        "hovermode": "x unified",
        **extra,
    }


def empty_figure(title: str, reason: str) -> go.Figure:
    """A figure that says why it has no data instead of showing empty axes."""
    figure = go.Figure(layout=_layout(title))
    figure.add_annotation(
        text=reason, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper", font={"size": 15}
    )
    figure.update_xaxes(visible=False)
    figure.update_yaxes(visible=False)
    return figure


def weighted_mean(rows: list[dict], field: str) -> float | None:
    """Mean over rows that each carry a mean and a session count."""
    total = sum(row["sessions"] for row in rows if row.get(field) is not None)
    if not total:
        return None
    return sum(row[field] * row["sessions"] for row in rows if row.get(field) is not None) / total


def kpis(current: list[dict], previous: list[dict]) -> dict[str, dict[str, float | None]]:
    """Analyses, mean sentiment and mean confidence of a period, with the change vs the one before."""
    result = {}
    for name, value, before in (
        ("sessions", sum(r["sessions"] for r in current), sum(r["sessions"] for r in previous)),
        (
            "mean_sentiment",
            weighted_mean(current, "mean_sentiment"),
            weighted_mean(previous, "mean_sentiment"),
        ),
        (
            "mean_confidence",
            weighted_mean(current, "mean_confidence"),
            weighted_mean(previous, "mean_confidence"),
        ),
    ):
        change = (
            None
            if value is None or before is None or (name == "sessions" and not previous)
            else value - before
        )
        result[name] = {"value": value, "change": change}
    return result


def by_week(rows: list[dict]) -> list[dict]:
    """Rows of several teams/regions/categories merged per week (sessions summed, means weighted)."""
    weeks: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        weeks[str(row["week"])].append(row)
    return [
        {
            "week": week,
            "sessions": sum(r["sessions"] for r in group),
            "mean_sentiment": weighted_mean(group, "mean_sentiment"),
            "mean_confidence": weighted_mean(group, "mean_confidence"),
        }
        for week, group in sorted(weeks.items())
    ]


def weekly_figure(rows: list[dict]) -> go.Figure:
    """Analyses per week (bars) and mean sentiment and confidence (lines, right axis)."""
    title = "Analyses and mean sentiment per week"
    weeks = by_week(rows)
    if not weeks:
        return empty_figure(title, "No analyses in this period for these filters.")
    x = [row["week"] for row in weeks]
    figure = go.Figure(layout=_layout(title))
    figure.add_bar(x=x, y=[r["sessions"] for r in weeks], name="Analyses", marker_color=PALETTE[4])
    for field, name, colour in (
        ("mean_sentiment", "Mean sentiment", PALETTE[5]),
        ("mean_confidence", "Mean confidence", PALETTE[0]),
    ):
        figure.add_scatter(
            x=x,
            y=[r[field] for r in weeks],
            name=name,
            yaxis="y2",
            mode="lines+markers",
            line={"color": colour, "width": 2},
        )
    figure.update_layout(
        yaxis={"title": "analyses", "rangemode": "tozero", "gridcolor": "#e5e5e5"},
        yaxis2={"title": "score (0–1)", "overlaying": "y", "side": "right", "range": [0, 1]},
        xaxis={"title": "week (Monday)"},
    )
    return figure


def root_cause_area(rows: list[dict]) -> go.Figure:
    """Analyses per week stacked by root cause; a click on a category filters the other charts."""
    title = "Root causes over time"
    if not rows:
        return empty_figure(title, "No analyses in this period for these filters.")
    weeks = sorted({str(row["week"]) for row in rows})
    counts = {(str(row["week"]), row["root_cause"]): row["sessions"] for row in rows}
    figure = go.Figure(layout=_layout(title))
    for cause in domain.ROOT_CAUSES:
        values = [counts.get((week, cause), 0) for week in weeks]
        if any(values):
            figure.add_scatter(
                x=weeks,
                y=values,
                name=label(cause),
                stackgroup="causes",
                mode="lines",
                line={"color": ROOT_CAUSE_COLOURS[cause], "width": 1},
                customdata=[cause] * len(weeks),
            )
    figure.update_layout(
        yaxis={"title": "analyses", "gridcolor": "#e5e5e5"}, xaxis={"title": "week (Monday)"}
    )
    return figure


def root_cause_shares(rows: list[dict]) -> list[dict]:
    """Per root cause: analyses, share of all, mean sentiment; the largest first."""
    totals: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        totals[row["root_cause"]].append(row)
    everything = sum(row["sessions"] for row in rows)
    shares = [
        {
            "root_cause": cause,
            "label": label(cause),
            "sessions": sum(r["sessions"] for r in group),
            "share": round(100 * sum(r["sessions"] for r in group) / everything, 1)
            if everything
            else 0.0,
            "mean_sentiment": _round(weighted_mean(group, "mean_sentiment")),
        }
        for cause, group in totals.items()
    ]
    return sorted(shares, key=lambda item: (-item["sessions"], item["root_cause"]))


def totals_bar(rows: list[dict], key: str, title: str, axis: str) -> go.Figure:
    """Analyses per value of `key` (language, region) as bars; a click filters by that value."""
    totals: dict[str, int] = defaultdict(int)
    for row in rows:
        if row.get(key):
            totals[row[key]] += row["sessions"]
    if not totals:
        return empty_figure(title, "No analyses in this period for these filters.")
    ordered = sorted(totals.items(), key=lambda item: (-item[1], item[0]))
    figure = go.Figure(layout=_layout(title, hovermode="closest"))
    figure.add_bar(
        x=[name for name, _ in ordered],
        y=[count for _, count in ordered],
        marker_color=PALETTE[0],
        customdata=[name for name, _ in ordered],
        name="Analyses",
    )
    figure.update_layout(
        yaxis={"title": "analyses", "gridcolor": "#e5e5e5"}, xaxis={"title": axis}, showlegend=False
    )
    return figure


def history_timeline(timeline: list[dict]) -> go.Figure:
    """An engineer's weeks: analyses (bars) and mean sentiment (line)."""
    title = "Weekly timeline"
    if not timeline:
        return empty_figure(title, "No analyses of this engineer in the last weeks.")
    return weekly_figure(timeline).update_layout(title={"text": title})


def root_cause_mix(history: dict) -> go.Figure:
    """Root-cause mix: this period, the period before, and the team over this period."""
    title = "Root-cause mix vs previous period and team"
    series = [("This period", history.get("current")), ("Previous period", history.get("previous"))]
    if history.get("team_baseline"):
        series.append((f"Team {history.get('team') or ''}".strip(), history["team_baseline"]))
    if not any(period and period.get("sessions") for _, period in series):
        return empty_figure(title, "No analyses in either period.")
    figure = go.Figure(layout=_layout(title, barmode="group", hovermode="closest"))
    for (name, period), colour in zip(series, (PALETTE[0], PALETTE[4], PALETTE[1]), strict=False):
        causes = (period or {}).get("root_causes") or {}
        total = sum(causes.values()) or 1
        figure.add_bar(
            x=[label(c) for c in domain.ROOT_CAUSES],
            y=[round(100 * causes.get(c, 0) / total, 1) for c in domain.ROOT_CAUSES],
            name=name,
            marker_color=colour,
        )
    figure.update_layout(yaxis={"title": "share of analyses (%)", "gridcolor": "#e5e5e5"})
    return figure


def alert_rows(alerts: list[dict]) -> list[dict]:
    """Alerts as table rows: what, who, since when, and the evidence in a line."""
    return [
        {
            "id": str(alert["id"]),
            "rule": label(alert["rule"]),
            "status": alert["status"],
            "severity": alert.get("severity"),
            "subject": alert.get("engineer_code") or alert.get("team") or "—",
            "team": alert.get("team") or "—",
            "category": label(alert.get("category")) if alert.get("category") else "—",
            "opened_at": str(alert["opened_at"])[:16].replace("T", " "),
            "evidence": evidence_text(alert.get("evidence") or {}),
        }
        for alert in alerts
    ]


def evidence_text(evidence: dict) -> str:
    """`key: value` pairs of the evidence in one short line."""
    parts = []
    for key, value in evidence.items():
        if isinstance(value, float):
            value = round(value, 3)
        if isinstance(value, list):
            value = f"{len(value)} items"
        parts.append(f"{key.replace('_', ' ')}: {value}")
    return "; ".join(parts)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
