"""Alert notifications (issue #26): channels (e-mail, Slack, Teams, webhook), routes with grouping,
repeat and resolved notices, silences, the weekly digest, delivery from the outbox.

Entry points: `queue_evaluation` (in the evaluation's transaction), `dispatch` (repeats, grouped
messages and digests that are due), `deliver` (one round of sending), `run` (the worker thread
doing both every second), `register` (the app's key, clock and API)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import psycopg
from flask import Flask, current_app

from shared import db
from shared.config import ConfigError, secret_value
from trends_svc.notifications import delivery, digest, routing, sealing
from trends_svc.notifications.routing import queue_evaluation, silenced_alerts
from trends_svc.notifications.store_queue import delivery_counts

POLL_SECONDS = 1.0
log = logging.getLogger("cr.trends.notifications")

__all__ = [
    "clock",
    "deliver",
    "delivery_counts",
    "dispatch",
    "queue_evaluation",
    "register",
    "run",
    "silenced_alerts",
]


def utc_now() -> datetime:
    return datetime.now(UTC)


def clock() -> datetime:
    """The current app's notion of now (tests move it)."""
    return current_app.extensions["notifications_clock"]()


def check_digest_schedule(settings: Any) -> None:
    """Stop the process at start on a digest schedule that cannot be (a typo in the zone name
    would otherwise fail every second in the worker's thread)."""
    try:
        ZoneInfo(settings.digest_timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError("DIGEST_TIMEZONE must be an IANA time zone, e.g. Europe/Berlin") from None
    if not 0 <= settings.digest_weekday <= 6 or not 0 <= settings.digest_hour <= 23:
        raise ConfigError("DIGEST_WEEKDAY must be 0-6 and DIGEST_HOUR 0-23")


def register(app: Flask) -> None:
    """The sealing key, the clock (tests replace it) and the dashboard base of links."""
    settings = app.extensions["settings"]
    check_digest_schedule(settings)
    app.extensions["notifications_fernet"] = sealing.fernet_for(
        secret_value(settings, "notifications_key")
    )
    app.extensions["notifications_clock"] = utc_now
    app.extensions["notifications_delivery"] = delivery.DeliverySettings.of(settings)
    app.extensions["dashboard_base"] = settings.gateway_issuer.rstrip("/")


def dispatch(conn: psycopg.Connection, app: Flask, now: datetime) -> dict[str, int]:
    """Queue repeats, turn due groups into messages and queue due digests, in one transaction."""
    base = app.extensions["dashboard_base"]
    with conn.transaction():
        repeats = routing.queue_repeats(conn, now)
        messages = routing.flush(conn, now, base)
        digests = digest.send_due_digests(conn, app.extensions["settings"], now, base)
    return {"repeats": repeats, "messages": messages, "digests": digests}


def deliver(conn: psycopg.Connection, app: Flask, now: datetime, http: Any = None) -> dict:
    """One round of delivery from the outbox."""
    kwargs = {"http": http} if http is not None else {}
    return delivery.deliver_due(
        conn,
        app.extensions["notifications_fernet"],
        app.extensions["notifications_delivery"],
        now,
        **kwargs,
    )


def run(app: Flask, stop: threading.Event, clock: Callable[[], datetime] | None = None) -> None:
    """The worker's notification thread: dispatch and deliver every second until `stop`. Any
    number of replicas may run it: routes and messages are locked (SKIP LOCKED), digests keyed."""
    clock = clock or app.extensions["notifications_clock"]
    with app.app_context():
        while not stop.is_set():
            try:
                with db.pool().connection() as conn:
                    dispatch(conn, app, clock())
                    deliver(conn, app, clock())
            except Exception:
                log.exception("notification cycle failed; retrying")
            stop.wait(POLL_SECONDS)
