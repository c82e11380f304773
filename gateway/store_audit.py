"""SQL of the gateway schema: audit events and erasure requests."""

from __future__ import annotations

from collections.abc import Sequence

import psycopg


def insert_audit_event(conn: psycopg.Connection, event: dict) -> None:
    """Append one audit event."""
    conn.execute(
        """
        INSERT INTO audit_events (actor, actor_roles, action, object, outcome, status, request_id)
        VALUES (%(actor)s, %(actor_roles)s, %(action)s, %(object)s, %(outcome)s, %(status)s,
                %(request_id)s)
        """,
        event,
    )


def list_audit_events(
    conn: psycopg.Connection, filters: dict, *, limit: int, before: int | None
) -> list[dict]:
    """A page of audit events, newest first, before the keyset `event_id`."""
    return conn.execute(
        """
        SELECT * FROM audit_events
        WHERE (%(action)s::text IS NULL OR action = %(action)s)
          AND (%(actor)s::text IS NULL OR actor = %(actor)s)
          AND (%(outcome)s::text IS NULL OR outcome = %(outcome)s)
          AND (%(from)s::timestamptz IS NULL OR occurred_at >= %(from)s)
          AND (%(to)s::timestamptz IS NULL OR occurred_at < %(to)s)
          AND (%(before)s::bigint IS NULL OR event_id < %(before)s)
        ORDER BY event_id DESC
        LIMIT %(limit)s
        """,
        {
            "action": filters.get("action"),
            "actor": filters.get("actor"),
            "outcome": filters.get("outcome"),
            "from": filters.get("from_"),
            "to": filters.get("to"),
            "before": before,
            "limit": limit,
        },
    ).fetchall()


def insert_erasure(
    conn: psycopg.Connection,
    engineer_code: str,
    requested_by: str,
    requested_roles: Sequence[str],
    services: Sequence[str],
    *,
    lease_seconds: float,
) -> dict:
    """Record an erasure request and one pending step per service (in asking order); the
    retrier leaves it alone for `lease_seconds` (the request's own attempt)."""
    erasure = conn.execute(
        """
        INSERT INTO erasures (engineer_code, requested_by, requested_roles, next_attempt_at)
        VALUES (%(code)s, %(by)s, %(roles)s, now() + make_interval(secs => %(lease)s))
        RETURNING *
        """,
        {
            "code": engineer_code,
            "by": requested_by,
            "roles": sorted(requested_roles),
            "lease": lease_seconds,
        },
    ).fetchone()
    conn.execute(
        """
        INSERT INTO erasure_steps (erasure_id, service, position)
        SELECT %(id)s, service, position - 1
        FROM unnest(%(services)s::text[]) WITH ORDINALITY AS s (service, position)
        """,
        {"id": erasure["erasure_id"], "services": list(services)},
    )
    return erasure


def get_erasure(conn: psycopg.Connection, erasure_id) -> dict | None:
    """One erasure request, None when there is none."""
    return conn.execute(
        "SELECT * FROM erasures WHERE erasure_id = %(id)s", {"id": erasure_id}
    ).fetchone()


def lock_erasure(conn: psycopg.Connection, erasure_id) -> dict:
    """One erasure request, locked for this transaction (the retrier skips it meanwhile)."""
    return conn.execute(
        "SELECT * FROM erasures WHERE erasure_id = %(id)s FOR UPDATE", {"id": erasure_id}
    ).fetchone()


def lock_due_erasure(conn: psycopg.Connection) -> dict | None:
    """The pending erasure due longest, locked for this transaction; erasures another process
    is working on are skipped. None when none is due."""
    return conn.execute(
        """
        SELECT * FROM erasures
        WHERE status = 'pending' AND next_attempt_at <= now()
        ORDER BY next_attempt_at
        LIMIT 1
        FOR UPDATE SKIP LOCKED
        """
    ).fetchone()


def list_erasure_steps(conn: psycopg.Connection, erasure_id) -> list[dict]:
    """Each service's part of an erasure, in asking order."""
    return conn.execute(
        """
        SELECT service, status, attempts, last_error, sessions_deleted, done_at
        FROM erasure_steps WHERE erasure_id = %(id)s ORDER BY position
        """,
        {"id": erasure_id},
    ).fetchall()


def mark_step_done(conn: psycopg.Connection, erasure_id, service: str, deleted: int) -> None:
    """A service erased its part (one more attempt counted)."""
    conn.execute(
        """
        UPDATE erasure_steps
        SET status = 'done', attempts = attempts + 1, last_error = NULL,
            sessions_deleted = %(deleted)s, done_at = now()
        WHERE erasure_id = %(id)s AND service = %(service)s
        """,
        {"id": erasure_id, "service": service, "deleted": deleted},
    )


def mark_step_failed(
    conn: psycopg.Connection, erasure_id, service: str, error: str, retry_in: float
) -> None:
    """A service could not erase now: count the attempt, keep why, and when to try again."""
    conn.execute(
        """
        UPDATE erasure_steps SET attempts = attempts + 1, last_error = %(error)s
        WHERE erasure_id = %(id)s AND service = %(service)s
        """,
        {"id": erasure_id, "service": service, "error": error},
    )
    conn.execute(
        """
        UPDATE erasures SET next_attempt_at = now() + make_interval(secs => %(delay)s)
        WHERE erasure_id = %(id)s
        """,
        {"id": erasure_id, "delay": retry_in},
    )


def mark_erasure_done(conn: psycopg.Connection, erasure_id) -> dict:
    """Every service erased: the request is done."""
    return conn.execute(
        """
        UPDATE erasures SET status = 'done', done_at = now()
        WHERE erasure_id = %(id)s RETURNING *
        """,
        {"id": erasure_id},
    ).fetchone()
