"""SQL of sampling rules, sampling decisions and the assignment of sessions to reviewers."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import psycopg

RULE_COLUMNS = "percent, always_errors, always_restart, always_low_confidence, updated_at"


def get_rules(conn: psycopg.Connection, *, lock: bool = False) -> dict:
    """The sampling rules (one row)."""
    return conn.execute(
        f"SELECT {RULE_COLUMNS} FROM sampling_rules" + (" FOR UPDATE" if lock else "")
    ).fetchone()


def set_rules(conn: psycopg.Connection, rules: dict) -> dict:
    """Replace the sampling rules."""
    return conn.execute(
        f"""
        UPDATE sampling_rules SET percent = %(percent)s, always_errors = %(always_errors)s,
            always_restart = %(always_restart)s,
            always_low_confidence = %(always_low_confidence)s, updated_at = now()
        RETURNING {RULE_COLUMNS}
        """,
        rules,
    ).fetchone()


def unsampled_sessions(
    conn: psycopg.Connection, quiet_since: datetime, low_confidence_below: float
) -> list[dict]:
    """Sessions of the validation log not considered for sampling yet whose last event is before
    `quiet_since` (finished work), with what the rules look at (from their summaries), in id
    order."""
    return conn.execute(
        """
        SELECT s.session_id, coalesce(s.agent_version, '') AS agent_version,
               s.errors > 0 AS has_errors, s.restart_offered,
               coalesce(s.confidence_overall < %(below)s, false) AS low_confidence
        FROM validation_sessions s
        WHERE s.last_seen_at < %(quiet_since)s
          AND NOT EXISTS (SELECT 1 FROM sampled_sessions d WHERE d.session_id = s.session_id)
        ORDER BY session_id
        """,
        {"quiet_since": quiet_since, "below": low_confidence_below},
    ).fetchall()


def record_decisions(conn: psycopg.Connection, decisions: Sequence[dict]) -> int:
    """Record sampling decisions; a session decided meanwhile by a concurrent run keeps its
    first decision. Returns how many were new."""
    with conn.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO sampled_sessions (session_id, sampled, reason, agent_version)
            SELECT * FROM unnest(%(ids)s::uuid[], %(sampled)s::boolean[], %(reasons)s::text[],
                                 %(versions)s::text[])
            ON CONFLICT (session_id) DO NOTHING
            """,
            {
                "ids": [d["session_id"] for d in decisions],
                "sampled": [d["sampled"] for d in decisions],
                "reasons": [d["reason"] for d in decisions],
                "versions": [d["agent_version"] for d in decisions],
            },
        )
        return cursor.rowcount


def last_assigned_reviewer(conn: psycopg.Connection) -> str | None:
    """The reviewer who got the latest assignment by sampling (where round-robin goes on)."""
    row = conn.execute(
        "SELECT reviewer_id FROM assignment_history WHERE reason = 'sampling' "
        "ORDER BY assigned_at DESC LIMIT 1"
    ).fetchone()
    return row["reviewer_id"] if row else None


def assign(
    conn: psycopg.Connection,
    session_id: uuid.UUID,
    reviewer_id: str,
    assigned_by: str,
    reason: str,
) -> bool:
    """Assign a session to a reviewer and keep it in the history; False (nothing changed) when
    that reviewer was assigned this session before."""
    added = conn.execute(
        """
        INSERT INTO assignment_history (session_id, reviewer_id, assigned_by, reason)
        VALUES (%(s)s, %(r)s, %(by)s, %(reason)s)
        ON CONFLICT (session_id, reviewer_id) DO NOTHING
        """,
        {"s": session_id, "r": reviewer_id, "by": assigned_by, "reason": reason},
    ).rowcount
    if not added:
        return False
    conn.execute(
        """
        INSERT INTO assignments (session_id, reviewer_id) VALUES (%(s)s, %(r)s)
        ON CONFLICT (session_id) DO UPDATE SET reviewer_id = EXCLUDED.reviewer_id,
                                              assigned_at = now()
        """,
        {"s": session_id, "r": reviewer_id},
    )
    return True


def assignment_history(conn: psycopg.Connection, session_id: uuid.UUID) -> list[dict]:
    """Who was assigned the session, oldest first, by display name."""
    return conn.execute(
        """
        SELECT coalesce(r.display_name, 'unnamed reviewer') AS reviewer, h.reason, h.assigned_at,
               coalesce(b.display_name, 'unnamed reviewer') AS assigned_by
        FROM assignment_history h
        LEFT JOIN reviewers r ON r.reviewer_id = h.reviewer_id
        LEFT JOIN reviewers b ON b.reviewer_id = h.assigned_by
        WHERE h.session_id = %(s)s ORDER BY h.assigned_at
        """,
        {"s": session_id},
    ).fetchall()
