"""Alert lifecycle: one live alert per (rule, subject, category), refreshed on re-evaluation,
resolved when its condition stops holding, acknowledged or resolved by people."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import psycopg

from shared.errors import ApiError, Conflict, NotFound
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
    conn: psycopg.Connection,
    alert_ids: Sequence[uuid.UUID],
    status: str,
    actor: str,
    *,
    teams: Sequence[str] | None,
    notify_base: str | None = None,
) -> list[dict]:
    """Acknowledge or resolve these alerts by hand, all of them or none (`lock_undecided` refuses
    before anything is written). Each change is kept in the history; a resolution is notified.
    The changed alerts in the order of `alert_ids`."""
    lock_undecided(conn, alert_ids, teams)
    changed = {
        row["alert_id"]: row
        for row in store_alerts.set_alert_statuses(conn, alert_ids, status, actor)
    }
    store_alerts.add_histories(conn, alert_ids, status, actor)
    updated = [changed[alert_id] for alert_id in alert_ids]
    if status == "resolved":
        for alert in updated:
            notify(conn, alert, "alert.resolved", notify_base)
        notifications.queue_evaluation(
            conn, [(alert, "alert.resolved") for alert in updated], datetime.now(UTC)
        )
    return updated


NOT_FOUND = "No alert with this id in your teams"
RESOLVED = "The alert is resolved already"


def lock_undecided(
    conn: psycopg.Connection, alert_ids: Sequence[uuid.UUID], teams: Sequence[str] | None
) -> None:
    """Lock these alerts for a decision: 404 naming the ids not found (or not in a team-scoped
    caller's `teams`), else 409 naming those resolved already."""
    found = {row["alert_id"]: row for row in store_alerts.lock_alerts(conn, alert_ids, teams)}
    missing = [alert_id for alert_id in alert_ids if alert_id not in found]
    if missing:
        raise refusal(NotFound, alert_ids, missing, NOT_FOUND)
    resolved = [alert_id for alert_id in alert_ids if found[alert_id]["status"] == "resolved"]
    if resolved:
        raise refusal(Conflict, alert_ids, resolved, RESOLVED)


def refusal(
    error: type[ApiError],
    alert_ids: Sequence[uuid.UUID],
    at_fault: Sequence[uuid.UUID],
    reason: str,
) -> ApiError:
    """`error` naming each alert at fault by its place in the request (`ids.3`) and its id."""
    bad = set(at_fault)
    detail = (
        f"{reason}."
        if len(alert_ids) == 1
        else f"{reason}: {len(bad)} of the {len(alert_ids)} alerts; none was changed."
    )
    return error(
        detail,
        errors=[
            {"field": f"ids.{index}", "reason": f"{reason}.", "id": str(alert_id)}
            for index, alert_id in enumerate(alert_ids)
            if alert_id in bad
        ],
    )


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
