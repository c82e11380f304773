"""Notifications at evaluation time (issue #26): an evaluation that opens 1,000 alerts across 100
teams, with one route per team (e-mail, Slack, Teams and webhook in turn) and one route for every
team, renders and queues its grouped messages. Measured in this process on the bench database:
the evaluation without routes (the baseline) and with them, and the grouping step that renders
the messages into the outbox, each round in a transaction that is rolled back."""

from __future__ import annotations

import os
import statistics
import time
import uuid
from datetime import UTC, datetime

import psycopg
from psycopg.rows import dict_row

import trends_svc.notifications as notifications
from trends_svc import alerts
from trends_svc.notifications import routing, sealing

TEAMS = 100
ENGINEERS_PER_TEAM = 10
KINDS = ("email", "slack", "teams", "webhook")
CATEGORIES = ("communication_issue", "knowledge_gap", "analytical_error", "process_issue", "other")
FERNET = sealing.fernet_for("bench-notifications-key")


def engineer(number: int) -> str:
    return "eng_" + str(number).rjust(24, "0").translate(str.maketrans("0123456789", "abcdefghij"))


def prepare(conn: psycopg.Connection) -> int:
    """Three sessions of one category for each of 1,000 engineers in 100 teams (each engineer a
    recurring issue; no team reaches the frequent-issue share), and the routes; returns routes."""
    conn.execute("TRUNCATE sessions, notification_channels CASCADE")
    conn.execute("DELETE FROM alerts")
    engineers = TEAMS * ENGINEERS_PER_TEAM
    conn.execute(
        """
        INSERT INTO sessions (session_id, engineer_code, team, region, languages, root_cause,
                              sentiment_score, confidence_overall, analysed_at)
        SELECT gen_random_uuid(), 'eng_' || translate(lpad((e)::text, 24, '0'),
                                                   '0123456789', 'abcdefghij'),
               'team-' || (e %% %(teams)s), 'EMEA', ARRAY['EN'],
               (%(categories)s::text[])[1 + (e / %(teams)s) %% 5], 0.5, 0.8,
               now() - make_interval(days => d)
        FROM generate_series(0, %(engineers)s - 1) AS e, generate_series(1, 3) AS d
        """,
        {"teams": TEAMS, "engineers": engineers, "categories": list(CATEGORIES)},
    )
    routes = 0
    for team in [*(f"team-{t}" for t in range(TEAMS)), None]:
        kind = KINDS[routes % len(KINDS)] if team else "slack"
        config = (
            {"recipients": [f"lead-{routes}@bench.example"]}
            if kind == "email"
            else {"url": f"https://hooks.bench.example/{routes}"}
        )
        channel_id = uuid.uuid4()
        conn.execute(
            "INSERT INTO notification_channels (channel_id, name, kind, sealed_config, "
            "masked_config, created_by) VALUES (%s, %s, %s, %s, '{}', 'bench')",
            [channel_id, f"bench-{routes}", kind, sealing.seal(FERNET, config)],
        )
        conn.execute(
            "INSERT INTO notification_routes (route_id, channel_id, teams, group_interval_seconds,"
            " confirmed_at, created_by) VALUES (%s, %s, %s, 0, now(), 'bench')",
            [uuid.uuid4(), channel_id, [team] if team else []],
        )
        routes += 1
    conn.commit()
    return routes


def one_round(conn: psycopg.Connection, routed: bool) -> dict:
    """One evaluation (rolled back); with `routed`, also the grouping into rendered messages.
    The evaluation's call of the notification queueing is timed on its own."""
    now = datetime.now(UTC)
    queued: list[float] = []
    original = notifications.queue_evaluation

    def timed_queue(*args):
        started = time.perf_counter()
        try:
            return original(*args)
        finally:
            queued.append(time.perf_counter() - started)

    notifications.queue_evaluation = timed_queue  # alerts.reconcile calls it by this name
    with conn.transaction(force_rollback=True):
        conn.execute(
            "UPDATE notification_routes SET confirmed_at = " + ("now()" if routed else "NULL")
        )
        started = time.perf_counter()
        counts = alerts.reconcile(conn, now)
        evaluated = time.perf_counter()
        messages = routing.flush(conn, now, "https://cr.example") if routed else 0
        flushed = time.perf_counter()
        size = conn.execute(
            "SELECT coalesce(sum(pg_column_size(message)), 0)::bigint AS b FROM notification_outbox"
        ).fetchone()["b"]
    notifications.queue_evaluation = original
    return {
        "queue_s": sum(queued),
        "opened": counts["opened"],
        "evaluation_s": evaluated - started,
        "flush_s": flushed - evaluated,
        "messages": messages,
        "bytes": size,
    }


def bench_notifications(db_url: str, rounds: int) -> dict:
    """Medians (and the worst of the rounds) of the evaluation without and with the routes."""
    with psycopg.connect(db_url, row_factory=dict_row, options="-c search_path=trends") as conn:
        routes = prepare(conn)
        plain, routed = [], []
        for _ in range(max(3, rounds * 2)):  # alternating: both see the same machine
            plain.append(one_round(conn, routed=False))
            routed.append(one_round(conn, routed=True))
        conn.execute("TRUNCATE sessions, notification_channels CASCADE")
        conn.commit()
    notify = [r["queue_s"] + r["flush_s"] for r in routed]
    return {
        "routes": routes,
        "rounds": len(routed),
        "opened": routed[0]["opened"],
        "messages": routed[0]["messages"],
        "bytes": routed[0]["bytes"],
        "plain_ms": statistics.median(p["evaluation_s"] for p in plain) * 1000,
        "routed_ms": statistics.median(r["evaluation_s"] for r in routed) * 1000,
        "queue_ms": statistics.median(r["queue_s"] for r in routed) * 1000,
        "flush_ms": statistics.median(r["flush_s"] for r in routed) * 1000,
        "load": os.getloadavg()[0],
        "notify_ms": statistics.median(notify) * 1000,
        "notify_max_ms": max(notify) * 1000,
    }


def notifications_report(figures: dict, meta: dict) -> str:
    """The benchmark section of notifications at evaluation time."""
    verdict = "met" if figures["notify_max_ms"] <= 1000 else "NOT met"
    return "\n".join(
        [
            "## Notifications: an evaluation that opens 1,000 alerts",
            "",
            f"Measured {meta['date']} on {meta['machine']}; {figures['opened']:,} alerts opened "
            f"by one evaluation across {TEAMS} teams, {figures['routes']} routes (one per team, "
            "e-mail, Slack, Teams and webhook in turn, and one for every team); in-process on the "
            f"bench database, median of {figures['rounds']} alternating rounds, each rolled back.",
            "",
            "| step | ms |",
            "|---|---|",
            f"| evaluation without routes (baseline) | {figures['plain_ms']:.0f} |",
            f"| evaluation with routes | {figures['routed_ms']:.0f} |",
            f"| of which queueing for the routes (matching, silences) | "
            f"{figures['queue_ms']:.0f} |",
            f"| grouping: {figures['messages']} messages rendered into the outbox "
            f"({figures['bytes'] / 1024:.0f} KiB) | {figures['flush_ms']:.0f} |",
            f"| notifications in all (queueing + grouping), median | {figures['notify_ms']:.0f} |",
            f"| notifications in all, worst round | {figures['notify_max_ms']:.0f} |",
            "",
            f"Target: rendered and queued in at most 1 s — {verdict} in every round "
            f"(worst {figures['notify_max_ms']:.0f} ms; 1-minute load average at the end "
            f"{figures['load']:.1f} on {meta['machine'].split(', ')[1]}). Delivery then runs in "
            "the worker's notification thread, 20 messages per round.",
        ]
    )
