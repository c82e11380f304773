"""The QA quality report at scale: `GET /qa/quality?group_by=agent_version` over N scored reviews
(through the gateway as a QA lead, and on qa_svc directly), against the same answer computed from
the reviews themselves without the rollup. Called by bench/run.py (`--only qa-quality`)."""

from __future__ import annotations

import os
import time
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import requests
from psycopg.types.json import Jsonb

from bench.trends import timed
from shared.tokens import Principal, sign_internal_token

VERSIONS = 12  # released one after another over the year, each overlapping the next
REVIEWERS = 20
CRITERIA = [
    {"key": "root_cause", "label": "Root cause correct", "weight": 3, "scale": "1-5"},
    {"key": "sentiment", "label": "Sentiment plausible", "weight": 1, "scale": "1-5"},
    {"key": "translation", "label": "Translation faithful", "weight": 2, "scale": "na_allowed_1-5"},
    {"key": "coaching", "label": "Coaching advice usable", "weight": 2, "scale": "1-5"},
    {"key": "spec", "label": "Spec messages followed", "weight": 1, "scale": "pass_fail"},
]
# The report without the rollup: every review read and grouped (what a naive query does)
RAW_REPORT = """
SELECT agent_version, c.key, count(*), avg(c.value::text::float8)
FROM scored_reviews r CROSS JOIN LATERAL jsonb_each(r.criterion_scores) c
GROUP BY 1, 2
UNION ALL
SELECT agent_version, '', count(*), avg(quality_score) FROM scored_reviews GROUP BY 1
"""


def generate(db_url: str, reviews: int) -> None:
    """`reviews` scored reviews over the last year (generated in SQL) and their daily rollup,
    built from them as the write path keeps it."""
    with psycopg.connect(db_url, autocommit=True, options="-c search_path=qa") as conn:
        conn.execute("TRUNCATE scored_reviews, quality_rollup, quality_version_rollup, reviewers")
        conn.execute("DELETE FROM scorecards")
        card = uuid.uuid4()
        conn.execute(
            "INSERT INTO scorecards (scorecard_id, family_id, version, name, criteria, "
            "is_default, created_by) VALUES (%s, %s, 1, 'Bench', %s, true, 'bench')",
            [card, card, Jsonb(CRITERIA)],
        )
        conn.execute(
            "INSERT INTO reviewers (reviewer_id, display_name) "
            "SELECT 'bench-' || i, 'Reviewer ' || i FROM generate_series(1, %s) AS i",
            [REVIEWERS],
        )
        conn.execute(
            """
            INSERT INTO scored_reviews (session_id, reviewer_id, scorecard_id, agent_version,
                                        ratings, comments, criterion_scores, quality_score,
                                        scored_at)
            SELECT gen_random_uuid(), 'bench-' || (1 + i %% %(reviewers)s), %(card)s,
                   '3.' || least(%(versions)s - 1,
                                 greatest(0, (i::bigint * %(versions)s / %(rows)s)
                                             + (i %% 7 = 0)::int - 1)) || '.0',
                   '{}', '{}', s.scores, s.total,
                   now() - make_interval(secs => ((%(rows)s - i)::bigint * 31536000 / %(rows)s))
            FROM generate_series(1, %(rows)s) AS i
            CROSS JOIN LATERAL (
                SELECT jsonb_build_object('root_cause', a * 25, 'sentiment', b * 25,
                                          'coaching', c * 25, 'spec', (i %% 5 <> 0)::int * 100)
                       || CASE WHEN i %% 4 = 0 THEN '{}'::jsonb
                               ELSE jsonb_build_object('translation', d * 25) END AS scores,
                       (3 * a * 25 + b * 25 + 2 * c * 25 + (i %% 5 <> 0)::int * 100
                        + CASE WHEN i %% 4 = 0 THEN 0 ELSE 2 * d * 25 END)::float8
                       / CASE WHEN i %% 4 = 0 THEN 7 ELSE 9 END AS total
                FROM (SELECT i %% 5 AS a, (i / 5) %% 5 AS b, (i / 25) %% 5 AS c,
                             (i / 125) %% 5 AS d) AS r
            ) AS s
            """,
            {"rows": reviews, "reviewers": REVIEWERS, "versions": VERSIONS, "card": card},
        )
        conn.execute(
            """
            INSERT INTO quality_rollup
            SELECT (scored_at AT TIME ZONE 'UTC')::date, agent_version, reviewer_id, c.criterion,
                   count(*), sum(c.score), sum(c.score * c.score)
            FROM scored_reviews r CROSS JOIN LATERAL (
                SELECT '' AS criterion, r.quality_score AS score
                UNION ALL SELECT key, value::text::float8 FROM jsonb_each(r.criterion_scores)
            ) c
            GROUP BY 1, 2, 3, 4
            """
        )
        conn.execute(
            """
            INSERT INTO quality_version_rollup
            SELECT day, agent_version, criterion, sum(reviews), sum(score_sum), sum(score_sumsq)
            FROM quality_rollup GROUP BY 1, 2, 3
            """
        )
        conn.execute("ANALYZE scored_reviews")
        conn.execute("ANALYZE quality_version_rollup")
        conn.execute("ANALYZE quality_rollup")


def direct_qa_lead(running, gateway_key) -> requests.Session:
    """A session that calls qa_svc directly as a QA lead the gateway forwarded (qa_svc started
    when it is not running yet)."""
    if "qa" not in running.children:
        running.start("qa")
    token = sign_internal_token(
        Principal("bench-lead", frozenset({"qa_lead"}), kind="user", name="Bench Lead"),
        gateway_key,
        audience="qa",
        ttl=3600,
    )
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    return session


def bench_qa_quality(db_url: str, running, lead_token: str, gateway_key, reviews: int, calls: int):
    """p50/p95 of the report by agent version (gateway, direct, and with a period whose ends
    fall inside a day), and of the raw query without the rollup, in the same run."""
    started = time.perf_counter()
    generate(db_url, reviews)
    seeding = time.perf_counter() - started
    direct = direct_qa_lead(running, gateway_key)
    gateway = requests.Session()
    gateway.headers["Authorization"] = f"Bearer {lead_token}"
    path = "/api/v1/qa/quality"
    since = (datetime.now(UTC) - timedelta(days=90, hours=5)).isoformat()
    answer = direct.get(running.urls["qa"] + path, timeout=60)
    answer.raise_for_status()
    items = answer.json()["items"]
    assert sum(item["reviews"] for item in items) == reviews, items
    warm = max(3, calls // 10)
    for _ in range(warm):  # connection pools and plans warm, as in steady use
        gateway.get(running.gateway + path, params={"group_by": "agent_version"}, timeout=60)
    load_before = os.getloadavg()[0]
    figures = {
        "reviews": reviews,
        "versions": len(items),
        "flagged": sum(1 for item in items if item["change"] and item["change"]["flagged"]),
        "seeding_s": seeding,
        "gateway": timed(
            lambda i: gateway.get(
                running.gateway + path, params={"group_by": "agent_version"}, timeout=60
            ).raise_for_status(),
            calls,
        ),
        "direct": timed(
            lambda i: direct.get(
                running.urls["qa"] + path, params={"group_by": "agent_version"}, timeout=60
            ).raise_for_status(),
            calls,
        ),
        "direct_period": timed(
            lambda i: direct.get(
                running.urls["qa"] + path,
                params={"group_by": "agent_version", "from": since},
                timeout=60,
            ).raise_for_status(),
            calls,
        ),
    }
    # the floor of any QA call on this machine now: a one-row read through the same layers
    figures["floor_gateway"] = timed(
        lambda i: gateway.get(
            running.gateway + "/api/v1/qa/scorecards", timeout=60
        ).raise_for_status(),
        calls,
    )
    figures["floor_direct"] = timed(
        lambda i: direct.get(
            running.urls["qa"] + "/api/v1/qa/scorecards", timeout=60
        ).raise_for_status(),
        calls,
    )
    figures["load"] = (load_before, os.getloadavg()[0])
    with psycopg.connect(db_url, options="-c search_path=qa") as conn:
        figures["raw_sql"] = timed(
            lambda i: conn.execute(RAW_REPORT).fetchall(), max(3, min(calls, 20))
        )
    return figures


def qa_quality_report(figures: dict, meta: dict) -> str:
    """The section of docs/benchmarks.md."""
    p95 = figures["gateway"]["p95"]
    lines = [
        "## QA quality report by agent version (issue #27)",
        "",
        f"{meta['date']} · {meta['machine']} · {figures['reviews']:,} scored reviews over a year, "
        f"{figures['versions']} agent versions, {REVIEWERS} reviewers, 5 criteria "
        f"(seeded in {figures['seeding_s']:.0f} s)",
        "",
        "| call | p50 ms | p95 ms |",
        "|---|---:|---:|",
        f"| `GET /qa/quality?group_by=agent_version` through the gateway (QA lead) | "
        f"{figures['gateway']['p50']:.1f} | {p95:.1f} |",
        f"| the same on qa_svc directly | {figures['direct']['p50']:.1f} | "
        f"{figures['direct']['p95']:.1f} |",
        f"| directly, `from` 90 days and 5 hours ago (a part of a day read from the reviews) | "
        f"{figures['direct_period']['p50']:.1f} | {figures['direct_period']['p95']:.1f} |",
        f"| baseline: the same figures by SQL over the reviews, without the rollup | "
        f"{figures['raw_sql']['p50']:.1f} | {figures['raw_sql']['p95']:.1f} |",
        f"| floor: `GET /qa/scorecards` (one row) through the gateway | "
        f"{figures['floor_gateway']['p50']:.1f} | {figures['floor_gateway']['p95']:.1f} |",
        f"| floor: the same on qa_svc directly | {figures['floor_direct']['p50']:.1f} | "
        f"{figures['floor_direct']['p95']:.1f} |",
        "",
        f"Load average (1 min) {figures['load'][0]:.1f} before and {figures['load'][1]:.1f} after "
        "the timed calls (other work on the machine inflates every figure alike).",
        "",
        f"Target p95 ≤ 50 ms through the gateway: **{'met' if p95 <= 50 else 'not met'}** "
        f"({p95:.1f} ms). The rollup (reviews summed per day, agent version and criterion, "
        f"kept in the transaction that saves a review) answers "
        f"{figures['raw_sql']['p50'] / max(figures['direct']['p50'], 0.001):.0f}× faster at "
        "p50 than reading every review.",
    ]
    return "\n".join(lines) + "\n"
