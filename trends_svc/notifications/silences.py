"""Silences: managers silence their own teams' alerts (a team matcher is required of them),
admins anything; expiring is one call. Reasons are checked for personal data."""

from __future__ import annotations

import uuid
from datetime import datetime

import psycopg

from shared.errors import NotFound, Unprocessable, field_error
from shared.pii import find_pii
from shared.tokens import Principal
from trends_svc.notifications import store


def public(silence: dict, now: datetime) -> dict:
    return {**silence, "active": silence["starts_at"] <= now < silence["ends_at"]}


def create(conn: psycopg.Connection, principal: Principal, data: dict, now: datetime) -> dict:
    matchers = data["matchers"]
    if not matchers:
        raise Unprocessable(errors=[field_error("matchers", "Give at least one matcher.")])
    if principal.team_scoped and matchers.get("team") not in principal.teams:
        raise Unprocessable(errors=[field_error("matchers.team", "Give one of your own teams.")])
    if data["ends_at"] <= now:
        raise Unprocessable(errors=[field_error("ends_at", "Must lie in the future.")])
    findings = find_pii(data["reason"])
    if findings:
        raise Unprocessable(
            errors=[field_error("reason", f"Holds personal data ({findings[0].kind}).")]
        )
    silence = store.insert_silence(
        conn,
        {
            "silence_id": uuid.uuid4(),
            "matchers": matchers,
            "starts_at": now,
            "ends_at": data["ends_at"],
            "reason": data["reason"],
            "created_by": principal.subject,
        },
    )
    return public(silence, now)


def expire(
    conn: psycopg.Connection,
    principal: Principal,
    silence_id: uuid.UUID,
    teams: list[str] | None,
    now: datetime,
) -> dict:
    silence = store.get_silence(conn, silence_id, teams)
    if silence is None:
        raise NotFound("No silence with this id.")
    return public(store.expire_silence(conn, silence_id, principal.subject, now), now)


def listed(
    conn: psycopg.Connection, teams: list[str] | None, now: datetime, active_only: bool
) -> list[dict]:
    return [public(s, now) for s in store.list_silences(conn, teams, now, active_only)]
