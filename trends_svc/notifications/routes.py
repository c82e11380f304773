"""Routes: an admin's route to any channel, and a manager's self-service route to their own
e-mail address for their own teams only, active once the code e-mailed to it is confirmed."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime

import psycopg
from cryptography.fernet import Fernet

from shared.errors import Forbidden, NotFound, Unprocessable, field_error
from shared.tokens import Principal
from trends_svc.notifications import channels, delivery, render, store, store_queue

# Letters only: a run of digits in a message could read as a case number to the PII guard.
CODE_LETTERS = "abcdefghjkmnpqrstuvwxyz"
CODE_LENGTH = 10  # 23^10: about 4 * 10^13 codes


def new_code() -> str:
    return "".join(secrets.choice(CODE_LETTERS) for _ in range(CODE_LENGTH))


def code_hash(code: str) -> str:
    """What is stored of a confirmation code (a random code: a plain SHA-256 is enough)."""
    return hashlib.sha256(code.strip().encode()).hexdigest()


def public(route: dict, channel: dict | None = None) -> dict:
    """A route as answers show it (a self-service route's address masked)."""
    recipient = None
    if route["owner"] is not None and channel is not None:
        recipient = ", ".join(channel["masked_config"].get("recipients", []))
    return {
        **route,
        "self_service": route["owner"] is not None,
        "confirmed": route["confirmed_at"] is not None,
        "recipient": recipient,
    }


def _settings(data: dict) -> dict:
    return {name: data[name] for name in store.ROUTE_FIELDS if name != "channel_id"}


def _new_route(data: dict, principal: Principal, now: datetime, **fields) -> dict:
    """A route row from the request's settings, its creator and `fields` (target, owner, state)."""
    return {**_settings(data), "created_by": principal.subject, "created_at": now, **fields}


def create(
    conn: psycopg.Connection,
    fernet: Fernet,
    settings: delivery.DeliverySettings,
    principal: Principal,
    data: dict,
    now: datetime,
    dashboard_base: str,
) -> dict:
    """An admin's route to `channel_id`, or (`email`) a self-service route of the caller."""
    if "email" in data:
        return create_self_service(conn, fernet, settings, principal, data, now, dashboard_base)
    if not principal.has_role("admin"):
        raise Forbidden(
            "Managers subscribe their own address (`email`) to their own teams only.",
            errors=[field_error("channel_id", "Admins only.")],
        )
    channel = store.get_channel(conn, data["channel_id"])
    if channel is None or channel["owner"] is not None:
        raise Unprocessable(errors=[field_error("channel_id", "No channel with this id.")])
    route = store.insert_route(
        conn,
        _new_route(
            data,
            principal,
            now,
            route_id=uuid.uuid4(),
            channel_id=channel["channel_id"],
            owner=None,
            confirmation_hash=None,
            confirmed_at=now,
        ),
    )
    return public(route, channel)


def create_self_service(
    conn: psycopg.Connection,
    fernet: Fernet,
    settings: delivery.DeliverySettings,
    principal: Principal,
    data: dict,
    now: datetime,
    dashboard_base: str,
) -> dict:
    """A manager's route to their own address: their teams only (all of them when none are
    given); inactive until the code sent to the address comes back (proof it is theirs)."""
    teams = data["teams"] or sorted(principal.teams)
    if not principal.has_role("admin") and (not teams or not set(teams) <= principal.teams):
        raise Forbidden(
            "You can subscribe to your own teams' alerts only.",
            errors=[field_error("teams", "Only your own teams.")],
        )
    route_id = uuid.uuid4()
    channel = channels.create(
        conn,
        fernet,
        settings,
        {
            "name": f"self-service {route_id}",
            "kind": "email",
            "config": {"recipients": [data["email"]]},
        },
        principal.subject,
        owner=principal.subject,
    )
    code = new_code()
    route = store.insert_route(
        conn,
        _new_route(
            data,
            principal,
            now,
            teams=teams,
            route_id=route_id,
            channel_id=channel["channel_id"],
            owner=principal.subject,
            confirmation_hash=code_hash(code),
            confirmed_at=None,
        ),
    )
    content = render.simple_content(
        "CR Assistant: confirm your alert subscription",
        [
            f"Your confirmation code: {code}",
            f"Send it with POST /api/v1/notifications/routes/{route_id}/confirm "
            '{"code": "…"}. Nothing else is sent to this address before that.',
        ],
        f"{dashboard_base}/dashboard/alerts",
        "confirmation",
    )
    store_queue.enqueue_message(
        conn,
        channel_id=channel["channel_id"],
        route_id=route_id,
        purpose="confirmation",
        message=render.render("email", content),
        now=now,
    )
    return public(route, channel)


def owner_filter(principal: Principal) -> str | None:
    """None for an admin (every route), the subject for anyone else (their own routes)."""
    return None if principal.has_role("admin") else principal.subject


def get(conn: psycopg.Connection, principal: Principal, route_id: uuid.UUID) -> dict:
    route = store.get_route(conn, route_id, owner_filter(principal))
    if route is None:
        raise NotFound("No route with this id.")
    return route


def confirm(
    conn: psycopg.Connection, principal: Principal, route_id: uuid.UUID, code: str, now: datetime
) -> dict:
    route = get(conn, principal, route_id)
    if route["confirmed_at"] is None:
        confirmed = store.confirm_route(conn, route_id, code_hash(code), now)
        if confirmed is None:
            raise Unprocessable(errors=[field_error("code", "Not the code that was sent.")])
        route = confirmed
    return public(route, store.get_channel(conn, route["channel_id"]))


def update(conn: psycopg.Connection, route_id: uuid.UUID, data: dict) -> dict:
    """An admin changes an admin's route (a self-service route is deleted and made anew)."""
    route = store.get_route(conn, route_id, None)
    if route is None or route["owner"] is not None:
        raise NotFound("No route with this id.")
    if "email" in data:
        raise Unprocessable(errors=[field_error("email", "A route keeps its channel kind.")])
    channel = store.get_channel(conn, data["channel_id"])
    if channel is None or channel["owner"] is not None:
        raise Unprocessable(errors=[field_error("channel_id", "No channel with this id.")])
    return public(
        store.update_route(
            conn, route_id, {**_settings(data), "channel_id": channel["channel_id"]}
        ),
        channel,
    )


def delete(conn: psycopg.Connection, principal: Principal, route_id: uuid.UUID) -> None:
    """Delete a route; a self-service route takes its private channel with it."""
    route = get(conn, principal, route_id)
    store.delete_route(conn, route_id)
    if route["owner"] is not None:
        store.delete_channel(conn, route["channel_id"])


def listed(conn: psycopg.Connection, principal: Principal) -> list[dict]:
    routes = store.list_routes(conn, owner_filter(principal))
    by_channel = {}
    for route in routes:
        if route["owner"] is not None and route["channel_id"] not in by_channel:
            by_channel[route["channel_id"]] = store.get_channel(conn, route["channel_id"])
    return [public(route, by_channel.get(route["channel_id"])) for route in routes]
