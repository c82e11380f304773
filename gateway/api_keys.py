"""API keys: long-lived bearer secrets for agents that cannot run an OAuth flow (a GPT Action's
"API key" option).

A key is `cra_` + a 12-character public prefix + `.` + 43 characters of a random 256-bit secret.
Only the SHA-256 of the whole key is stored. A slow password hash (argon2, as for client secrets
and passwords) guards secrets a person chose and could be guessed; a key of 256 random bits cannot
be guessed, so a fast hash is as strong here, and it keeps a check per API call at microseconds
instead of the ~50 ms argon2 takes. The key is found by its prefix and its hash compared in
constant time.

Use is recorded without a write per call: `last_used_at` moves at most once a minute per key,
and the first use of a key on a (UTC) day is audited as `api_key.use`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence

import psycopg

from gateway import audit, store_api_keys
from gateway.bearer import TEAM_NAME, invalid_token
from gateway.clients import ROLES
from shared import db
from shared.tokens import Principal

KEY_MARK = "cra_"
PREFIX_LENGTH = 12
KEY_FORM = re.compile(rf"^{KEY_MARK}([0-9a-f]{{{PREFIX_LENGTH}}})\.[A-Za-z0-9_-]{{43}}$")
NAME_FORM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class ApiKeyError(ValueError):
    """An API key cannot be created or revoked as asked."""


def is_api_key(token: str) -> bool:
    """True when a bearer token is shaped like an API key (not a JWT)."""
    return token.startswith(KEY_MARK)


def subject_of(prefix: str) -> str:
    """The subject a key's calls act as (audit actor, rate-limit key): public, never the secret."""
    return f"api-key:{prefix}"


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(
    conn: psycopg.Connection,
    name: str,
    roles: Sequence[str],
    teams: Sequence[str] = (),
    *,
    expires_days: int | None = None,
) -> tuple[str, dict]:
    """Create a key; returns the key (shown once, stored only as a hash) and the stored row."""
    if not NAME_FORM.fullmatch(name):
        raise ApiKeyError(
            "the name must be 1-64 letters, digits, dots, underscores or hyphens "
            "(a label, not a person's name or e-mail)"
        )
    unknown = sorted(set(roles) - set(ROLES))
    if not roles or unknown:
        raise ApiKeyError(f"roles must be among {', '.join(ROLES)}")
    if any(not TEAM_NAME.fullmatch(team) for team in teams):
        raise ApiKeyError("a team must be 1-64 letters, digits, dots, underscores or hyphens")
    if expires_days is not None and expires_days < 1:
        raise ApiKeyError("--expires-days must be at least 1")
    if store_api_keys.live_api_key_named(conn, name):
        raise ApiKeyError("a key with this name exists already (revoke it first)")
    prefix = secrets.token_hex(PREFIX_LENGTH // 2)
    key = f"{KEY_MARK}{prefix}.{secrets.token_urlsafe(32)}"
    row = store_api_keys.insert_api_key(
        conn,
        prefix=prefix,
        name=name,
        key_hash=key_hash(key),
        roles=sorted(set(roles)),
        teams=sorted(set(teams)),
        expires_days=expires_days,
    )
    return key, row


def revoke_api_key(conn: psycopg.Connection, name: str) -> dict:
    """Revoke the live key with this name (every later call with it gets 401); returns its row."""
    row = store_api_keys.revoke_api_key(conn, name)
    if row is None:
        raise ApiKeyError("no live key has this name")
    return row


def verify_api_key(key: str) -> Principal:
    """The caller an API key stands for; the one invalid-token 401 for a malformed, unknown,
    revoked or expired key (an attacker learns nothing about which)."""
    match = KEY_FORM.fullmatch(key)
    if match is None:
        raise invalid_token()
    prefix = match[1]
    with db.connection() as conn:
        row = store_api_keys.get_api_key(conn, prefix)
        # compare even when no row was found, so that the answer takes the same time
        expected = row["key_hash"] if row else key_hash(KEY_MARK)
        if not hmac.compare_digest(expected, key_hash(key)) or row is None:
            raise invalid_token()
        if row["revoked_at"] is not None or row["expired"]:
            raise invalid_token()
        principal = Principal(
            subject=subject_of(prefix),
            roles=frozenset(row["roles"]),
            teams=frozenset(row["teams"]),
            kind="client",
        )
        if row["use_stale"]:
            noted = store_api_keys.note_api_key_use(conn, prefix)
    if row["use_stale"] and noted is not None and noted["first_today"]:
        audit.record("api_key.use", principal=principal, outcome="success", obj=f"api-key {prefix}")
    return principal
