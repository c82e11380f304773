"""The QA UI at scale: its pages on qa_svc over a year of validation log (N sessions, six checked
fields each, a third of them reviewed), against the review queue as it was computed before the
per-session summary (the whole log aggregated on every page), timed in the same run. Called by
bench/run.py (`--only qa-ui`)."""

from __future__ import annotations

import html
import os
import re
import time
import uuid

import psycopg

from bench.qa_quality import direct_qa_lead
from bench.trends import timed

FIELDS = ("engineer", "case_number", "languages", "record_type", "parts", "review")
# Each session's summary as qa_svc computed it from the whole log before migration 0007 (also
# the oracle of tests/integration/qa/test_session_summaries.py)
SESSIONS_FROM_THE_LOG = """
SELECT session_id, min(occurred_at) AS first_seen_at, max(occurred_at) AS last_seen_at,
       count(*) FILTER (WHERE outcome IN ('invalid', 'error')) AS errors,
       max(agent_version) AS agent_version,
       bool_or(invalid_count >= 3) AS restart_offered,
       (array_agg(confidence_overall ORDER BY event_id DESC)
            FILTER (WHERE confidence_overall IS NOT NULL))[1] AS confidence_overall
FROM (SELECT *, count(*) FILTER (WHERE outcome = 'invalid')
                OVER (PARTITION BY session_id, field) AS invalid_count
      FROM validation_events) e
GROUP BY session_id
"""
# The queue's first page as it was computed then: the baseline
QUEUE_FROM_THE_LOG = f"""
WITH sessions AS ({SESSIONS_FROM_THE_LOG})
SELECT s.*, coalesce(r.status, 'pending') AS status
FROM sessions s LEFT JOIN reviews r USING (session_id)
ORDER BY s.last_seen_at DESC, s.session_id DESC
LIMIT 50
"""


def generate(db_url: str, sessions: int) -> None:
    """`sessions` agent sessions over the last year, generated in SQL: six checks each (one in
    twenty invalid; one session in fifty enters a case number wrongly three times first), the
    review check carrying the confidence; a third of the older sessions reviewed."""
    with psycopg.connect(db_url, options="-c search_path=qa", autocommit=True) as conn:
        conn.execute(
            """
            INSERT INTO validation_events (session_id, source, step, field, outcome, code,
                                           attempt, agent_version, occurred_at,
                                           confidence_overall)
            SELECT s.id, 'check', f.step, f.field, c.outcome,
                   CASE WHEN c.outcome = 'invalid' THEN 'invalid_' || f.field END, a.attempt,
                   '3.7.' || (s.n %% 5), s.at + (f.step * 60 + a.attempt) * interval '1 second',
                   CASE WHEN f.field = 'review' THEN round((0.3 + 0.7 * random())::numeric, 4) END
            FROM (SELECT md5(%(run)s || n)::uuid AS id, n, n %% 50 = 0 AS retried,
                         now() - (n::float8 / %(sessions)s) * interval '365 days' AS at
                  FROM generate_series(1, %(sessions)s) n) s
            CROSS JOIN unnest(%(fields)s::text[]) WITH ORDINALITY AS f(field, step)
            CROSS JOIN LATERAL generate_series(
                1, CASE WHEN s.retried AND f.field = 'case_number' THEN 4 ELSE 1 END
            ) AS a(attempt)
            CROSS JOIN LATERAL (
                SELECT CASE WHEN s.retried AND f.field = 'case_number'
                            THEN CASE WHEN a.attempt < 4 THEN 'invalid' ELSE 'valid' END
                            WHEN random() < 0.05 THEN 'invalid' ELSE 'valid' END AS outcome
            ) c
            """,
            {"sessions": sessions, "fields": list(FIELDS), "run": uuid.uuid4().hex},
        )
        conn.execute(
            """
            INSERT INTO reviews (session_id, status, reviewer, first_seen_at, started_at,
                                 decided_at)
            SELECT session_id, 'reviewed', 'bench-lead', first_seen_at,
                   first_seen_at + interval '1 day', first_seen_at + interval '26 hours'
            FROM validation_sessions
            WHERE last_seen_at < now() - interval '7 days' AND get_byte(uuid_send(session_id), 0) < 85
            """
        )
        conn.execute("VACUUM ANALYZE validation_events")
        conn.execute("VACUUM ANALYZE validation_sessions")
        conn.execute("VACUUM ANALYZE reviews")


def bench_qa_ui(db_url: str, running, gateway_key, sessions: int, calls: int) -> dict:
    """p50/p95 of each QA UI page on qa_svc directly (as a QA lead the gateway forwarded), and
    of the baseline query, in the same run."""
    started = time.perf_counter()
    generate(db_url, sessions)
    seeding = time.perf_counter() - started
    lead = direct_qa_lead(running, gateway_key)
    base = running.urls["qa"] + "/qa"
    first = lead.get(base + "/", timeout=120)
    first.raise_for_status()
    newest = re.search(r'href="/qa/sessions/([0-9a-f-]{36})"', first.text).group(1)
    next_page = re.search(r'rel="next" href="/qa/([^"]+)"', first.text).group(1)
    pages = {
        "`/qa/` (the queue's first page)": "/",
        "`/qa/?has_errors=true&status=pending`": "/?has_errors=true&status=pending",
        "`/qa/` second page (by cursor)": "/" + html.unescape(next_page),
        "`/qa/sessions/<id>` (log, review form, next pending)": f"/sessions/{newest}",
        "`/qa/errors` (30 days)": "/errors",
        "`/qa/errors.csv` (30 days)": "/errors.csv",
        "`/qa/metrics` (30 days)": "/metrics",
    }
    for path in pages.values():  # pools, plans and caches warm, as in steady use
        for _ in range(3):
            lead.get(base + path, timeout=120).raise_for_status()
    load_before = os.getloadavg()[0]
    figures = {
        "sessions": sessions,
        "seeding_s": seeding,
        "pages": {
            name: timed(
                lambda i, path=path: lead.get(base + path, timeout=120).raise_for_status(), calls
            )
            for name, path in pages.items()
        },
    }
    with psycopg.connect(db_url, options="-c search_path=qa") as conn:
        figures["events"] = conn.execute("SELECT count(*) FROM validation_events").fetchone()[0]
        figures["reviewed"] = conn.execute("SELECT count(*) FROM reviews").fetchone()[0]
        figures["baseline"] = timed(
            lambda i: conn.execute(QUEUE_FROM_THE_LOG).fetchall(), max(3, min(calls, 5))
        )
    figures["load"] = (load_before, os.getloadavg()[0])
    return figures


def qa_ui_report(figures: dict, meta: dict) -> str:
    """The section of docs/benchmarks.md."""
    queue = figures["pages"]["`/qa/` (the queue's first page)"]
    baseline = figures["baseline"]
    lines = [
        "## QA UI at scale",
        "",
        f"{meta['date']} · {meta['machine']} · {figures['sessions']:,} sessions over a year, "
        f"{figures['events']:,} validation events, {figures['reviewed']:,} reviewed "
        f"(seeded in {figures['seeding_s']:.0f} s); each page on qa_svc directly, as a QA lead",
        "",
        "| page | p50 ms | p95 ms |",
        "|---|---:|---:|",
    ]
    for name, timing in figures["pages"].items():
        lines.append(f"| {name} | {timing['p50']:.1f} | {timing['p95']:.1f} |")
    lines += [
        f"| baseline: the queue's first page as computed before the per-session summary "
        f"(the whole log aggregated, SQL only) | {baseline['p50']:.1f} | {baseline['p95']:.1f} |",
        "",
        f"Load average (1 min) {figures['load'][0]:.1f} before and {figures['load'][1]:.1f} "
        "after the timed calls.",
        "",
        f"The queue reads the summary that a trigger keeps per session (migration 0007 of "
        f"qa_svc): its first page answers in {queue['p50']:.1f} ms at p50, "
        f"{baseline['p50'] / max(queue['p50'], 0.001):.0f}× faster than the baseline's SQL "
        "alone. Target: every page under 500 ms at p95: "
        f"**{'met' if all(t['p95'] < 500 for t in figures['pages'].values()) else 'not met'}**.",
    ]
    return "\n".join(lines) + "\n"
