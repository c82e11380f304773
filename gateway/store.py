"""SQL of the gateway schema: OAuth clients."""

from __future__ import annotations

from collections.abc import Sequence

import psycopg


def insert_client(
    conn: psycopg.Connection,
    *,
    client_id: str,
    name: str,
    secret_hash: str,
    roles: Sequence[str],
    teams: Sequence[str],
) -> None:
    """Store a client; its secret only as a hash."""
    conn.execute(
        """
        INSERT INTO oauth_clients (client_id, name, secret_hash, roles, teams)
        VALUES (%(client_id)s, %(name)s, %(secret_hash)s, %(roles)s, %(teams)s)
        """,
        {
            "client_id": client_id,
            "name": name,
            "secret_hash": secret_hash,
            "roles": list(roles),
            "teams": list(teams),
        },
    )


def get_client(conn: psycopg.Connection, client_id: str) -> dict | None:
    """One enabled client by id."""
    return conn.execute(
        "SELECT * FROM oauth_clients WHERE client_id = %(client_id)s AND NOT disabled",
        {"client_id": client_id},
    ).fetchone()


def client_exists(conn: psycopg.Connection, client_id: str) -> bool:
    """True when a client with this id exists (enabled or not)."""
    row = conn.execute(
        "SELECT 1 FROM oauth_clients WHERE client_id = %(client_id)s", {"client_id": client_id}
    ).fetchone()
    return row is not None
