"""Error summary trends, the review workflow and the review-efficiency metrics."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg

from qa_svc import store
from shared import domain, pii
from shared.errors import NotFound, Unprocessable


def classify(daily: dict[str, int], since: datetime, until: datetime, regressed: bool) -> str:
    """new, rising, falling, steady or regressed, comparing the window's two halves."""
    middle = (since + (until - since) / 2).date()
    earlier = sum(n for day, n in daily.items() if date.fromisoformat(day) < middle)
    later = sum(n for day, n in daily.items() if date.fromisoformat(day) >= middle)
    if earlier == 0:
        return "regressed" if regressed else "new"
    if later >= 1.5 * earlier and later - earlier >= 2:
        return "rising"
    if later <= 0.5 * earlier:
        return "falling"
    return "steady"


def error_summary(conn: psycopg.Connection, days: int, now: datetime | None = None) -> list[dict]:
    """Problems by code × field × agent version with counts, sessions, first/last seen, a daily
    series and the trend."""
    until = now or datetime.now(UTC)
    since = until - timedelta(days=days)
    items = []
    for row in store.error_summary(conn, since, until):
        regressed = store.earlier_versions_with_code(
            conn, row["code"], row["field"], row["agent_version"]
        )
        items.append(
            {
                **row,
                "agent_version": row["agent_version"] or None,
                "daily": row["daily"] or {},
                "trend": classify(row["daily"] or {}, since, until, regressed),
            }
        )
    return items


def review(
    conn: psycopg.Connection, session_id: uuid.UUID, status: str, notes: str | None, reviewer: str
) -> dict[str, Any]:
    """Record a QA decision on a session of the validation log; notes are PII-guarded."""
    if notes and pii.find_pii(notes):
        raise Unprocessable(errors=[{"field": "notes", "reason": "Personal data is not stored."}])
    first_seen = store.first_seen(conn, session_id)
    if first_seen is None:
        raise NotFound("No validation log for this session.")
    return store.save_review(conn, session_id, status, notes, reviewer, first_seen)


def current_review(conn: psycopg.Connection, session_id: uuid.UUID) -> dict[str, Any]:
    """The session's review state; `pending` with no reviewer when nobody decided yet."""
    return store.get_review(conn, session_id) or {"status": "pending", "notes": None}


def queue(conn: psycopg.Connection, filters: dict[str, Any]) -> list[dict]:
    """The review queue with the API's filters; "low confidence" is the spec's Low rating."""
    return store.review_queue(conn, **filters, low_confidence_below=domain.LOW_CONFIDENCE_BELOW)


def metrics(conn: psycopg.Connection, days: int, now: datetime | None = None) -> dict[str, Any]:
    """Review throughput, time to review, first-pass validity and error rate per day."""
    until = now or datetime.now(UTC)
    rows = store.daily_metrics(conn, until - timedelta(days=days - 1), until)
    return {
        "days": days,
        "series": [
            {
                "day": row["day"],
                "reviews": row["reviews"],
                "median_hours_to_review": None
                if row["median_hours"] is None
                else round(float(row["median_hours"]), 2),
                "first_pass_validity": None
                if row["first_pass_validity"] is None
                else float(row["first_pass_validity"]),
                "errors_per_100_sessions": None
                if row["errors_per_100_sessions"] is None
                else float(row["errors_per_100_sessions"]),
            }
            for row in rows
        ],
    }
