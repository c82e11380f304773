"""The four trend rules, evaluated exactly as DOMAIN.md defines them, into alert firings."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg

from trends_svc import store

SEVERITY = {
    "recurring_issue": "warning",
    "performance_decline": "high",
    "positive_trend": "info",
    "team_frequent_issue": "high",
}


@dataclass(frozen=True)
class Firing:
    """A rule's condition holding for one subject (and category)."""

    rule: str
    scope: str
    subject: str
    category: str
    team: str | None
    evidence: dict[str, Any] = field(compare=False)

    @property
    def key(self) -> tuple[str, str, str]:
        return self.rule, self.subject, self.category


def _number(value: Any) -> Any:
    return round(float(value), 4) if isinstance(value, Decimal | float) else value


def strictly_rising(values: list[float]) -> bool:
    """True when every value is higher than the one before it."""
    return all(later > earlier for earlier, later in itertools.pairwise(values))


def evaluate(conn: psycopg.Connection, now: datetime, thresholds: dict[str, dict]) -> list[Firing]:
    """Every firing of every enabled rule at `now`."""
    firings: list[Firing] = []
    rule = thresholds.get("recurring_issue")
    if rule and rule["enabled"]:
        params = rule["params"]
        for row in store.recurring_issues(conn, now, **params):
            firings.append(
                Firing(
                    "recurring_issue",
                    "engineer",
                    row["engineer_code"],
                    row["category"],
                    row["team"],
                    {
                        "sessions": row["sessions"],
                        **params,
                        "first_at": row["first_at"].isoformat(),
                        "last_at": row["last_at"].isoformat(),
                    },
                )
            )
    rule = thresholds.get("performance_decline")
    if rule and rule["enabled"]:
        params = rule["params"]
        for row in store.confidence_declines(conn, now, **params):
            firings.append(
                Firing(
                    "performance_decline",
                    "engineer",
                    row["engineer_code"],
                    "",
                    row["team"],
                    {
                        "current_mean": _number(row["current_mean"]),
                        "previous_mean": _number(row["previous_mean"]),
                        "drop": _number(row["drop"]),
                        "current_sessions": row["current_sessions"],
                        "previous_sessions": row["previous_sessions"],
                        "window_days": 30,
                        **params,
                    },
                )
            )
    rule = thresholds.get("positive_trend")
    if rule and rule["enabled"]:
        length = rule["params"]["min_consecutive"]
        for row in store.latest_sequences(conn, now, length + 1):
            if strictly_rising(row["sentiments"]):
                firings.append(
                    Firing(
                        "positive_trend",
                        "engineer",
                        row["engineer_code"],
                        row["category"],
                        row["team"],
                        {
                            "sentiments": [_number(v) for v in row["sentiments"]],
                            "min_consecutive": length,
                            "last_at": row["times"][-1].isoformat(),
                        },
                    )
                )
    rule = thresholds.get("team_frequent_issue")
    if rule and rule["enabled"]:
        params = rule["params"]
        for row in store.frequent_team_issues(conn, now, **params):
            firings.append(
                Firing(
                    "team_frequent_issue",
                    "team",
                    row["team"],
                    row["category"],
                    row["team"],
                    {
                        "sessions": row["sessions"],
                        "team_sessions": int(row["total"]),
                        "share": _number(row["share"]),
                        **params,
                    },
                )
            )
    return firings
