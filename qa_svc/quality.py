"""The quality report: scored reviews grouped by agent version, week, reviewer or criterion, and
the flag on an agent version that scores lower than the one before it."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import psycopg

from qa_svc import quality_store, stats

PRE_RELEASE_ORDER = {"dev": 0, "alpha": 1, "beta": 2, "preview": 3, "rc": 4}


def version_key(version: str) -> tuple:
    """Semantic-version order (3.7.0-rc.1 < 3.7.0 < 3.7.1 < 3.10.0); an unknown version ('')
    sorts first."""
    match = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)(?:-([a-z]+)(?:\.(\d+))?)?", version)
    if match is None:
        return (-1,)
    major, minor, patch, label, number = match.groups()
    release = (1, 0, 0) if label is None else (0, PRE_RELEASE_ORDER.get(label, 0), int(number or 0))
    return (int(major), int(minor), int(patch), *release)


def split_period(
    since: datetime | None, until: datetime | None
) -> tuple[tuple[date, date], list[tuple[datetime, datetime]]]:
    """[since, until) as the whole UTC days the rollup answers and the parts of a day at either
    end that the reviews answer. No bound means from the first or up to the last day."""
    first = date.min if since is None else _day_at_or_after(since)
    last = date.max if until is None else until.astimezone(UTC).date()
    edges = []
    if first > last:  # the whole period lies inside one day
        return (first, first), [(since, until)]
    if since is not None and _midnight(first) > since:
        edges.append((since, _midnight(first)))
    if until is not None and until > _midnight(last):
        edges.append((_midnight(last), until))
    return (first, last), edges


def _day_at_or_after(moment: datetime) -> date:
    moment = moment.astimezone(UTC)
    day = moment.date()
    return day if moment == _midnight(day) else day + timedelta(days=1)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


def report(
    conn: psycopg.Connection,
    group_by: str,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[dict[str, Any]]:
    """Items of the quality report for [since, until): per group the number of reviews, the mean
    quality score and the mean score of each criterion; by agent version also the change against
    the previous version with Welch's 95 % interval, flagged when the interval lies below zero."""
    full_days, edges = split_period(since, until)
    rows = quality_store.quality_sums(conn, group_by, full_days=full_days, edges=edges)
    if group_by == "criterion":
        return [
            {
                "criterion": row["criterion"],
                "reviews": row["reviews"],
                "quality_score": _round(row["score_sum"] / row["reviews"]),
                "criteria": {row["criterion"]: _round(row["score_sum"] / row["reviews"])},
            }
            for row in sorted(rows, key=lambda row: row["criterion"])
            if row["criterion"]
        ]
    groups: dict[Any, dict[str, Any]] = defaultdict(lambda: {"criteria": {}})
    for row in rows:
        group = groups[row["grp"]]
        if row["criterion"]:
            group["criteria"][row["criterion"]] = _round(row["score_sum"] / row["reviews"])
        else:
            group["sums"] = (row["reviews"], row["score_sum"], row["score_sumsq"])
    groups = {key: group for key, group in groups.items() if "sums" in group}
    if group_by == "agent_version":
        return _by_version(groups)
    if group_by == "reviewer":
        names = quality_store.display_names(conn, list(groups))
        items = [
            _item("reviewer", names.get(key, "unknown reviewer"), g) for key, g in groups.items()
        ]
        return sorted(items, key=lambda item: item["reviewer"])
    return [_item("week", key, groups[key]) for key in sorted(groups)]


def _item(name: str, value: Any, group: dict) -> dict[str, Any]:
    count, total, _ = group["sums"]
    return {
        name: value,
        "reviews": count,
        "quality_score": _round(total / count),
        "criteria": dict(sorted(group["criteria"].items())),
    }


def _by_version(groups: dict[str, dict]) -> list[dict[str, Any]]:
    items, previous = [], None
    for version in sorted(groups, key=version_key):
        item = _item("agent_version", version or None, groups[version])
        item["change"] = None if previous is None else change(previous, version, groups)
        items.append(item)
        previous = version
    return items


def change(before: str, after: str, groups: dict[str, dict]) -> dict[str, Any]:
    """The quality score of `after` minus that of `before`, Welch's 95 % interval of it, and
    the flag: set when the whole interval lies below zero (a worse version, not noise)."""
    mean_a, variance_a = stats.mean_and_variance(*groups[before]["sums"])
    mean_b, variance_b = stats.mean_and_variance(*groups[after]["sums"])
    interval = stats.welch_interval(
        mean_a, variance_a, groups[before]["sums"][0], mean_b, variance_b, groups[after]["sums"][0]
    )
    return {
        "previous_version": before or None,
        "difference": _round(mean_b - mean_a),
        "ci_low": None if interval is None else _round(interval.low),
        "ci_high": None if interval is None else _round(interval.high),
        "flagged": interval is not None and interval.high < 0,
    }


def _round(value: float) -> float:
    return round(value, 2)
