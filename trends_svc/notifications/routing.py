"""Which alert events go where: routes match on teams, rules and categories (an empty list
matches all), silences hold matching alerts back, and the events of one route are grouped into
one message once group_wait has passed and group_interval since its last message; open alerts
come back after repeat_interval, resolved notices only for alerts the route announced."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import psycopg

from trends_svc.notifications import render, store, store_queue

MATCHERS = ("rule", "team", "engineer_code", "category")


def route_matches(route: dict[str, Any], alert: dict[str, Any]) -> bool:
    """True when every list the route gives holds the alert's value (empty lists match all)."""
    return (
        (not route["teams"] or alert["team"] in route["teams"])
        and (not route["rules"] or alert["rule"] in route["rules"])
        and (not route["categories"] or (alert["category"] or "") in route["categories"])
    )


def silenced_by(silence: dict[str, Any], alert: dict[str, Any]) -> bool:
    """True when every matcher the silence gives equals the alert's value."""
    return all(
        (alert.get(name) or "") == value
        for name, value in silence["matchers"].items()
        if name in MATCHERS
    )


def is_silenced(silences: Iterable[dict[str, Any]], alert: dict[str, Any]) -> bool:
    return any(silenced_by(silence, alert) for silence in silences)


def silenced_alerts(
    conn: psycopg.Connection, alerts: Sequence[dict[str, Any]], now: datetime | None = None
) -> set[uuid.UUID]:
    """Ids of those `alerts` that an active silence matches (lists mark them)."""
    if not alerts:
        return set()
    silences = store.active_silences(conn, now or datetime.now(UTC))
    return {alert["alert_id"] for alert in alerts if is_silenced(silences, alert)}


def queue_evaluation(
    conn: psycopg.Connection,
    changes: Sequence[tuple[dict[str, Any], str]],
    now: datetime,
) -> int:
    """Queue the (alert, event) changes of one evaluation for every matching route, leaving out
    silenced alerts; returns the events queued. Call it in the evaluation's transaction."""
    if not changes:
        return 0
    routes = store.active_routes(conn)
    if not routes:
        return 0
    silences = store.active_silences(conn, now)
    resolved = [alert["alert_id"] for alert, event in changes if event == "alert.resolved"]
    announced = store_queue.announced_pairs(conn, resolved) if resolved else set()
    if resolved:
        store_queue.drop_unsent_openings(conn, resolved)
    rows: list[tuple[uuid.UUID, uuid.UUID, str]] = []
    for alert, event in changes:
        if event != "alert.resolved" and is_silenced(silences, alert):
            continue
        for route in routes:
            if not route_matches(route, alert):
                continue
            if event == "alert.resolved" and (
                not route["send_resolved"]
                or (route["route_id"], alert["alert_id"]) not in announced
            ):
                continue
            rows.append((route["route_id"], alert["alert_id"], event))
    store_queue.add_pending(conn, rows, now)
    return len(rows)


def queue_repeats(conn: psycopg.Connection, now: datetime) -> int:
    """Queue again the open alerts whose route's repeat_interval has passed (unless silenced)."""
    candidates = store_queue.repeat_candidates(conn, now)
    if not candidates:
        return 0
    silences = store.active_silences(conn, now)
    rows = [
        (row["route_id"], row["alert_id"], "alert.repeat")
        for row in candidates
        if not is_silenced(silences, row)
    ]
    store_queue.add_pending(conn, rows, now)
    return len(rows)


def flush(conn: psycopg.Connection, now: datetime, dashboard_base: str) -> int:
    """Turn each due route's queued events into one rendered message in the outbox; returns the
    messages queued. Alerts silenced since they were queued stay out (resolved notices go).
    A fixed number of statements however many routes are due (a large evaluation's cost)."""
    routes = store_queue.routes_due(conn, now)
    if not routes:
        return 0
    silences = store.active_silences(conn, now)
    taken: dict[uuid.UUID, list[render.Notice]] = {route["route_id"]: [] for route in routes}
    for row in store_queue.take_pending(conn, list(taken)):
        if row["event"] == "alert.resolved" or not is_silenced(silences, row):
            taken[row["route_id"]].append(render.Notice(row["event"], row))
    messages, announced, resolved = [], [], []
    for route in routes:
        notices = taken[route["route_id"]]
        if not notices:
            continue
        content = render.alerts_content(notices, dashboard_base)
        messages.append(
            {
                "channel_id": route["channel_id"],
                "route_id": route["route_id"],
                "message": render.render(route["kind"], content),
                "alert_ids": [notice.alert["alert_id"] for notice in notices],
            }
        )
        for notice in notices:
            pair = (route["route_id"], notice.alert["alert_id"])
            (resolved if notice.event == "alert.resolved" else announced).append(pair)
    store_queue.enqueue_route_messages(conn, messages, now)
    store_queue.mark_routes_sent(conn, [m["route_id"] for m in messages], announced, resolved, now)
    return len(messages)
