"""Alert notifications: queued in the same transaction as the alert change, delivered later from
the outbox with an HMAC signature, retried with exponential backoff, never blocking evaluation."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

import psycopg
import requests

from trends_svc import store_outbox

BATCH = 20
MAX_DELAY_SECONDS = 600.0


def payload(alert: dict[str, Any], event: str, dashboard_base: str) -> dict[str, Any]:
    """The JSON a receiver gets: the alert's identity, state and evidence, and where to look."""
    return {
        "event": event,
        "alert": {
            "id": str(alert["alert_id"]),
            "rule": alert["rule"],
            "scope": alert["scope"],
            "engineer_code": alert["engineer_code"],
            "team": alert["team"],
            "category": alert["category"] or None,
            "status": alert["status"],
            "severity": alert["severity"],
            "evidence": alert["evidence"],
        },
        "dashboard_url": f"{dashboard_base}/dashboard/alerts?alert={alert['alert_id']}",
        "sent_at": datetime.now(UTC).isoformat(),
    }


def signature(body: bytes, secret: str) -> str:
    """`sha256=<hex>` of the body under the shared secret (receivers compare in constant time)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def deliver_due(
    conn: psycopg.Connection,
    *,
    url: str,
    secret: str,
    backoff: float,
    max_attempts: int,
    session: requests.Session | None = None,
) -> dict[str, int]:
    """Send the notifications that are due; returns how many were delivered and failed."""
    http = session or requests
    counts = {"delivered": 0, "failed": 0}
    with conn.transaction():
        for item in store_outbox.due_notifications(conn, BATCH, max_attempts):
            body = json.dumps(item["payload"], separators=(",", ":")).encode()
            try:
                response = http.post(
                    url,
                    data=body,
                    timeout=5,
                    allow_redirects=False,
                    headers={
                        "Content-Type": "application/json",
                        "X-CR-Event": item["event"],
                        "X-CR-Delivery": str(item["delivery_id"]),
                        "X-CR-Signature": signature(body, secret),
                    },
                )
                error = (
                    None if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"
                )
            except requests.RequestException as exc:
                error = type(exc).__name__
            if error is None:
                store_outbox.mark_delivered(conn, item["delivery_id"])
                counts["delivered"] += 1
            else:
                delay = min(MAX_DELAY_SECONDS, backoff * 2 ** item["attempts"])
                store_outbox.mark_failed(conn, item["delivery_id"], error, delay)
                counts["failed"] += 1
    return counts
