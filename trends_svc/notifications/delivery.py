"""Delivery from the outbox: each due message is sent to its channel; a failure is retried with
exponential backoff until the last attempt makes it a dead letter; a message that cannot be
tried yet (SMTP_URL unset) waits without using up attempts. Nothing is lost while a receiver or
the mail server is down: the message stays in the outbox until it is accepted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
import requests
from cryptography.fernet import Fernet

from trends_svc.notifications import sealing, senders, store_queue

BATCH = 20
MAX_DELAY_SECONDS = 600.0
WAIT_SECONDS = 60.0  # before looking again at a message that could not be tried


@dataclass(frozen=True)
class DeliverySettings:
    """What delivery needs from the configuration."""

    smtp_url: str
    production: bool
    allowed_targets: tuple[str, ...]
    backoff_seconds: float
    max_attempts: int

    @classmethod
    def of(cls, settings: Any) -> DeliverySettings:
        return cls(
            smtp_url=settings.smtp_url,
            production=settings.production,
            allowed_targets=tuple(settings.notifications_allowed_targets),
            backoff_seconds=settings.webhook_backoff_seconds,
            max_attempts=settings.webhook_max_attempts,
        )


def send(
    kind: str,
    config: dict[str, Any],
    message: dict[str, Any],
    settings: DeliverySettings,
    *,
    delivery: str,
    http: Any = requests,
) -> senders.Sent:
    """Send one rendered message to a channel (raises senders.SendFailed)."""
    if kind == "email":
        return senders.send_email(settings.smtp_url, config, message)
    return senders.send_json(
        config,
        message["json"],
        kind=kind,
        delivery=delivery,
        production=settings.production,
        allowed=settings.allowed_targets,
        http=http,
    )


def deliver_due(
    conn: psycopg.Connection,
    fernet: Fernet,
    settings: DeliverySettings,
    now: datetime,
    *,
    http: Any = requests,
) -> dict[str, int]:
    """Send the messages that are due (one batch); returns delivered, failed, dead, waiting."""
    counts = {"delivered": 0, "failed": 0, "dead": 0, "waiting": 0}
    with conn.transaction():
        for item in store_queue.due_messages(conn, BATCH, now):
            try:
                config = sealing.unseal(fernet, item["sealed_config"])
                send(
                    item["kind"],
                    config,
                    item["message"],
                    settings,
                    delivery=str(item["message_id"]),
                    http=http,
                )
            except senders.NotConfigured as exc:
                retry_at = now + timedelta(seconds=WAIT_SECONDS)
                store_queue.mark_failed(conn, item["message_id"], str(exc), retry_at, counted=False)
                counts["waiting"] += 1
            except (senders.SendFailed, sealing.SealError) as exc:
                attempts = item["attempts"] + 1
                dead = attempts >= settings.max_attempts
                delay = min(MAX_DELAY_SECONDS, settings.backoff_seconds * 2 ** item["attempts"])
                store_queue.mark_failed(
                    conn,
                    item["message_id"],
                    str(exc),
                    now + timedelta(seconds=delay),
                    dead=dead,
                )
                counts["dead" if dead else "failed"] += 1
            else:
                store_queue.mark_delivered(conn, item["message_id"], now)
                counts["delivered"] += 1
    return counts
