"""Figures and table rows of the dashboard, built by pure functions from API answers (unit-tested
without a browser). Colours: the Okabe–Ito palette, safe for colour-blind readers. Numbers use
d3-format: thousands separators on counts, two decimals on scores, percentages on shares."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from shared import domain

# Figures are plain dicts in plotly's JSON form: building graph objects validates every property
# and cost ~60 ms per chart, more than the API calls behind it (bench/dashboard.py).
Figure = dict[str, Any]

PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
ROOT_CAUSE_COLOURS = dict(zip(domain.ROOT_CAUSES, PALETTE, strict=False))
FONT = {"family": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", "size": 13}
GRID = "#e5e7eb"
WEEK_MS = 7 * 24 * 3600 * 1000
A_MONDAY = "2024-01-01"  # week ticks start on Mondays (plotly's default weeks start on Sunday)
COUNT_HOVER = "%{y:,d} analyses"
SCORE_HOVER = "%{y:.2f}"


def label(code: str | None) -> str:
    """`knowledge_gap` → `Knowledge gap`."""
    return (code or "—").replace("_", " ").capitalize()


def _layout(title: str, **extra: Any) -> dict[str, Any]:
    return {
        "title": {"text": title, "x": 0, "xanchor": "left", "font": {"size": 16}},
        "font": FONT,
        "margin": {"l": 64, "r": 64, "t": 56, "b": 56},
        "plot_bgcolor": "#ffffff",
        "paper_bgcolor": "#ffffff",
        "legend": {"orientation": "h", "y": -0.22},
        "hovermode": "x unified",
        "hoverlabel": {"namelength": -1},  # whole series names in hover labels
        "separators": ".,",
        **extra,
    }


def empty_figure(title: str, reason: str) -> Figure:
    """A figure that says why it has no data instead of showing empty axes."""
    note = {"text": reason, "showarrow": False, "x": 0.5, "y": 0.5, "xref": "paper"}
    note.update(yref="paper", font={"size": 15})
    layout = _layout(title, annotations=[note])
    layout.update(xaxis={"visible": False}, yaxis={"visible": False})
    return {"data": [], "layout": layout}


def count_axis(title: str, largest: float) -> dict[str, Any]:
    """A y axis of whole counts: integer ticks (never 1.5 analyses), thousands separators."""
    axis = {"title": title, "rangemode": "tozero", "gridcolor": GRID, "tickformat": ",d"}
    if largest <= 8:
        axis.update(tick0=0, dtick=1)
    return axis


def week_axis(weeks: list[str]) -> dict[str, Any]:
    """An x axis of ISO weeks: ticks on Mondays, at most about 12 of them."""
    step = max(1, math.ceil(len(weeks) / 12))
    return {
        "title": "week starting Monday",
        "type": "date",
        "tick0": A_MONDAY,
        "dtick": WEEK_MS * step,
        "tickformat": "%d %b %Y",
        "hoverformat": "week of %a %d %b %Y",
    }


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def all_weeks(start: str | None, end: str | None, seen: list[str]) -> list[str]:
    """Every Monday from the week of `start` to the week of `end` (or of the weeks seen), so
    that a week without analyses shows as a zero instead of being skipped."""
    days = [date.fromisoformat(week[:10]) for week in seen]
    first = monday(date.fromisoformat(start)) if start else min(days, default=None)
    last = monday(date.fromisoformat(end)) if end else max(days, default=None)
    if first is None or last is None:
        return []
    first, last = min([first, *days]), max([last, *days])
    count = (last - first).days // 7 + 1
    return [(first + timedelta(weeks=n)).isoformat() for n in range(count)]


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


def by_week(rows: list[dict], start: str | None = None, end: str | None = None) -> list[dict]:
    """Rows of several teams/regions/categories merged per week (sessions summed, means weighted);
    with `start`/`end`, every week of the period, zero analyses where there were none."""
    weeks: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        weeks[str(row["week"])[:10]].append(row)
    every = all_weeks(start, end, list(weeks)) if (start or end) and weeks else sorted(weeks)
    return [
        {
            "week": week,
            "sessions": sum(r["sessions"] for r in weeks.get(week, [])),
            "mean_sentiment": weighted_mean(weeks.get(week, []), "mean_sentiment"),
            "mean_confidence": weighted_mean(weeks.get(week, []), "mean_confidence"),
        }
        for week in every
    ]


def weekly_figure(rows: list[dict], start: str | None = None, end: str | None = None) -> Figure:
    """Analyses per week (bars) and mean sentiment and confidence (lines, right axis); a week
    without analyses has a zero bar and a gap in the lines. A click on a week filters by it."""
    title = "Analyses and mean scores per week"
    weeks = by_week(rows, start, end)
    if not weeks:
        return empty_figure(title, "No analyses in this period for these filters.")
    x = [row["week"] for row in weeks]
    traces = [
        {
            "type": "bar",
            "x": x,
            "y": [r["sessions"] for r in weeks],
            "name": "Analyses",
            "marker": {"color": PALETTE[4]},
            "customdata": x,
            "hovertemplate": COUNT_HOVER,
        }
    ]
    for field, name, colour in (
        ("mean_sentiment", "Mean sentiment", PALETTE[5]),
        ("mean_confidence", "Mean confidence", PALETTE[0]),
    ):
        traces.append(
            {
                "type": "scatter",
                "x": x,
                "y": [r[field] for r in weeks],
                "name": name,
                "yaxis": "y2",
                "mode": "lines+markers",
                "connectgaps": False,
                "line": {"color": colour, "width": 2},
                "hovertemplate": SCORE_HOVER,
            }
        )
    layout = _layout(
        title,
        yaxis=count_axis("analyses", max(r["sessions"] for r in weeks)),
        yaxis2={
            "title": "score (0–1)",
            "overlaying": "y",
            "side": "right",
            "range": [0, 1],
            "tickformat": ".2f",
            "dtick": 0.25,
            "showgrid": False,
        },
        xaxis=week_axis(x),
    )
    return {"data": traces, "layout": layout}


def root_cause_area(rows: list[dict], start: str | None = None, end: str | None = None):
    """Analyses per week stacked by root cause (bars: a click hits exactly one category, which
    then filters every page)."""
    title = "Root causes over time"
    if not rows:
        return empty_figure(title, "No analyses in this period for these filters.")
    weeks = all_weeks(start, end, [str(row["week"])[:10] for row in rows])
    counts = {(str(row["week"])[:10], row["root_cause"]): row["sessions"] for row in rows}
    totals = [sum(counts.get((week, c), 0) for c in domain.ROOT_CAUSES) for week in weeks]
    traces = []
    for cause in domain.ROOT_CAUSES:
        values = [counts.get((week, cause), 0) for week in weeks]
        if any(values):
            traces.append(
                {
                    "type": "bar",
                    "x": weeks,
                    "y": values,
                    "name": label(cause),
                    "marker": {"color": ROOT_CAUSE_COLOURS[cause]},
                    "customdata": [cause] * len(weeks),
                    "hovertemplate": f"{label(cause)}: {COUNT_HOVER}"
                    "<extra>%{x|week of %d %b %Y}</extra>",
                }
            )
    layout = _layout(
        title,
        barmode="stack",
        hovermode="closest",
        yaxis=count_axis("analyses", max(totals, default=0)),
        xaxis=week_axis(weeks),
    )
    layout["legend"] = {**layout["legend"], "traceorder": "normal"}
    return {"data": traces, "layout": layout}


def root_cause_shares(rows: list[dict]) -> list[dict]:
    """Per root cause: analyses, share of all (0–1), mean sentiment; the largest first."""
    totals: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        totals[row["root_cause"]].append(row)
    everything = sum(row["sessions"] for row in rows)
    shares = [
        {
            "root_cause": cause,
            "label": label(cause),
            "sessions": sum(r["sessions"] for r in group),
            "share": sum(r["sessions"] for r in group) / everything if everything else 0.0,
            "mean_sentiment": weighted_mean(group, "mean_sentiment"),
        }
        for cause, group in totals.items()
    ]
    return sorted(shares, key=lambda item: (-item["sessions"], item["root_cause"]))


def totals_bar(rows: list[dict], key: str, title: str, axis: str) -> Figure:
    """Analyses per value of `key` (language, region) as bars; a click filters by that value."""
    totals: dict[str, int] = defaultdict(int)
    for row in rows:
        if row.get(key):
            totals[row[key]] += row["sessions"]
    if not totals:
        return empty_figure(title, "No analyses in this period for these filters.")
    ordered = sorted(totals.items(), key=lambda item: (-item[1], item[0]))
    trace = {
        "type": "bar",
        "x": [name for name, _ in ordered],
        "y": [count for _, count in ordered],
        "marker": {"color": PALETTE[0]},
        "customdata": [name for name, _ in ordered],
        "name": "Analyses",
        "hovertemplate": f"%{{x}}: {COUNT_HOVER}<extra></extra>",
    }
    layout = _layout(
        title,
        hovermode="closest",
        yaxis=count_axis("analyses", max(totals.values())),
        xaxis={"title": axis, "type": "category"},
        showlegend=False,
    )
    return {"data": [trace], "layout": layout}


def history_timeline(timeline: list[dict]) -> Figure:
    """An engineer's weeks: analyses (bars) and mean scores (lines)."""
    title = "Weekly timeline"
    if not timeline:
        return empty_figure(title, "No analyses of this engineer in the last weeks.")
    weeks = sorted(str(row["week"])[:10] for row in timeline)
    figure = weekly_figure(timeline, weeks[0], weeks[-1])
    figure["layout"]["title"] = {**figure["layout"]["title"], "text": title}
    return figure


def root_cause_mix(history: dict) -> Figure:
    """Root-cause mix: this period, the period before, and the team over this period."""
    title = "Root-cause mix vs previous period and team"
    series = [("This period", history.get("current")), ("Previous period", history.get("previous"))]
    if history.get("team_baseline"):
        series.append((f"Team {history.get('team') or ''}".strip(), history["team_baseline"]))
    if not any(period and period.get("sessions") for _, period in series):
        return empty_figure(title, "No analyses in either period.")
    traces = []
    for (name, period), colour in zip(series, (PALETTE[0], PALETTE[4], PALETTE[1]), strict=False):
        causes = (period or {}).get("root_causes") or {}
        total = sum(causes.values()) or 1
        traces.append(
            {
                "type": "bar",
                "x": [label(c).replace(" ", "<br>") for c in domain.ROOT_CAUSES],  # never cut
                "y": [causes.get(c, 0) / total for c in domain.ROOT_CAUSES],
                "name": name,
                "marker": {"color": colour},
                "customdata": [label(c) for c in domain.ROOT_CAUSES],
                "hovertemplate": f"{name}: %{{y:.0%}} of analyses<extra>%{{customdata}}</extra>",
            }
        )
    layout = _layout(
        title,
        barmode="group",
        hovermode="closest",
        yaxis={"title": "share of analyses", "gridcolor": GRID, "tickformat": ".0%"},
        xaxis={"type": "category"},
    )
    return {"data": traces, "layout": layout}


def alert_rows(alerts: list[dict]) -> list[dict]:
    """Alerts as table rows: what, about whom (the pseudonym or team), since when, and the
    evidence as a sentence. Names from the private roster are added in the browser only."""
    return [
        {
            "id": str(alert["id"]),
            "rule": label(alert["rule"]),
            "status": alert["status"],
            "severity": alert.get("severity"),
            "scope": alert.get("scope") or ("engineer" if alert.get("engineer_code") else "team"),
            "engineer_code": alert.get("engineer_code"),
            "subject": alert.get("engineer_code") or f"team {alert.get('team') or '—'}",
            "team": alert.get("team") or "—",
            "category": label(alert.get("category")) if alert.get("category") else "—",
            "root_cause": alert.get("category") or None,
            "opened_at": str(alert["opened_at"])[:16].replace("T", " "),
            "evidence": evidence_text(alert["rule"], alert.get("evidence") or {}, alert),
            "silenced": "silenced" if alert.get("silenced") else "",  # raised, not sent (#26)
        }
        for alert in alerts
    ]


def evidence_text(rule: str, evidence: dict, alert: dict | None = None) -> str:
    """What fired the alert, as a sentence a manager reads in one go."""
    category = label((alert or {}).get("category")).lower()

    def day(key: str) -> str:
        value = evidence.get(key)
        return date.fromisoformat(str(value)[:10]).strftime("%d %b %Y") if value else "—"

    def share(key: str) -> str:
        value = evidence.get(key)
        return "—" if value is None else f"{float(value):.0%}"

    def score(key: str) -> str:
        value = evidence.get(key)
        return "—" if value is None else f"{float(value):.2f}"

    if rule == "recurring_issue":
        return (
            f"{evidence.get('sessions')} analyses with root cause {category} in the last "
            f"{evidence.get('window_days')} days (the rule fires at {evidence.get('min_count')}); "
            f"first on {day('first_at')}, latest on {day('last_at')}."
        )
    if rule == "performance_decline":
        return (
            f"Mean confidence fell {share('drop')}, from {score('previous_mean')} "
            f"({evidence.get('previous_sessions')} analyses) to {score('current_mean')} "
            f"({evidence.get('current_sessions')} analyses), comparing the last "
            f"{evidence.get('window_days', 30)} days with the {evidence.get('window_days', 30)} "
            f"before (the rule fires above {share('max_drop')})."
        )
    if rule == "positive_trend":
        rising = " → ".join(f"{float(v):.2f}" for v in evidence.get("sentiments") or [])
        return (
            f"Sentiment rose {evidence.get('min_consecutive')} times in a row in {category} "
            f"({rising}); latest on {day('last_at')}."
        )
    if rule == "team_frequent_issue":
        return (
            f"{evidence.get('sessions')} of the team's {evidence.get('team_sessions')} analyses "
            f"({share('share')}) had root cause {category} in the last "
            f"{evidence.get('window_days')} days (the rule fires at {evidence.get('min_count')} "
            f"and {share('min_share')})."
        )
    parts = [f"{key.replace('_', ' ')}: {value}" for key, value in evidence.items()]
    return "; ".join(parts) + "." if parts else "No evidence recorded."
