"""SQL of notification configuration: channels, routes and silences (delivery's SQL is in
store_queue). One function per statement, connection first; times come from the caller."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

# --- channels ------------------------------------------------------------------------------


def insert_channel(conn: psycopg.Connection, channel: dict[str, Any]) -> dict:
    """Create a channel and return it."""
    return conn.execute(
        """
        INSERT INTO notification_channels
            (channel_id, name, kind, sealed_config, masked_config, owner, created_by)
        VALUES (%(channel_id)s, %(name)s, %(kind)s, %(sealed_config)s, %(masked_config)s,
                %(owner)s, %(created_by)s)
        RETURNING *
        """,
        {**channel, "masked_config": Jsonb(channel["masked_config"])},
    ).fetchone()


def list_channels(conn: psycopg.Connection) -> list[dict]:
    """Every channel an admin manages (self-service ones are listed with their routes)."""
    return conn.execute(
        "SELECT * FROM notification_channels WHERE owner IS NULL ORDER BY name"
    ).fetchall()


def get_channel(conn: psycopg.Connection, channel_id: uuid.UUID) -> dict | None:
    return conn.execute(
        "SELECT * FROM notification_channels WHERE channel_id = %(id)s", {"id": channel_id}
    ).fetchone()


def update_channel(conn: psycopg.Connection, channel_id: uuid.UUID, changes: dict) -> dict | None:
    """Replace a channel's name and config; None when it does not exist."""
    return conn.execute(
        """
        UPDATE notification_channels
        SET name = %(name)s, sealed_config = %(sealed_config)s,
            masked_config = %(masked_config)s, updated_at = now()
        WHERE channel_id = %(id)s
        RETURNING *
        """,
        {**changes, "id": channel_id, "masked_config": Jsonb(changes["masked_config"])},
    ).fetchone()


def delete_channel(conn: psycopg.Connection, channel_id: uuid.UUID) -> bool:
    """Delete a channel with its routes and messages; False when it did not exist."""
    return (
        conn.execute(
            "DELETE FROM notification_channels WHERE channel_id = %(id)s", {"id": channel_id}
        ).rowcount
        > 0
    )


# --- routes --------------------------------------------------------------------------------

ROUTE_FIELDS = (
    "channel_id",
    "teams",
    "rules",
    "categories",
    "group_wait_seconds",
    "group_interval_seconds",
    "repeat_interval_seconds",
    "send_resolved",
    "digest",
)


def insert_route(conn: psycopg.Connection, route: dict[str, Any]) -> dict:
    """Create a route and return it."""
    return conn.execute(
        """
        INSERT INTO notification_routes
            (route_id, channel_id, teams, rules, categories, group_wait_seconds,
             group_interval_seconds, repeat_interval_seconds, send_resolved, digest, owner,
             confirmation_hash, confirmed_at, created_by, created_at)
        VALUES (%(route_id)s, %(channel_id)s, %(teams)s, %(rules)s, %(categories)s,
                %(group_wait_seconds)s, %(group_interval_seconds)s, %(repeat_interval_seconds)s,
                %(send_resolved)s, %(digest)s, %(owner)s, %(confirmation_hash)s,
                %(confirmed_at)s, %(created_by)s, %(created_at)s)
        RETURNING *
        """,
        route,
    ).fetchone()


def list_routes(conn: psycopg.Connection, owner: str | None) -> list[dict]:
    """Routes oldest first: every route (owner None), or one manager's own."""
    return conn.execute(
        """
        SELECT * FROM notification_routes
        WHERE %(owner)s::text IS NULL OR owner = %(owner)s
        ORDER BY created_at, route_id
        """,
        {"owner": owner},
    ).fetchall()


def get_route(conn: psycopg.Connection, route_id: uuid.UUID, owner: str | None) -> dict | None:
    """One route; for a manager (owner given) only one of their own."""
    return conn.execute(
        """
        SELECT * FROM notification_routes
        WHERE route_id = %(id)s AND (%(owner)s::text IS NULL OR owner = %(owner)s)
        """,
        {"id": route_id, "owner": owner},
    ).fetchone()


def update_route(conn: psycopg.Connection, route_id: uuid.UUID, route: dict) -> dict | None:
    """Replace a route's matching and timing; None when it does not exist."""
    return conn.execute(
        """
        UPDATE notification_routes
        SET channel_id = %(channel_id)s, teams = %(teams)s, rules = %(rules)s,
            categories = %(categories)s, group_wait_seconds = %(group_wait_seconds)s,
            group_interval_seconds = %(group_interval_seconds)s,
            repeat_interval_seconds = %(repeat_interval_seconds)s,
            send_resolved = %(send_resolved)s, digest = %(digest)s, updated_at = now()
        WHERE route_id = %(id)s
        RETURNING *
        """,
        {**route, "id": route_id},
    ).fetchone()


def delete_route(conn: psycopg.Connection, route_id: uuid.UUID) -> dict | None:
    """Delete a route; returns it (None when it did not exist)."""
    return conn.execute(
        "DELETE FROM notification_routes WHERE route_id = %(id)s RETURNING *", {"id": route_id}
    ).fetchone()


def confirm_route(
    conn: psycopg.Connection, route_id: uuid.UUID, code_hash: str, now: datetime
) -> dict | None:
    """Activate a self-service route whose confirmation code hashes to `code_hash`."""
    return conn.execute(
        """
        UPDATE notification_routes
        SET confirmed_at = %(now)s, confirmation_hash = NULL, updated_at = now()
        WHERE route_id = %(id)s AND confirmation_hash = %(hash)s
        RETURNING *
        """,
        {"id": route_id, "hash": code_hash, "now": now},
    ).fetchone()


def active_routes(conn: psycopg.Connection) -> list[dict]:
    """Confirmed routes with their channel's kind."""
    return conn.execute(
        """
        SELECT r.*, c.kind FROM notification_routes r
        JOIN notification_channels c USING (channel_id)
        WHERE r.confirmed_at IS NOT NULL
        """
    ).fetchall()


# --- silences ------------------------------------------------------------------------------


def insert_silence(conn: psycopg.Connection, silence: dict[str, Any]) -> dict:
    """Create a silence and return it."""
    return conn.execute(
        """
        INSERT INTO notification_silences
            (silence_id, matchers, starts_at, ends_at, reason, created_by)
        VALUES (%(silence_id)s, %(matchers)s, %(starts_at)s, %(ends_at)s, %(reason)s,
                %(created_by)s)
        RETURNING *
        """,
        {**silence, "matchers": Jsonb(silence["matchers"])},
    ).fetchone()


def list_silences(
    conn: psycopg.Connection, teams: Sequence[str] | None, now: datetime, active_only: bool
) -> list[dict]:
    """Silences newest first; for a team-scoped caller those matching one of their teams only."""
    return conn.execute(
        """
        SELECT * FROM notification_silences
        WHERE (%(teams)s::text[] IS NULL OR matchers ->> 'team' = ANY(%(teams)s::text[]))
          AND (NOT %(active)s OR ends_at > %(now)s)
        ORDER BY created_at DESC, silence_id
        LIMIT 500
        """,
        {"teams": list(teams) if teams is not None else None, "now": now, "active": active_only},
    ).fetchall()


def get_silence(
    conn: psycopg.Connection, silence_id: uuid.UUID, teams: Sequence[str] | None
) -> dict | None:
    return conn.execute(
        """
        SELECT * FROM notification_silences
        WHERE silence_id = %(id)s
          AND (%(teams)s::text[] IS NULL OR matchers ->> 'team' = ANY(%(teams)s::text[]))
        """,
        {"id": silence_id, "teams": list(teams) if teams is not None else None},
    ).fetchone()


def expire_silence(
    conn: psycopg.Connection, silence_id: uuid.UUID, actor: str, now: datetime
) -> dict | None:
    """End a silence now (one that ended already keeps its end)."""
    return conn.execute(
        """
        UPDATE notification_silences
        SET ends_at = LEAST(ends_at, %(now)s),
            expired_by = CASE WHEN ends_at > %(now)s THEN %(actor)s ELSE expired_by END
        WHERE silence_id = %(id)s
        RETURNING *
        """,
        {"id": silence_id, "actor": actor, "now": now},
    ).fetchone()


def active_silences(conn: psycopg.Connection, now: datetime) -> list[dict]:
    """The silences in force at `now`."""
    return conn.execute(
        "SELECT * FROM notification_silences WHERE starts_at <= %(now)s AND ends_at > %(now)s",
        {"now": now},
    ).fetchall()
