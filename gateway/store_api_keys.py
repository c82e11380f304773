"""SQL of the gateway schema: API keys."""

from __future__ import annotations

from collections.abc import Sequence

import psycopg


def insert_api_key(
    conn: psycopg.Connection,
    *,
    prefix: str,
    name: str,
    key_hash: str,
    roles: Sequence[str],
    teams: Sequence[str],
    expires_days: int | None,
) -> dict:
    """Store an API key by its hash; returns the stored row (never holding the key)."""
    return conn.execute(
        """
        INSERT INTO api_keys (prefix, name, key_hash, roles, teams, expires_at)
        VALUES (%(prefix)s, %(name)s, %(key_hash)s, %(roles)s, %(teams)s,
                now() + make_interval(days => %(expires_days)s))
        RETURNING prefix, name, roles, teams, created_at, expires_at
        """,
        {
            "prefix": prefix,
            "name": name,
            "key_hash": key_hash,
            "roles": list(roles),
            "teams": list(teams),
            "expires_days": expires_days,
        },
    ).fetchone()


def live_api_key_named(conn: psycopg.Connection, name: str) -> bool:
    """True when a key that is not revoked carries this name."""
    row = conn.execute(
        "SELECT 1 FROM api_keys WHERE name = %(name)s AND revoked_at IS NULL", {"name": name}
    ).fetchone()
    return row is not None


def get_api_key(conn: psycopg.Connection, prefix: str) -> dict | None:
    """The key with this prefix, whatever its state, with `expired` computed by the database."""
    return conn.execute(
        """
        SELECT prefix, key_hash, roles, teams, revoked_at, last_used_at,
               expires_at IS NOT NULL AND expires_at <= now() AS expired,
               last_used_at IS NULL OR last_used_at < now() - interval '1 minute' AS use_stale
        FROM api_keys WHERE prefix = %(prefix)s
        """,
        {"prefix": prefix},
    ).fetchone()


def note_api_key_use(conn: psycopg.Connection, prefix: str) -> dict | None:
    """Set `last_used_at` to now unless another call did so within the last minute; returns
    `{"first_today": bool}` when this call wrote, None when it did not (a race lost, or too soon)."""
    return conn.execute(
        """
        UPDATE api_keys AS k SET last_used_at = now()
        FROM (SELECT prefix, last_used_at AS previous FROM api_keys
              WHERE prefix = %(prefix)s FOR UPDATE) AS p
        WHERE k.prefix = p.prefix
          AND (p.previous IS NULL OR p.previous < now() - interval '1 minute')
        RETURNING p.previous IS NULL
               OR date_trunc('day', p.previous AT TIME ZONE 'UTC')
                  < date_trunc('day', now() AT TIME ZONE 'UTC') AS first_today
        """,
        {"prefix": prefix},
    ).fetchone()


def list_api_keys(conn: psycopg.Connection) -> list[dict]:
    """Every API key without its hash, newest first."""
    return conn.execute(
        """
        SELECT prefix, name, roles, teams, created_at, expires_at, revoked_at, last_used_at,
               CASE WHEN revoked_at IS NOT NULL THEN 'revoked'
                    WHEN expires_at IS NOT NULL AND expires_at <= now() THEN 'expired'
                    ELSE 'active' END AS status
        FROM api_keys ORDER BY created_at DESC, prefix
        """
    ).fetchall()


def revoke_api_key(conn: psycopg.Connection, name: str) -> dict | None:
    """Revoke the live key with this name; returns its prefix and roles, None when there is none."""
    return conn.execute(
        """
        UPDATE api_keys SET revoked_at = now()
        WHERE name = %(name)s AND revoked_at IS NULL
        RETURNING prefix, roles
        """,
        {"name": name},
    ).fetchone()
