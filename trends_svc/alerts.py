"""Alert lifecycle: one live alert per (rule, subject, category), refreshed on re-evaluation,
resolved when its condition stops holding, acknowledged or resolved by people."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import psycopg

from shared.errors import Conflict
from trends_svc import notifications, rules, store_alerts, store_outbox, webhooks


def thresholds_by_rule(conn: psycopg.Connection) -> dict[str, dict]:
    return {row["rule"]: row for row in store_alerts.list_thresholds(conn)}


def reconcile(
    conn: psycopg.Connection, now: datetime | None = None, notify_base: str | None = None
) -> dict[str, int]:
    """Evaluate every rule and bring the alerts in line; returns opened/updated/resolved counts.
    Call it in a transaction: evaluations run one at a time (a transaction-level advisory lock).

    With `notify_base` (the dashboard's base URL, set when a webhook is configured) every opened
    and resolved alert also queues a notification in the same transaction.
    """
    store_alerts.lock_evaluation(
        conn
    )  # before reading anything: then it sees what the last one wrote
    now = now or datetime.now(UTC)
    firings = {firing.key: firing for firing in rules.evaluate(conn, now, thresholds_by_rule(conn))}
    counts = {"opened": 0, "updated": 0, "resolved": 0}
    changes: list[tuple[dict, str]] = []  # for the notification routes, grouped per route
    for alert in store_alerts.live_alerts(conn):
        firing = firings.pop((alert["rule"], alert["subject"], alert["category"]), None)
        if firing is None:
            resolved = store_alerts.set_alert_status(conn, alert["alert_id"], "resolved", "system")
            store_alerts.add_history(conn, alert["alert_id"], "resolved", "system")
            notify(conn, resolved, "alert.resolved", notify_base)
            changes.append((resolved, "alert.resolved"))
            counts["resolved"] += 1
        elif firing.evidence != alert["evidence"]:
            store_alerts.update_evidence(conn, alert["alert_id"], firing.evidence, firing.team)
            counts["updated"] += 1
    for firing in firings.values():
        alert = {
            "alert_id": uuid.uuid4(),
            "rule": firing.rule,
            "scope": firing.scope,
            "engineer_code": firing.subject if firing.scope == "engineer" else None,
            "team": firing.team,
            "category": firing.category,
            "status": "open",
            "severity": rules.SEVERITY[firing.rule],
            "evidence": firing.evidence,
            "subject": firing.subject,
        }
        store_alerts.insert_alert(conn, alert)
        store_alerts.add_history(conn, alert["alert_id"], "open", "system", firing.evidence)
        notify(conn, alert, "alert.opened", notify_base)
        changes.append((alert, "alert.opened"))
        counts["opened"] += 1
    notifications.queue_evaluation(conn, changes, now)
    return counts


def notify(conn: psycopg.Connection, alert: dict, event: str, notify_base: str | None) -> None:
    """Queue a webhook notification when notifications are on."""
    if notify_base is not None:
        store_outbox.enqueue_notification(
            conn, alert["alert_id"], event, webhooks.payload(alert, event, notify_base)
        )


def decide(
    conn: psycopg.Connection, alert: dict, status: str, actor: str, notify_base: str | None = None
) -> dict:
    """Acknowledge or resolve an alert by hand; a resolved alert cannot be acknowledged."""
    if alert["status"] == "resolved":
        raise Conflict(
            "This alert is resolved already.",
            errors=[{"field": "status", "reason": "The alert is resolved."}],
        )
    updated = store_alerts.set_alert_status(conn, alert["alert_id"], status, actor)
    store_alerts.add_history(conn, alert["alert_id"], status, actor)
    if status == "resolved":
        notify(conn, updated, "alert.resolved", notify_base)
        notifications.queue_evaluation(conn, [(updated, "alert.resolved")], datetime.now(UTC))
    return updated


def public(alert: dict, silenced: bool = False) -> dict:
    """An alert as the API shows it; `silenced` when a silence holds its notifications back."""
    return {
        "id": alert["alert_id"],
        "rule": alert["rule"],
        "scope": alert["scope"],
        "engineer_code": alert["engineer_code"],
        "team": alert["team"],
        "category": alert["category"] or None,
        "status": alert["status"],
        "severity": alert["severity"],
        "evidence": alert["evidence"],
        "opened_at": alert["opened_at"],
        "updated_at": alert["updated_at"],
        "resolved_at": alert["resolved_at"],
        "acknowledged_at": alert["acknowledged_at"],
        "acknowledged_by": alert["acknowledged_by"],
        "silenced": silenced,
    }
