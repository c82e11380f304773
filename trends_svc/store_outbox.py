"""SQL of the webhook outbox and the operational counts for the metrics."""

from __future__ import annotations

import uuid

import psycopg
from psycopg.types.json import Jsonb


def enqueue_notification(
    conn: psycopg.Connection, alert_id: uuid.UUID, event: str, payload: dict
) -> None:
    """Queue a notification in the caller's transaction (it exists only if the change does)."""
    conn.execute(
        "INSERT INTO webhook_outbox (alert_id, event, payload) "
        "VALUES (%(alert_id)s, %(event)s, %(payload)s)",
        {"alert_id": alert_id, "event": event, "payload": Jsonb(payload)},
    )


def due_notifications(conn: psycopg.Connection, limit: int, max_attempts: int) -> list[dict]:
    """Undelivered notifications whose time has come, locked (other deliverers skip them)."""
    return conn.execute(
        """
        SELECT * FROM webhook_outbox
        WHERE delivered_at IS NULL AND next_attempt_at <= now() AND attempts < %(max)s
        ORDER BY delivery_id
        LIMIT %(limit)s
        FOR UPDATE SKIP LOCKED
        """,
        {"limit": limit, "max": max_attempts},
    ).fetchall()


def mark_delivered(conn: psycopg.Connection, delivery_id: int) -> None:
    conn.execute(
        "UPDATE webhook_outbox SET delivered_at = now(), attempts = attempts + 1, "
        "last_error = NULL WHERE delivery_id = %(id)s",
        {"id": delivery_id},
    )


def mark_failed(
    conn: psycopg.Connection, delivery_id: int, error: str, delay_seconds: float
) -> None:
    conn.execute(
        "UPDATE webhook_outbox SET attempts = attempts + 1, last_error = %(error)s, "
        "next_attempt_at = now() + make_interval(secs => %(delay)s) WHERE delivery_id = %(id)s",
        {"id": delivery_id, "error": error, "delay": delay_seconds},
    )


def outbox_depth(conn: psycopg.Connection) -> int:
    """Notifications not delivered yet."""
    return conn.execute(
        "SELECT count(*) AS n FROM webhook_outbox WHERE delivered_at IS NULL"
    ).fetchone()["n"]


def operational_counts(conn: psycopg.Connection, max_attempts: int) -> dict[str, dict[str, int]]:
    """Alerts by state and undelivered notifications (pending, or given up after `max_attempts`),
    for the metrics."""
    states = dict.fromkeys(("open", "acknowledged", "resolved"), 0)
    for row in conn.execute("SELECT status, count(*)::int AS n FROM alerts GROUP BY status"):
        states[row["status"]] = row["n"]
    outbox = conn.execute(
        """
        SELECT count(*) FILTER (WHERE attempts < %(max)s)::int AS pending,
               count(*) FILTER (WHERE attempts >= %(max)s)::int AS given_up
        FROM webhook_outbox WHERE delivered_at IS NULL
        """,
        {"max": max_attempts},
    ).fetchone()
    return {"alerts": states, "outbox": dict(outbox)}
