"""The trends service: Compare History, rollups, threshold rules and alerts."""

from __future__ import annotations

from flask import Flask

from shared import db, metrics
from shared.config import secret_value
from shared.http import service_client
from shared.web import (
    add_metrics_refresher,
    add_ready_detail,
    build_app,
    register_api,
    register_database,
    register_internal_auth,
    settings_of,
)
from trends_svc import (
    alerts_api,  # noqa: F401 (it adds the alert routes to blp)
    notifications,
    store_feed,
    store_outbox,
)
from trends_svc.api import blp
from trends_svc.notifications.api import blp as notifications_blp


def create_app(config: dict | None = None) -> Flask:
    """Build the trends app; `config` overrides settings (tests)."""
    app = build_app("trends", __name__, config)
    # Settings that can stop the service are checked before the pool opens: a failed start
    # leaves no pool (and its threads) behind.
    notifications.register(app)
    register_database(app, schema="trends")
    register_internal_auth(app)
    register_feed(app)
    register_api(app, [blp, notifications_blp])
    add_metrics_refresher(app, lambda: publish_operational_metrics(app))
    add_ready_detail(app, "feed", lambda: feed_lag(app))
    return app


def feed_lag(app: Flask) -> dict:
    """How far the projection is behind the change feed, as the worker last saw it."""
    with app.app_context(), db.connection() as conn:
        state = store_feed.feed_state(conn)
    through = state["applied_through"]
    return {
        "lag_changes": state["pending"],
        "lag_seconds": round(state["lag_seconds"], 3),
        "projected_through": through.isoformat() if through else None,
        "updated_at": state["updated_at"].isoformat(),
    }


def publish_operational_metrics(app: Flask) -> None:
    """Alerts by state and the webhook outbox depth, read at scrape time."""
    with app.app_context(), db.connection() as conn:
        counts = store_outbox.operational_counts(conn, settings_of(app).webhook_max_attempts)
    for state, count in counts["alerts"].items():
        metrics.ALERTS.labels(state).set(count)
    for state, count in counts["outbox"].items():
        metrics.OUTBOX_DEPTH.labels(state).set(count)
    with app.app_context(), db.connection() as conn:
        channel_counts = notifications.delivery_counts(conn)
    for state in ("pending", "dead"):  # the channels' outbox: waiting, and dead letters
        metrics.OUTBOX_DEPTH.labels(f"channels_{state}").set(channel_counts[state])
    lag = feed_lag(app)  # also here: the worker's own series vanish when it stops
    metrics.record_feed_lag(lag["lag_changes"], lag["lag_seconds"])


def register_feed(app: Flask) -> None:
    """The client of the persistence change feed, and the pseudonym key for names."""
    settings = settings_of(app)
    app.extensions["pseudonym_key"] = secret_value(settings, "pseudonym_key").encode()
    # Notifications are queued only when a receiver is configured; links point at the dashboard.
    app.extensions["notify_base"] = settings.gateway_issuer if settings.alert_webhook_url else None
    if settings.alert_webhook_url:
        app.extensions["webhook_secret"] = secret_value(settings, "alert_webhook_secret")
    # The feed reader's own credential: persistence lets it read the change feed and nothing else.
    app.extensions["feed"] = service_client(settings, "trends", "persistence")
