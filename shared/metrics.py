"""Prometheus metrics: request counts and latencies by route and status (every service), the database
pool, and the platform's own series (import rows, the trends feed, alerts, the webhook outbox)."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

REQUESTS = Counter(
    "cr_http_requests_total", "HTTP requests answered", ["service", "method", "route", "status"]
)
LATENCY = Histogram(
    "cr_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["service", "route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
DB_POOL = Gauge(
    "cr_db_pool_connections", "Database pool connections by state", ["service", "state"]
)


IMPORT_ROWS = Counter(
    "cr_import_rows_total", "Rows of import files processed, by outcome", ["outcome", "dry_run"]
)
FEED_APPLIED = Counter(
    "cr_trends_feed_changes_applied_total", "Change-feed items applied to the trends projection"
)
FEED_CAUGHT_UP = Gauge(
    "cr_trends_feed_caught_up_timestamp_seconds",
    "When the active trends worker last reached the end of the change feed (lag = now - this)",
)
FEED_LAG_CHANGES = Gauge(
    "cr_trends_feed_lag_changes",
    "Changes committed in persistence that the trends projection has not applied yet",
)
FEED_LAG_SECONDS = Gauge(
    "cr_trends_feed_lag_seconds",
    "Age of the oldest change the trends projection has not applied yet (0 when caught up)",
)
ALERTS = Gauge("cr_alerts", "Alerts by state", ["state"])
OUTBOX_DEPTH = Gauge(
    "cr_webhook_outbox_depth",
    "Alert notifications waiting to be delivered (or given up)",
    ["state"],
)


def observe_request(service: str, method: str, route: str, status: int, seconds: float) -> None:
    """Count one answered request and record how long it took."""
    REQUESTS.labels(service, method, route, str(status)).inc()
    LATENCY.labels(service, route).observe(seconds)


def record_pool(service: str, stats: dict[str, int]) -> None:
    """Publish the pool's size and free connections (psycopg_pool `get_stats()`)."""
    DB_POOL.labels(service, "size").set(stats.get("pool_size", 0))
    DB_POOL.labels(service, "available").set(stats.get("pool_available", 0))
    DB_POOL.labels(service, "waiting").set(stats.get("requests_waiting", 0))


def record_feed_lag(changes: int, seconds: float) -> None:
    """Publish how far the trends projection is behind the change feed."""
    FEED_LAG_CHANGES.set(changes)
    FEED_LAG_SECONDS.set(seconds)


def exposition() -> tuple[bytes, dict[str, str]]:
    """The text exposition of the process registry and its content type."""
    return generate_latest(), {"Content-Type": CONTENT_TYPE_LATEST}
