"""OAuth clients: creation with a one-time secret, argon2 hashes, and the roles they carry.

Two kinds: machine clients (client credentials, acting with their own roles and teams) and
third-party agent clients (authorization code with a redirect URI, acting for the person who signs
in; see gateway/delegation.py)."""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Sequence
from urllib.parse import urlsplit

import psycopg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from gateway import store
from gateway.delegation import AGENT_SCOPE

ROLES = ("agent", "manager", "qa_lead", "admin")
DELEGATED_GRANT_TYPES = ("authorization_code", "refresh_token")
LOOPBACK_HOSTS = ("localhost",)
_hasher = PasswordHasher()


class ClientError(ValueError):
    """A client cannot be created as asked (unknown role, taken id, a redirect URI refused)."""


def redirect_uri_problem(uri: str) -> str | None:
    """Why `uri` cannot be registered as a redirect URI, or None when it can: an absolute https
    URL without a fragment, or http on a loopback host (127.0.0.1, ::1, localhost) for
    development. The reason never repeats the URI."""
    if not uri.isprintable() or len(uri) > 2000:
        return "a redirect URI must be a printable URL of at most 2000 characters"
    try:
        parts = urlsplit(uri)
        host = parts.hostname or ""
        parts.port  # noqa: B018 (raises on a port that is not a number)
    except ValueError:
        return "a redirect URI must be a URL"
    if parts.fragment or "#" in uri:
        return "a redirect URI must not have a fragment"
    if parts.scheme == "https" and host:
        return None
    if parts.scheme == "http" and _loopback(host):
        return None
    return "a redirect URI must use https (http only on 127.0.0.1, [::1] or localhost)"


def _loopback(host: str) -> bool:
    if host in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def create_client(
    conn: psycopg.Connection,
    name: str,
    roles: Sequence[str],
    teams: Sequence[str] = (),
    *,
    client_id: str | None = None,
    secret: str | None = None,
    redirect_uris: Sequence[str] = (),
    pkce_required: bool = True,
) -> tuple[str, str]:
    """Create a client and return its id and secret (the secret is stored only as a hash).

    With `redirect_uris` it is a third-party agent client: role `agent` only, no teams of its
    own (its tokens take the signing-in person's), grant types authorization_code and
    refresh_token, default scope `agent`; `pkce_required=False` lets it omit PKCE."""
    unknown = sorted(set(roles) - set(ROLES))
    if not roles or unknown:
        raise ClientError(f"roles must be among {', '.join(ROLES)}")
    if redirect_uris:
        if set(roles) != {"agent"} or teams:
            raise ClientError("a client with --redirect-uri takes --role agent only and no --team")
        for uri in redirect_uris:
            if problem := redirect_uri_problem(uri):
                raise ClientError(problem)
    elif not pkce_required:
        raise ClientError("--pkce optional applies to clients with --redirect-uri only")
    client_id = client_id or f"cr-{secrets.token_hex(8)}"
    if store.client_exists(conn, client_id):
        raise ClientError("a client with this id exists already")
    secret = secret or secrets.token_urlsafe(32)
    delegated = {
        "grant_types": DELEGATED_GRANT_TYPES,
        "redirect_uris": list(dict.fromkeys(redirect_uris)),
        "scope": AGENT_SCOPE,
        "pkce_required": pkce_required,
    }
    store.insert_client(
        conn,
        client_id=client_id,
        name=name,
        secret_hash=_hasher.hash(secret),
        roles=sorted(set(roles)),
        teams=sorted(set(teams)),
        **(delegated if redirect_uris else {}),
    )
    return client_id, secret


def register_agent_client(
    conn: psycopg.Connection,
    name: str,
    redirect_uris: Sequence[str],
    *,
    client_id: str,
    secret: str | None,
    approved: bool,
) -> None:
    """Store a client registered dynamically (RFC 7591): an agent client like `create-client
    --role agent --redirect-uri`, public (`secret` None: PKCE alone) or confidential, PKCE always
    required, and unusable until an admin approves it when `approved` is False."""
    if not redirect_uris:
        raise ClientError("a client must register at least one redirect URI")
    for uri in redirect_uris:
        if problem := redirect_uri_problem(uri):
            raise ClientError(problem)
    store.insert_client(
        conn,
        client_id=client_id,
        name=name,
        secret_hash=None if secret is None else _hasher.hash(secret),
        roles=["agent"],
        teams=[],
        grant_types=DELEGATED_GRANT_TYPES,
        redirect_uris=list(dict.fromkeys(redirect_uris)),
        scope=AGENT_SCOPE,
        approved=approved,
        registered_by="dynamic",
    )


def secret_matches(secret_hash: str | None, secret: str) -> bool:
    """True when `secret` is the one hashed into `secret_hash` (never for a public client)."""
    if secret_hash is None:
        return False
    try:
        return _hasher.verify(secret_hash, secret)
    except (VerificationError, InvalidHashError):
        return False
