"""The weekly digest: per route that asks for it, the teams' KPIs of the week against the week
before, new and still-open alerts and a dashboard link; sent once per period (the slot of
DIGEST_WEEKDAY at DIGEST_HOUR in DIGEST_TIMEZONE). The (route, period) key in PostgreSQL makes it
once however many workers look at the same moment."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

from trends_svc.notifications import render, routing, store, store_queue

WEEK = timedelta(days=7)
MAX_LISTED = 50


def latest_slot(now: datetime, weekday: int, hour: int, zone: str) -> datetime:
    """The most recent digest time at or before `now` (aware, in `zone`)."""
    tz = ZoneInfo(zone)
    local = now.astimezone(tz)
    day = local.date() - timedelta(days=(local.weekday() - weekday) % 7)
    slot = datetime.combine(day, time(hour), tzinfo=tz)
    if slot > local:
        slot = datetime.combine(day - WEEK, time(hour), tzinfo=tz)
    return slot


def _number(value: Any) -> str:
    return "–" if value is None else f"{value:.2f}"


def _change(current: Any, previous: Any) -> str:
    if current is None or previous is None:
        return ""
    return f" ({current - previous:+.2f})"


def digest_content(
    conn: psycopg.Connection, route: dict, slot: datetime, dashboard_base: str
) -> tuple[render.Content, str, list]:
    """What the digest of `route` for the week ending at `slot` says; also its HTML and the ids
    of the alerts it names."""
    start = slot - WEEK
    current = {row["team"]: row for row in store_queue.team_kpis(conn, route["teams"], start, slot)}
    previous = {
        row["team"]: row for row in store_queue.team_kpis(conn, route["teams"], start - WEEK, start)
    }
    teams = []
    for team in sorted(set(current) | set(previous)):
        now_row = current.get(team, {"sessions": 0, "sentiment": None, "confidence": None})
        before = previous.get(team, {"sessions": 0, "sentiment": None, "confidence": None})
        teams.append(
            {
                "team": team,
                "sessions": f"{now_row['sessions']} ({now_row['sessions'] - before['sessions']:+d})",
                "sentiment": _number(now_row["sentiment"])
                + _change(now_row["sentiment"], before["sentiment"]),
                "confidence": _number(now_row["confidence"])
                + _change(now_row["confidence"], before["confidence"]),
                "top_cause": now_row.get("top_cause") or "–",
            }
        )
    silences = store.active_silences(conn, slot)
    alerts = [
        row
        for row in store_queue.digest_alerts(conn, route, start)
        if routing.route_matches(route, row) and not routing.is_silenced(silences, row)
    ]
    new = [a for a in alerts if a["opened_at"] >= start]
    still_open = [a for a in alerts if a["opened_at"] < start and a["status"] != "resolved"]

    def line(alert: dict) -> str:
        row = render.alert_row(render.Notice("alert.opened", alert))
        return render.line_of(row).split(": ", 1)[1] + f" · {alert['status']}"

    week = f"{start.date().isoformat()} – {slot.date().isoformat()}"
    title = f"CR Assistant weekly digest, {week}"
    link = f"{dashboard_base}/dashboard/"
    lines = [
        *(
            f"Team {t['team']}: {t['sessions']} sessions, sentiment {t['sentiment']}, "
            f"confidence {t['confidence']}, top root cause {t['top_cause']}"
            for t in teams
        ),
        f"New alerts: {len(new)}",
        *(line(a) for a in new[:MAX_LISTED]),
        f"Still open: {len(still_open)}",
        *(line(a) for a in still_open[:MAX_LISTED]),
    ]
    payload = {
        "event": "digest",
        "period": {"from": start.isoformat(), "to": slot.isoformat()},
        "teams": teams,
        "new_alerts": [str(a["alert_id"]) for a in new],
        "open_alerts": [str(a["alert_id"]) for a in still_open],
        "dashboard_url": link,
    }
    html = render.DIGEST_HTML.render(
        title=title,
        teams=teams,
        new=[line(a) for a in new[:MAX_LISTED]],
        new_count=len(new),
        still_open=[line(a) for a in still_open[:MAX_LISTED]],
        open_count=len(still_open),
        link=link,
    )
    content = render.Content(title, lines, [], 0, link, payload)
    return content, html, [a["alert_id"] for a in new + still_open]


def send_due_digests(
    conn: psycopg.Connection, settings: Any, now: datetime, dashboard_base: str
) -> int:
    """Queue the digest of every route that asks for one and has none for the latest slot yet
    (routes created after the slot wait for the next); returns the digests queued. Call it in
    a transaction: the key and the message commit together."""
    slot = latest_slot(now, settings.digest_weekday, settings.digest_hour, settings.digest_timezone)
    queued = 0
    for route in store_queue.digest_routes(conn):
        if route["created_at"] > slot or not store_queue.claim_digest(
            conn, route["route_id"], slot.date()
        ):
            continue
        content, html, alert_ids = digest_content(conn, route, slot, dashboard_base)
        message = (
            render.email(content, html)
            if route["kind"] == "email"
            else render.render(route["kind"], content)
        )
        message_id = store_queue.enqueue_message(
            conn,
            channel_id=route["channel_id"],
            route_id=route["route_id"],
            purpose="digest",
            message=message,
            alert_ids=alert_ids,
            now=now,
        )
        store_queue.set_digest_message(conn, route["route_id"], slot.date(), message_id)
        queued += 1
    return queued
