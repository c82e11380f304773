"""SQL of the QA schema: the validation log."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import psycopg

EVENT_COLUMNS = (
    "session_id",
    "source",
    "step",
    "field",
    "outcome",
    "code",
    "attempt",
    "normalized",
    "message",
    "agent_version",
    "occurred_at",
    "confidence_overall",
)


def insert_events(conn: psycopg.Connection, events: Sequence[dict]) -> None:
    """Append validation events in their order, in one statement: the trigger that keeps the
    sessions' summaries (migration 0007) runs once for the batch. An event without occurred_at
    happened now."""
    conn.execute(
        """
        INSERT INTO validation_events (session_id, source, step, field, outcome, code, attempt,
                                       normalized, message, agent_version, occurred_at,
                                       confidence_overall)
        SELECT session_id, source, step, field, outcome, code, attempt, normalized, message,
               agent_version, coalesce(occurred_at, now()), confidence_overall
        FROM unnest(%(session_id)s::uuid[], %(source)s::text[], %(step)s::smallint[],
                    %(field)s::text[], %(outcome)s::text[], %(code)s::text[],
                    %(attempt)s::integer[], %(normalized)s::text[], %(message)s::text[],
                    %(agent_version)s::text[], %(occurred_at)s::timestamptz[],
                    %(confidence_overall)s::numeric[])
             WITH ORDINALITY AS e(session_id, source, step, field, outcome, code, attempt,
                                  normalized, message, agent_version, occurred_at,
                                  confidence_overall, position)
        ORDER BY position
        """,
        {name: [event.get(name) for event in events] for name in EVENT_COLUMNS},
    )


def claim_sessions(
    conn: psycopg.Connection, session_ids: Sequence[uuid.UUID], teams: Sequence[str]
) -> dict[uuid.UUID, list[str]]:
    """Record `teams` as the scope of each session new to the validation log, and return the
    recorded scope of every one of `session_ids` (its first writer's teams, [] when unscoped).
    Rows are claimed in id order, so concurrent batches cannot deadlock."""
    ids = sorted(set(session_ids))
    conn.execute(
        """
        INSERT INTO validation_sessions (session_id, teams)
        SELECT id, %(teams)s::text[] FROM unnest(%(ids)s::uuid[]) AS id ORDER BY id
        ON CONFLICT (session_id) DO NOTHING
        """,
        {"ids": ids, "teams": list(teams)},
    )
    # a statement of its own: it sees a row a concurrent first writer committed meanwhile
    rows = conn.execute(
        "SELECT session_id, teams FROM validation_sessions WHERE session_id = ANY(%(ids)s::uuid[])",
        {"ids": ids},
    ).fetchall()
    return {row["session_id"]: row["teams"] for row in rows}


def invalid_attempts(conn: psycopg.Connection, session_id: uuid.UUID, field: str) -> int:
    """How many invalid entries this session had for this field so far."""
    return conn.execute(
        "SELECT count(*) AS n FROM validation_events WHERE session_id = %(s)s AND field = %(f)s "
        "AND outcome = 'invalid'",
        {"s": session_id, "f": field},
    ).fetchone()["n"]


def attempts(conn: psycopg.Connection, session_id: uuid.UUID, field: str) -> int:
    """How many times this field was checked in this session so far."""
    return conn.execute(
        "SELECT count(*) AS n FROM validation_events WHERE session_id = %(s)s AND field = %(f)s",
        {"s": session_id, "f": field},
    ).fetchone()["n"]


def session_events(conn: psycopg.Connection, session_id: uuid.UUID) -> list[dict]:
    """The timeline of one session, oldest first."""
    return conn.execute(
        "SELECT * FROM validation_events WHERE session_id = %(s)s ORDER BY occurred_at, event_id",
        {"s": session_id},
    ).fetchall()


def logged_for(conn: psycopg.Connection, session_id: uuid.UUID) -> list[str] | None:
    """The teams the session's validation log was first written for ([] by an unscoped caller),
    None when the session has no log."""
    row = conn.execute(
        "SELECT teams FROM validation_sessions WHERE session_id = %(s)s", {"s": session_id}
    ).fetchone()
    return None if row is None else row["teams"]


def error_summary(conn: psycopg.Connection, since, until) -> list[dict]:
    """Problems grouped by code × field × agent version: counts, sessions, first/last seen and a
    daily series, over (since, until]."""
    return conn.execute(
        """
        WITH problems AS (
            SELECT *, coalesce(agent_version, '') AS version FROM validation_events
            WHERE outcome IN ('invalid', 'warning', 'error') AND code IS NOT NULL
              AND occurred_at > %(since)s AND occurred_at <= %(until)s
        ), daily AS (
            SELECT code, field, version, jsonb_object_agg(day, n) AS daily
            FROM (SELECT code, field, version, occurred_at::date::text AS day, count(*) AS n
                  FROM problems GROUP BY 1, 2, 3, 4) per_day
            GROUP BY 1, 2, 3
        )
        SELECT p.code, p.field, p.version AS agent_version, count(*) AS count,
               count(DISTINCT p.session_id) AS sessions, min(p.occurred_at) AS first_seen,
               max(p.occurred_at) AS last_seen, d.daily
        FROM problems p JOIN daily d USING (code, field, version)
        GROUP BY p.code, p.field, p.version, d.daily
        ORDER BY count(*) DESC, p.code
        """,
        {"since": since, "until": until},
    ).fetchall()


def earlier_versions_with_code(
    conn: psycopg.Connection, code: str, field: str, version: str
) -> bool:
    """True when this problem was seen under another agent version before (a regression)."""
    row = conn.execute(
        "SELECT 1 FROM validation_events WHERE code = %(code)s AND field = %(field)s "
        "AND coalesce(agent_version, '') <> %(version)s LIMIT 1",
        {"code": code, "field": field, "version": version},
    ).fetchone()
    return row is not None


def review_queue(
    conn: psycopg.Connection,
    *,
    has_errors: bool | None,
    restart_offered: bool | None,
    status: str | None,
    agent_version: str | None,
    limit: int,
    low_confidence: bool | None = None,
    low_confidence_below: float = 0.5,
    after: tuple[str, str] | None = None,
    assignee: str | None = None,
) -> list[dict]:
    """Sessions from the validation log (their summaries, kept by a trigger: migration 0007) with
    their review state, newest first; low confidence means the last confidence reported for the
    session is below `low_confidence_below`; `after` is the (last_seen_at, session_id) of the
    previous page's last row (keyset pagination); `assignee` keeps the sessions assigned to that
    reviewer. Reviewers by display name."""
    return conn.execute(
        """
        SELECT s.session_id, s.first_seen_at, s.last_seen_at, s.errors, s.agent_version,
               s.restart_offered, s.confidence_overall,
               coalesce(r.status, 'pending') AS status, r.notes, r.decided_at,
               CASE WHEN r.reviewer IS NOT NULL
                    THEN coalesce(rv.display_name, 'unnamed reviewer') END AS reviewer,
               av.display_name AS assignee
        FROM validation_sessions s LEFT JOIN reviews r USING (session_id)
        LEFT JOIN reviewers rv ON rv.reviewer_id = r.reviewer
        LEFT JOIN assignments a USING (session_id)
        LEFT JOIN reviewers av ON av.reviewer_id = a.reviewer_id
        WHERE s.last_seen_at IS NOT NULL
          AND (%(has_errors)s::boolean IS NULL OR (s.errors > 0) = %(has_errors)s)
          AND (%(assignee)s::text IS NULL OR a.reviewer_id = %(assignee)s)
          AND (%(restart)s::boolean IS NULL OR s.restart_offered = %(restart)s)
          AND (%(status)s::text IS NULL OR coalesce(r.status, 'pending') = %(status)s)
          AND (%(version)s::text IS NULL OR s.agent_version = %(version)s)
          AND (%(low)s::boolean IS NULL
               OR coalesce(s.confidence_overall < %(below)s, false) = %(low)s)
          AND (%(after_at)s::timestamptz IS NULL
               OR (s.last_seen_at, s.session_id) < (%(after_at)s::timestamptz, %(after_id)s::uuid))
        ORDER BY s.last_seen_at DESC, s.session_id DESC
        LIMIT %(limit)s
        """,
        {
            "has_errors": has_errors,
            "restart": restart_offered,
            "status": status,
            "version": agent_version,
            "low": low_confidence,
            "below": low_confidence_below,
            "after_at": after[0] if after else None,
            "after_id": after[1] if after else None,
            "limit": limit,
            "assignee": assignee,
        },
    ).fetchall()


def save_review(
    conn: psycopg.Connection,
    session_id: uuid.UUID,
    status: str,
    notes: str | None,
    reviewer: str,
    first_seen_at,
) -> dict:
    """Record a review decision; start and decision times are kept for time-to-review."""
    row = conn.execute(
        """
        INSERT INTO reviews AS r (session_id, status, notes, reviewer, first_seen_at, started_at,
                                  decided_at)
        VALUES (%(id)s, %(status)s, %(notes)s, %(reviewer)s, %(first_seen)s,
                CASE WHEN %(status)s <> 'pending' THEN now() END,
                CASE WHEN %(status)s IN ('reviewed', 'flagged') THEN now() END)
        ON CONFLICT (session_id) DO UPDATE SET
            status = EXCLUDED.status, notes = coalesce(EXCLUDED.notes, r.notes),
            reviewer = EXCLUDED.reviewer, updated_at = now(),
            started_at = coalesce(r.started_at, EXCLUDED.started_at),
            decided_at = CASE WHEN EXCLUDED.status IN ('reviewed', 'flagged') THEN now()
                              ELSE r.decided_at END
        RETURNING *
        """,
        {
            "id": session_id,
            "status": status,
            "notes": notes,
            "reviewer": reviewer,
            "first_seen": first_seen_at,
        },
    ).fetchone()
    conn.execute(
        "INSERT INTO review_history (session_id, status, reviewer) VALUES (%(id)s, %(s)s, %(r)s)",
        {"id": session_id, "s": status, "r": reviewer},
    )
    return row


def get_review(conn: psycopg.Connection, session_id: uuid.UUID) -> dict | None:
    """The session's review state, or None when nobody reviewed it yet."""
    return conn.execute(
        "SELECT r.status, r.notes, coalesce(v.display_name, 'unnamed reviewer') AS reviewer, "
        "r.decided_at, r.updated_at FROM reviews r "
        "LEFT JOIN reviewers v ON v.reviewer_id = r.reviewer WHERE r.session_id = %(id)s",
        {"id": session_id},
    ).fetchone()


def first_seen(conn: psycopg.Connection, session_id: uuid.UUID):
    """When the session's first validation event happened (None when it has none)."""
    return conn.execute(
        "SELECT min(occurred_at) AS at FROM validation_events WHERE session_id = %(s)s",
        {"s": session_id},
    ).fetchone()["at"]


def daily_metrics(conn: psycopg.Connection, since, until) -> list[dict]:
    """Per day: reviews decided, median hours to review, first-pass validity, errors per 100
    sessions."""
    return conn.execute(
        """
        WITH days AS (
            SELECT generate_series(%(since)s::date, %(until)s::date, interval '1 day')::date AS day
        ), decided AS (
            SELECT decided_at::date AS day, count(*) AS reviews,
                   percentile_cont(0.5) WITHIN GROUP (
                       ORDER BY extract(epoch FROM decided_at - first_seen_at) / 3600) AS median_hours
            FROM reviews WHERE decided_at >= %(since)s::date GROUP BY 1
        ), checks AS (
            SELECT occurred_at::date AS day,
                   count(*) FILTER (WHERE attempt = 1) AS first_attempts,
                   count(*) FILTER (WHERE attempt = 1 AND outcome <> 'invalid') AS first_valid,
                   count(DISTINCT session_id) AS sessions,
                   count(*) FILTER (WHERE outcome IN ('invalid', 'error')) AS errors
            FROM validation_events WHERE occurred_at >= %(since)s::date GROUP BY 1
        )
        SELECT d.day, coalesce(x.reviews, 0) AS reviews, x.median_hours,
               CASE WHEN c.first_attempts > 0
                    THEN round(c.first_valid::numeric / c.first_attempts, 4) END
                   AS first_pass_validity,
               CASE WHEN c.sessions > 0
                    THEN round(100.0 * c.errors / c.sessions, 2) END AS errors_per_100_sessions
        FROM days d LEFT JOIN decided x USING (day) LEFT JOIN checks c USING (day)
        ORDER BY d.day
        """,
        {"since": since, "until": until},
    ).fetchall()
