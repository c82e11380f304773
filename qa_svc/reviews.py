"""Error summary trends, the review workflow and the review-efficiency metrics."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg

from qa_svc import privacy, scorecards, store
from qa_svc import reviewers as reviewer_directory
from shared.api import cursor_time, cursor_uuid, decode_cursor, encode_cursor
from shared.errors import NotFound
from shared.http import ServiceClient
from shared.tokens import Principal


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
    conn: psycopg.Connection,
    session_id: uuid.UUID,
    status: str,
    notes: str | None,
    reviewer: str,
    *,
    guard: ServiceClient,
) -> dict[str, Any]:
    """Record a QA decision on a session of the validation log; notes holding personal data (a
    known engineer's name too, as persistence's guard reached by `guard` finds it) are refused
    with a 422 naming `notes`."""
    privacy.refuse_personal_data(guard, {"notes": notes})
    return save_decision(conn, session_id, status, notes, reviewer)


def save_decision(
    conn: psycopg.Connection, session_id: uuid.UUID, status: str, notes: str | None, reviewer: str
) -> dict[str, Any]:
    """Record a decision whose notes were checked already; 404 for a session without a log."""
    first_seen = store.first_seen(conn, session_id)
    if first_seen is None:
        raise NotFound("No validation log for this session.")
    return store.save_review(conn, session_id, status, notes, reviewer, first_seen)


def record(
    conn: psycopg.Connection,
    session_id: uuid.UUID,
    data: dict[str, Any],
    principal: Principal,
    *,
    guard: ServiceClient,
) -> dict[str, Any]:
    """A review as the API takes it: the caller's scorecard ratings (when given) and the
    session's status (reviewed when only ratings are given) with notes, in one transaction; the
    reviewer is shown by display name."""
    reviewer_directory.note(conn, principal)
    privacy.refuse_personal_data(guard, {"notes": data["notes"]})
    scored = None
    if data["ratings"] is not None:
        scored = scorecards.score(
            conn,
            session_id,
            principal.subject,
            data["scorecard_id"],
            data["ratings"],
            data["comments"],
            guard=guard,
        )
    status = data["status"] or "reviewed"
    saved = save_decision(conn, session_id, status, data["notes"], principal.subject)
    return {**saved, "reviewer": reviewer_directory.display_name(principal), "scored": scored}


def current_review(conn: psycopg.Connection, session_id: uuid.UUID) -> dict[str, Any]:
    """The session's review state; `pending` with no reviewer when nobody decided yet."""
    return store.get_review(conn, session_id) or {"status": "pending", "notes": None}


def queue(
    conn: psycopg.Connection, filters: dict[str, Any], low_confidence_below: float
) -> dict[str, Any]:
    """One page of the review queue (newest activity first) with the API's filters, and the cursor
    of the next page (None on the last page). Low confidence: below `low_confidence_below`."""
    filters = dict(filters)
    cursor = filters.pop("cursor", None)
    items = store.review_queue(
        conn, **filters, low_confidence_below=low_confidence_below, after=_queue_key(cursor)
    )
    last = items[-1] if len(items) == filters["limit"] else None
    return {
        "items": items,
        "next_cursor": encode_cursor([last["last_seen_at"].isoformat(), str(last["session_id"])])
        if last
        else None,
    }


def next_to_review(
    conn: psycopg.Connection, session_id: uuid.UUID, last_seen_at: datetime
) -> uuid.UUID | None:
    """The pending session after this one in the queue's order (wrapping round to the newest),
    None when no other session waits for review."""
    filters = {
        "has_errors": None,
        "restart_offered": None,
        "status": "pending",
        "agent_version": None,
        "limit": 2,
    }
    for after in ((last_seen_at.isoformat(), str(session_id)), None):
        for row in store.review_queue(conn, **filters, after=after):
            if row["session_id"] != session_id:
                return row["session_id"]
    return None


def _queue_key(cursor: str | None) -> tuple[str, str] | None:
    """The (last_seen_at, session_id) inside a queue cursor; a forged one is a 400 naming it."""
    if not cursor:
        return None
    seen_at, session_id = decode_cursor(cursor, cursor_time, cursor_uuid)
    return seen_at.isoformat(), str(session_id)


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
