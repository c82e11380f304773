"""OAuth clients: creation with a one-time secret, argon2 hashes, and the roles they carry."""

from __future__ import annotations

import secrets
from collections.abc import Sequence

import psycopg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from gateway import store

ROLES = ("agent", "manager", "qa_lead", "admin")
_hasher = PasswordHasher()


class ClientError(ValueError):
    """A client cannot be created as asked (unknown role, taken id)."""


def create_client(
    conn: psycopg.Connection,
    name: str,
    roles: Sequence[str],
    teams: Sequence[str] = (),
    *,
    client_id: str | None = None,
    secret: str | None = None,
) -> tuple[str, str]:
    """Create a client and return its id and secret (the secret is stored only as a hash)."""
    unknown = sorted(set(roles) - set(ROLES))
    if not roles or unknown:
        raise ClientError(f"roles must be among {', '.join(ROLES)}")
    client_id = client_id or f"cr-{secrets.token_hex(8)}"
    if store.client_exists(conn, client_id):
        raise ClientError("a client with this id exists already")
    secret = secret or secrets.token_urlsafe(32)
    store.insert_client(
        conn,
        client_id=client_id,
        name=name,
        secret_hash=_hasher.hash(secret),
        roles=sorted(set(roles)),
        teams=sorted(set(teams)),
    )
    return client_id, secret


def secret_matches(secret_hash: str, secret: str) -> bool:
    """True when `secret` is the one hashed into `secret_hash`."""
    try:
        return _hasher.verify(secret_hash, secret)
    except (VerificationError, InvalidHashError):
        return False
