"""SQL of the QA schema: the validation log."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import psycopg


def insert_events(conn: psycopg.Connection, events: Sequence[dict]) -> None:
    """Append validation events."""
    with conn.cursor() as cursor:
        cursor.executemany(
            """
            INSERT INTO validation_events (session_id, source, step, field, outcome, code, attempt,
                                           normalized, message, agent_version, occurred_at)
            VALUES (%(session_id)s, %(source)s, %(step)s, %(field)s, %(outcome)s, %(code)s,
                    %(attempt)s, %(normalized)s, %(message)s, %(agent_version)s,
                    coalesce(%(occurred_at)s, now()))
            """,
            events,
        )


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
