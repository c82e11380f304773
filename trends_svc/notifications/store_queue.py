"""SQL of notification delivery: the grouping state (pending events, announced alerts), the
outbox with its delivery log, and the digest keys. One function per statement (or one batch),
connection first; times come from the caller (the clock)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

# --- grouping ------------------------------------------------------------------------------


def add_pending(
    conn: psycopg.Connection, rows: Sequence[tuple[uuid.UUID, uuid.UUID, str]], now: datetime
) -> None:
    """Queue (route_id, alert_id, event) for the routes' next messages; duplicates are ignored."""
    if not rows:
        return
    routes, alert_ids, events = (list(column) for column in zip(*rows, strict=True))
    conn.execute(
        """
        INSERT INTO notification_pending (route_id, alert_id, event, queued_at)
        SELECT route_id, alert_id, event, %(now)s
        FROM unnest(%(routes)s::uuid[], %(alerts)s::uuid[], %(events)s::text[])
             AS t(route_id, alert_id, event)
        ON CONFLICT DO NOTHING
        """,
        {"routes": routes, "alerts": alert_ids, "events": events, "now": now},
    )


def announced_pairs(
    conn: psycopg.Connection, alert_ids: Iterable[uuid.UUID]
) -> set[tuple[uuid.UUID, uuid.UUID]]:
    """(route_id, alert_id) of these alerts that a route has announced already."""
    return {
        (row["route_id"], row["alert_id"])
        for row in conn.execute(
            "SELECT route_id, alert_id FROM notification_announced "
            "WHERE alert_id = ANY(%(ids)s::uuid[])",
            {"ids": list(alert_ids)},
        )
    }


def drop_unsent_openings(conn: psycopg.Connection, alert_ids: Sequence[uuid.UUID]) -> None:
    """Forget queued openings of alerts that resolved before any message announced them."""
    conn.execute(
        "DELETE FROM notification_pending WHERE alert_id = ANY(%(ids)s::uuid[]) "
        "AND event IN ('alert.opened', 'alert.repeat')",
        {"ids": list(alert_ids)},
    )


def routes_due(conn: psycopg.Connection, now: datetime) -> list[dict]:
    """Routes whose queued alerts may go now: the oldest waited group_wait, the last message is
    group_interval ago. Locked, skipping those another worker is sending."""
    return conn.execute(
        """
        SELECT r.*, c.kind FROM notification_routes r
        JOIN notification_channels c USING (channel_id)
        WHERE r.confirmed_at IS NOT NULL
          AND (SELECT min(p.queued_at) FROM notification_pending p WHERE p.route_id = r.route_id)
              + make_interval(secs => r.group_wait_seconds) <= %(now)s
          AND (r.last_sent_at IS NULL
               OR r.last_sent_at + make_interval(secs => r.group_interval_seconds) <= %(now)s)
        FOR UPDATE OF r SKIP LOCKED
        """,
        {"now": now},
    ).fetchall()


def take_pending(conn: psycopg.Connection, route_ids: Sequence[uuid.UUID]) -> list[dict]:
    """Remove these routes' queued alert events and return them (with `route_id`) joined with
    the alerts as they are now."""
    return conn.execute(
        """
        WITH taken AS (
            DELETE FROM notification_pending WHERE route_id = ANY(%(ids)s::uuid[])
            RETURNING route_id, alert_id, event
        )
        SELECT taken.route_id, taken.event, a.* FROM taken JOIN alerts a USING (alert_id)
        ORDER BY taken.event, a.team, a.rule, a.subject, a.category
        """,
        {"ids": list(route_ids)},
    ).fetchall()


def mark_routes_sent(
    conn: psycopg.Connection,
    route_ids: Sequence[uuid.UUID],
    announced: Sequence[tuple[uuid.UUID, uuid.UUID]],
    resolved: Sequence[tuple[uuid.UUID, uuid.UUID]],
    now: datetime,
) -> None:
    """Remember that the routes' messages went out now: (route_id, alert_id) pairs announced
    (repeat_interval counts from now) and resolved (no longer announced)."""
    conn.execute(
        "UPDATE notification_routes SET last_sent_at = %(now)s WHERE route_id = ANY(%(ids)s)",
        {"ids": list(route_ids), "now": now},
    )
    if announced:
        routes, alert_ids = (list(column) for column in zip(*announced, strict=True))
        conn.execute(
            """
            INSERT INTO notification_announced (route_id, alert_id, last_sent_at)
            SELECT route_id, alert_id, %(now)s
            FROM unnest(%(routes)s::uuid[], %(alerts)s::uuid[]) AS t(route_id, alert_id)
            ON CONFLICT (route_id, alert_id) DO UPDATE SET last_sent_at = EXCLUDED.last_sent_at
            """,
            {"routes": routes, "alerts": alert_ids, "now": now},
        )
    if resolved:
        routes, alert_ids = (list(column) for column in zip(*resolved, strict=True))
        conn.execute(
            """
            DELETE FROM notification_announced n
            USING unnest(%(routes)s::uuid[], %(alerts)s::uuid[]) AS t(route_id, alert_id)
            WHERE n.route_id = t.route_id AND n.alert_id = t.alert_id
            """,
            {"routes": routes, "alerts": alert_ids},
        )


def repeat_candidates(conn: psycopg.Connection, now: datetime) -> list[dict]:
    """Open alerts a route announced at least its repeat_interval ago and has not queued again."""
    return conn.execute(
        """
        SELECT n.route_id, a.* FROM notification_announced n
        JOIN notification_routes r USING (route_id)
        JOIN alerts a USING (alert_id)
        WHERE r.repeat_interval_seconds > 0 AND a.status = 'open'
          AND n.last_sent_at + make_interval(secs => r.repeat_interval_seconds) <= %(now)s
          AND NOT EXISTS (SELECT 1 FROM notification_pending p
                          WHERE p.route_id = n.route_id AND p.alert_id = n.alert_id)
        """,
        {"now": now},
    ).fetchall()


# --- outbox --------------------------------------------------------------------------------


def enqueue_message(
    conn: psycopg.Connection,
    *,
    channel_id: uuid.UUID,
    route_id: uuid.UUID | None,
    purpose: str,
    message: dict,
    alert_ids: Sequence[uuid.UUID] = (),
    now: datetime | None = None,
) -> int:
    """Queue a rendered message in the caller's transaction; returns its id."""
    message_id = conn.execute(
        """
        INSERT INTO notification_outbox
            (channel_id, route_id, purpose, message, alert_count, next_attempt_at)
        VALUES (%(channel)s, %(route)s, %(purpose)s, %(message)s, %(count)s,
                COALESCE(%(now)s, now()))
        RETURNING message_id
        """,
        {
            "channel": channel_id,
            "route": route_id,
            "purpose": purpose,
            "message": Jsonb(message),
            "count": len(alert_ids),
            "now": now,
        },
    ).fetchone()["message_id"]
    if alert_ids:
        conn.execute(
            "INSERT INTO notification_outbox_alerts (alert_id, message_id) "
            "SELECT DISTINCT alert_id, %(id)s FROM unnest(%(ids)s::uuid[]) AS t(alert_id)",
            {"id": message_id, "ids": list(alert_ids)},
        )
    return message_id


def enqueue_route_messages(
    conn: psycopg.Connection,
    messages: Sequence[dict[str, Any]],
    now: datetime,
) -> None:
    """Queue one rendered message per route (`channel_id`, `route_id`, `message`, `alert_ids`)
    in three statements, however many routes: the grouping step of a large evaluation."""
    if not messages:
        return
    rows = conn.execute(
        """
        INSERT INTO notification_outbox
            (channel_id, route_id, purpose, message, alert_count, next_attempt_at)
        SELECT t.channel_id, t.route_id, 'alerts', b.message, t.alert_count, %(now)s
        FROM unnest(%(channels)s::uuid[], %(routes)s::uuid[], %(counts)s::int[])
             WITH ORDINALITY AS t(channel_id, route_id, alert_count, n)
        JOIN jsonb_array_elements(%(bodies)s) WITH ORDINALITY AS b(message, n) USING (n)
        RETURNING message_id, route_id
        """,
        {
            "channels": [m["channel_id"] for m in messages],
            "routes": [m["route_id"] for m in messages],
            "bodies": Jsonb([m["message"] for m in messages]),  # one value: no array quoting
            "counts": [len(m["alert_ids"]) for m in messages],
            "now": now,
        },
    ).fetchall()
    message_of = {row["route_id"]: row["message_id"] for row in rows}  # one message per route
    links = {(message_of[m["route_id"]], a) for m in messages for a in m["alert_ids"]}
    conn.execute(
        "INSERT INTO notification_outbox_alerts (message_id, alert_id) "
        "SELECT * FROM unnest(%(messages)s::bigint[], %(alerts)s::uuid[])",
        {"messages": [m for m, _ in links], "alerts": [a for _, a in links]},
    )


def due_messages(conn: psycopg.Connection, limit: int, now: datetime) -> list[dict]:
    """Pending messages whose time has come, with their channel, locked (others skip them)."""
    return conn.execute(
        """
        SELECT o.*, c.kind, c.sealed_config FROM notification_outbox o
        JOIN notification_channels c USING (channel_id)
        WHERE o.status = 'pending' AND o.next_attempt_at <= %(now)s
        ORDER BY o.next_attempt_at, o.message_id
        LIMIT %(limit)s
        FOR UPDATE OF o SKIP LOCKED
        """,
        {"limit": limit, "now": now},
    ).fetchall()


def mark_delivered(conn: psycopg.Connection, message_id: int, now: datetime) -> None:
    conn.execute(
        "UPDATE notification_outbox SET status = 'delivered', delivered_at = %(now)s, "
        "attempts = attempts + 1, last_error = NULL WHERE message_id = %(id)s",
        {"id": message_id, "now": now},
    )


def mark_failed(
    conn: psycopg.Connection,
    message_id: int,
    error: str,
    retry_at: datetime,
    *,
    counted: bool = True,
    dead: bool = False,
) -> None:
    """Record a failed attempt (`counted`) or a wait (nothing could be tried) and when to try
    again; `dead` after the last attempt."""
    conn.execute(
        """
        UPDATE notification_outbox
        SET attempts = attempts + %(counted)s::int, last_error = %(error)s,
            next_attempt_at = %(retry_at)s,
            status = CASE WHEN %(dead)s THEN 'dead' ELSE status END
        WHERE message_id = %(id)s
        """,
        {"id": message_id, "error": error, "retry_at": retry_at, "counted": counted, "dead": dead},
    )


def retry_message(conn: psycopg.Connection, message_id: int, now: datetime) -> dict | None:
    """Give a dead letter a new round of attempts; None when it is not dead."""
    return conn.execute(
        """
        UPDATE notification_outbox
        SET status = 'pending', attempts = 0, next_attempt_at = %(now)s
        WHERE message_id = %(id)s AND status = 'dead'
        RETURNING message_id
        """,
        {"id": message_id, "now": now},
    ).fetchone()


def list_deliveries(
    conn: psycopg.Connection, status: str | None, before: int | None, limit: int
) -> list[dict]:
    """The delivery log, newest first (keyset on message_id), with each channel's name."""
    return conn.execute(
        """
        SELECT o.message_id, o.channel_id, c.name AS channel_name, c.kind, o.route_id,
               o.purpose, o.alert_count, o.status, o.attempts, o.last_error, o.created_at,
               o.next_attempt_at, o.delivered_at, o.message
        FROM notification_outbox o JOIN notification_channels c USING (channel_id)
        WHERE (%(status)s::text IS NULL OR o.status = %(status)s)
          AND (%(before)s::bigint IS NULL OR o.message_id < %(before)s)
        ORDER BY o.message_id DESC
        LIMIT %(limit)s
        """,
        {"status": status, "before": before, "limit": limit},
    ).fetchall()


def delivery_counts(conn: psycopg.Connection) -> dict[str, int]:
    """Messages by status (for the metrics and the dashboard)."""
    counts = dict.fromkeys(("pending", "delivered", "dead"), 0)
    for row in conn.execute(
        "SELECT status, count(*)::int AS n FROM notification_outbox GROUP BY status"
    ):
        counts[row["status"]] = row["n"]
    return counts


# --- digest --------------------------------------------------------------------------------


def digest_routes(conn: psycopg.Connection) -> list[dict]:
    """Confirmed routes that ask for the weekly digest, with their channel's kind."""
    return conn.execute(
        """
        SELECT r.*, c.kind FROM notification_routes r
        JOIN notification_channels c USING (channel_id)
        WHERE r.digest AND r.confirmed_at IS NOT NULL
        """
    ).fetchall()


def claim_digest(conn: psycopg.Connection, route_id: uuid.UUID, period_start: Any) -> bool:
    """Take the (route, period) key; False when a digest for it exists (another worker's)."""
    return (
        conn.execute(
            "INSERT INTO notification_digests (route_id, period_start) "
            "VALUES (%(id)s, %(period)s) ON CONFLICT DO NOTHING",
            {"id": route_id, "period": period_start},
        ).rowcount
        == 1
    )


def set_digest_message(
    conn: psycopg.Connection, route_id: uuid.UUID, period_start: Any, message_id: int
) -> None:
    conn.execute(
        "UPDATE notification_digests SET message_id = %(message)s "
        "WHERE route_id = %(id)s AND period_start = %(period)s",
        {"id": route_id, "period": period_start, "message": message_id},
    )


def team_kpis(
    conn: psycopg.Connection, teams: Sequence[str], start: datetime, end: datetime
) -> list[dict]:
    """Per team (these, or every team when empty): sessions, mean sentiment and confidence and
    the most common root cause of the projected sessions analysed in [start, end)."""
    return conn.execute(
        """
        SELECT team, count(*)::int AS sessions, avg(sentiment_score) AS sentiment,
               avg(confidence_overall) AS confidence, mode() WITHIN GROUP (ORDER BY root_cause)
               AS top_cause
        FROM sessions
        WHERE analysed_at >= %(start)s AND analysed_at < %(end)s
          AND (cardinality(%(teams)s::text[]) = 0 OR team = ANY(%(teams)s::text[]))
        GROUP BY team ORDER BY team
        """,
        {"teams": list(teams), "start": start, "end": end},
    ).fetchall()


def digest_alerts(conn: psycopg.Connection, route: dict, since: datetime) -> list[dict]:
    """Alerts matching the route that opened since `since` or are still open (newest first)."""
    return conn.execute(
        """
        SELECT * FROM alerts
        WHERE (opened_at >= %(since)s OR status <> 'resolved')
          AND (cardinality(%(teams)s::text[]) = 0 OR team = ANY(%(teams)s::text[]))
          AND (cardinality(%(rules)s::text[]) = 0 OR rule = ANY(%(rules)s::text[]))
          AND (cardinality(%(cats)s::text[]) = 0 OR category = ANY(%(cats)s::text[]))
        ORDER BY opened_at DESC
        LIMIT 1000
        """,
        {
            "since": since,
            "teams": route["teams"],
            "rules": route["rules"],
            "cats": route["categories"],
        },
    ).fetchall()
