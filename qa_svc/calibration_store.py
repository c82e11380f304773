"""SQL of calibrations: the sessions and reviewers of each, and their blind ratings."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import psycopg
from psycopg.types.json import Jsonb


def insert_calibration(
    conn: psycopg.Connection,
    scorecard_id: uuid.UUID,
    session_ids: Sequence[uuid.UUID],
    reviewer_ids: Sequence[str],
    created_by: str,
) -> dict:
    """A new calibration."""
    return conn.execute(
        """
        INSERT INTO calibrations (calibration_id, scorecard_id, session_ids, reviewer_ids,
                                  created_by)
        VALUES (%(id)s, %(card)s, %(sessions)s, %(reviewers)s, %(by)s)
        RETURNING *
        """,
        {
            "id": uuid.uuid4(),
            "card": scorecard_id,
            "sessions": list(session_ids),
            "reviewers": list(reviewer_ids),
            "by": created_by,
        },
    ).fetchone()


def get_calibration(conn: psycopg.Connection, calibration_id: uuid.UUID, *, lock: bool = False):
    """One calibration, or None."""
    return conn.execute(
        "SELECT * FROM calibrations WHERE calibration_id = %(id)s"
        + (" FOR UPDATE" if lock else ""),
        {"id": calibration_id},
    ).fetchone()


def list_calibrations(conn: psycopg.Connection, limit: int = 100) -> list[dict]:
    """The newest calibrations first."""
    return conn.execute(
        "SELECT * FROM calibrations ORDER BY created_at DESC LIMIT %(limit)s", {"limit": limit}
    ).fetchall()


def sessions_with_log(conn: psycopg.Connection, session_ids: Sequence[uuid.UUID]) -> set:
    """Those of `session_ids` that have a validation log."""
    rows = conn.execute(
        "SELECT session_id FROM validation_sessions WHERE session_id = ANY(%(ids)s::uuid[])",
        {"ids": list(session_ids)},
    ).fetchall()
    return {row["session_id"] for row in rows}


def save_rating(conn: psycopg.Connection, calibration_id: uuid.UUID, row: dict) -> dict:
    """A reviewer's ratings of one session of a calibration (replacing their earlier ones)."""
    return conn.execute(
        """
        INSERT INTO calibration_ratings (calibration_id, session_id, reviewer_id, ratings,
                                         comments, criterion_scores, quality_score)
        VALUES (%(calibration)s, %(session_id)s, %(reviewer_id)s, %(ratings)s, %(comments)s,
                %(criterion_scores)s, %(quality_score)s)
        ON CONFLICT (calibration_id, session_id, reviewer_id) DO UPDATE SET
            ratings = EXCLUDED.ratings, comments = EXCLUDED.comments,
            criterion_scores = EXCLUDED.criterion_scores,
            quality_score = EXCLUDED.quality_score, scored_at = now()
        RETURNING *
        """,
        {
            **row,
            "calibration": calibration_id,
            "ratings": Jsonb(row["ratings"]),
            "comments": Jsonb(row["comments"]),
            "criterion_scores": Jsonb(row["criterion_scores"]),
        },
    ).fetchone()


def ratings_of(conn: psycopg.Connection, calibration_id: uuid.UUID) -> list[dict]:
    """Every rating given in a calibration, with the reviewer's display name."""
    return conn.execute(
        """
        SELECT c.session_id, c.reviewer_id, coalesce(r.display_name, 'unnamed reviewer')
                   AS reviewer, c.ratings, c.comments, c.quality_score
        FROM calibration_ratings c LEFT JOIN reviewers r USING (reviewer_id)
        WHERE c.calibration_id = %(id)s ORDER BY c.session_id, reviewer
        """,
        {"id": calibration_id},
    ).fetchall()
