"""The four trend rules, evaluated exactly as DOMAIN.md defines them, into alert firings.

Each rule is one small function from its parameters to firings, listed in RULES with its severity;
`evaluate` runs the enabled ones."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg

from trends_svc import store_rules


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


RuleCheck = Callable[[psycopg.Connection, datetime, dict[str, Any]], Iterator[Firing]]


@dataclass(frozen=True)
class Rule:
    """A registered rule: how severe its alerts are and the function that finds its firings."""

    severity: str
    check: RuleCheck


def _number(value: Any) -> Any:
    return round(float(value), 4) if isinstance(value, Decimal | float) else value


def strictly_rising(values: list[float]) -> bool:
    """True when every value is higher than the one before it."""
    return all(later > earlier for earlier, later in itertools.pairwise(values))


def recurring_issue(conn: psycopg.Connection, now: datetime, params: dict) -> Iterator[Firing]:
    """An engineer with at least `min_count` sessions of one root cause within `window_days`."""
    for row in store_rules.recurring_issues(conn, now, **params):
        yield Firing(
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


def performance_decline(conn: psycopg.Connection, now: datetime, params: dict) -> Iterator[Firing]:
    """An engineer whose mean confidence of the last 30 days is more than `max_drop` (relative)
    below that of the 30 days before, each window holding at least `min_samples` sessions."""
    for row in store_rules.confidence_declines(conn, now, **params):
        yield Firing(
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


def positive_trend(conn: psycopg.Connection, now: datetime, params: dict) -> Iterator[Firing]:
    """An engineer whose sentiment rose in each of the last `min_consecutive` sessions of a
    category (so `min_consecutive + 1` sessions, each above the one before)."""
    length = params["min_consecutive"]
    for row in store_rules.latest_sequences(conn, now, length + 1):
        if strictly_rising(row["sentiments"]):
            yield Firing(
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


def team_frequent_issue(conn: psycopg.Connection, now: datetime, params: dict) -> Iterator[Firing]:
    """A team with at least `min_count` sessions of one root cause in `window_days`, making up at
    least `min_share` of the team's sessions then."""
    for row in store_rules.frequent_team_issues(conn, now, **params):
        yield Firing(
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


# The registry, in the order evaluation runs them.
RULES: dict[str, Rule] = {
    "recurring_issue": Rule("warning", recurring_issue),
    "performance_decline": Rule("high", performance_decline),
    "positive_trend": Rule("info", positive_trend),
    "team_frequent_issue": Rule("high", team_frequent_issue),
}
SEVERITY = {name: rule.severity for name, rule in RULES.items()}


def evaluate(conn: psycopg.Connection, now: datetime, thresholds: dict[str, dict]) -> list[Firing]:
    """Every firing of every enabled rule at `now`."""
    firings: list[Firing] = []
    for name, rule in RULES.items():
        threshold = thresholds.get(name)
        if threshold and threshold["enabled"]:
            firings.extend(rule.check(conn, now, threshold["params"]))
    return firings
