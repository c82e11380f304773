"""Channels: each kind's config checked, sealed at rest, shown masked; the test message."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
from cryptography.fernet import Fernet
from marshmallow import ValidationError, validate

from shared.errors import Conflict, NotFound, Unprocessable, field_error
from trends_svc.notifications import delivery, render, sealing, senders, store
from trends_svc.notifications.targets import TargetRefused, check_target

MAX_RECIPIENTS = 20
FIELDS = {"email": {"recipients"}, "slack": {"url"}, "teams": {"url"}, "webhook": {"url", "secret"}}
_email = validate.Email()


def checked_config(
    kind: str, config: dict[str, Any], settings: delivery.DeliverySettings
) -> dict[str, Any]:
    """The config of a `kind` channel, or 422 naming the field (never echoing its value)."""
    unknown = sorted(set(config) - FIELDS[kind])
    if unknown:
        raise Unprocessable(errors=[field_error(f"config.{unknown[0]}", "Unknown field.")])
    if kind == "email":
        recipients = config.get("recipients")
        if not isinstance(recipients, list) or not 1 <= len(recipients) <= MAX_RECIPIENTS:
            raise Unprocessable(
                errors=[field_error("config.recipients", "Give 1 to 20 e-mail addresses.")]
            )
        for position, address in enumerate(recipients):
            try:
                _email(address if isinstance(address, str) else "")
            except ValidationError:
                raise Unprocessable(
                    errors=[field_error(f"config.recipients.{position}", "Not an address.")]
                ) from None
        return {"recipients": recipients}
    url = config.get("url")
    if not isinstance(url, str) or len(url) > 2000:
        raise Unprocessable(errors=[field_error("config.url", "Give the receiver's URL.")])
    try:
        check_target(url, production=settings.production, allowed=settings.allowed_targets)
    except TargetRefused as exc:
        raise Unprocessable(errors=[field_error("config.url", str(exc))]) from None
    checked = {"url": url}
    if kind == "webhook" and config.get("secret") is not None:
        secret = config["secret"]
        if not isinstance(secret, str) or not 16 <= len(secret) <= 256:
            raise Unprocessable(errors=[field_error("config.secret", "Use 16 to 256 characters.")])
        checked["secret"] = secret
    return checked


def public(channel: dict) -> dict:
    """A channel as answers show it."""
    return {**channel, "config": channel["masked_config"]}


def create(
    conn: psycopg.Connection,
    fernet: Fernet,
    settings: delivery.DeliverySettings,
    data: dict,
    actor: str,
    owner: str | None = None,
) -> dict:
    config = checked_config(data["kind"], data["config"], settings)
    try:
        with conn.transaction():
            return store.insert_channel(
                conn,
                {
                    "channel_id": uuid.uuid4(),
                    "name": data["name"],
                    "kind": data["kind"],
                    "sealed_config": sealing.seal(fernet, config),
                    "masked_config": sealing.masked(config),
                    "owner": owner,
                    "created_by": actor,
                },
            )
    except psycopg.errors.UniqueViolation:
        raise Conflict(errors=[field_error("name", "A channel has this name.")]) from None


def admin_channel(conn: psycopg.Connection, channel_id: uuid.UUID) -> dict:
    """An admin's channel (a manager's self-service channel is managed through its route)."""
    channel = store.get_channel(conn, channel_id)
    if channel is None or channel["owner"] is not None:
        raise NotFound("No channel with this id.")
    return channel


def update(
    conn: psycopg.Connection,
    fernet: Fernet,
    settings: delivery.DeliverySettings,
    channel_id: uuid.UUID,
    data: dict,
) -> dict:
    """Replace name and config; fields left out of the config keep their stored values."""
    channel = admin_channel(conn, channel_id)
    if data["kind"] != channel["kind"]:
        raise Unprocessable(errors=[field_error("kind", "A channel keeps its kind.")])
    stored = sealing.unseal(fernet, channel["sealed_config"])
    config = checked_config(channel["kind"], {**stored, **data["config"]}, settings)
    try:
        with conn.transaction():
            return store.update_channel(
                conn,
                channel_id,
                {
                    "name": data["name"],
                    "sealed_config": sealing.seal(fernet, config),
                    "masked_config": sealing.masked(config),
                },
            )
    except psycopg.errors.UniqueViolation:
        raise Conflict(errors=[field_error("name", "A channel has this name.")]) from None


def send_test(
    conn: psycopg.Connection,
    fernet: Fernet,
    settings: delivery.DeliverySettings,
    channel_id: uuid.UUID,
    dashboard_base: str,
) -> dict:
    """Send a test message now (not through the outbox) and report the receiver's answer."""
    channel = admin_channel(conn, channel_id)
    content = render.simple_content(
        "CR Assistant: test message",
        [f"This channel ({channel['kind']}) receives the platform's alert notifications."],
        f"{dashboard_base}/dashboard/alerts",
        "test",
    )
    message = render.render(channel["kind"], content)
    try:
        sent = delivery.send(
            channel["kind"],
            sealing.unseal(fernet, channel["sealed_config"]),
            message,
            settings,
            delivery="test",
        )
    except senders.SendFailed as exc:
        return {"delivered": False, "answer": exc.answer}
    return {"delivered": True, "answer": sent.answer}
