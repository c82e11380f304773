"""Delegated tokens of third-party agent clients (a GPT Action, an MCP client): who may connect
one, what its tokens carry, and the consent each person gave it.

A delegated token acts as the agent within the signing-in person's teams: roles exactly
`{agent}` (never the person's own roles), teams the person's teams. An admin's delegation is
unrestricted (no teams: an agent without teams is not team-scoped); a manager without teams, a
QA lead, or anyone else cannot connect an agent client at all."""

from __future__ import annotations

import psycopg

from gateway import store

AGENT_SCOPE = "agent"
SCOPE_DESCRIPTIONS = {
    AGENT_SCOPE: "Act as the CR Assistant Agent within your teams: store analyses, run Compare "
    "History, check inputs and read validation logs. It cannot list sessions, trends, alerts or "
    "the audit trail, and never gets your own role.",
}


class NotDelegable(Exception):
    """This person cannot connect an agent client (neither an admin nor a manager with teams)."""


def may_delegate(user: dict) -> bool:
    """True for an admin, and for a manager who has at least one team."""
    roles = set(user["roles"])
    return "admin" in roles or ("manager" in roles and bool(user["teams"]))


def delegated_claims(user: dict, scope: str) -> dict:
    """`roles` and `teams` of a delegated access token for `user` (NotDelegable when they may not
    delegate). The agent role comes with the `agent` scope only."""
    if not may_delegate(user):
        raise NotDelegable()
    roles = [AGENT_SCOPE] if AGENT_SCOPE in (scope or "").split() else []
    teams = [] if "admin" in user["roles"] else sorted(user["teams"])
    return {"roles": roles, "teams": teams}


def scope_descriptions(scope: str) -> list[str]:
    """What each scope of `scope` lets the client do, in words for the consent page."""
    return [SCOPE_DESCRIPTIONS.get(part, part) for part in (scope or "").split()]


def consent_remembered(conn: psycopg.Connection, user_id, client_id: str, scope: str) -> bool:
    """True when the person approved this client for at least these scopes and has not revoked it."""
    row = store.get_consent(conn, user_id, client_id)
    return row is not None and set(scope.split()) <= set(row["scope"].split())


def remember_consent(conn: psycopg.Connection, user_id, client_id: str, scope: str) -> None:
    """Record an approval (replacing an earlier one of the same person and client)."""
    store.upsert_consent(conn, user_id, client_id, scope)


def revoke_consent(conn: psycopg.Connection, user_id, client_id: str) -> bool:
    """Forget the approval and end every refresh token the client holds for the person (the next
    authorization asks again); False when there was no approval."""
    found = store.delete_consent(conn, user_id, client_id)
    store.revoke_refresh_token_families_of(conn, user_id, client_id)
    return found
