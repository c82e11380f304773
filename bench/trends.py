"""Compare History and trend summaries at scale: the trends service over rollups vs the same
numbers computed from raw session rows. Called by bench/run.py (`make bench`)."""

from __future__ import annotations

import random
import statistics
import threading
import time

import psycopg
import requests

ENGINEERS = 5000
TEAMS = 100


# Digits become letters: an engineer_code is base32 (a-z, 2-7), and the API checks that.
DIGIT_LETTERS = str.maketrans("0123456789", "abcdefghij")


def engineer_code(number: int) -> str:
    """The synthetic engineer_code of engineer `number`, as generate() writes it."""
    return "eng_" + str(number).rjust(24, "0").translate(DIGIT_LETTERS)


def generate(db_url: str, rows: int) -> None:
    """`rows` projected sessions over two years (generated in SQL) and their rollups."""
    with psycopg.connect(db_url, autocommit=True, options="-c search_path=trends") as conn:
        conn.execute("TRUNCATE sessions, team_weekly, team_language_weekly")
        conn.execute(
            """
            INSERT INTO sessions (session_id, engineer_code, team, region, languages, root_cause,
                                  sentiment_score, confidence_overall, analysed_at)
            SELECT gen_random_uuid(), 'eng_' || translate(lpad((i %% %(engineers)s)::text, 24, '0'),
                                                       '0123456789', 'abcdefghij'),
                   'team-' || ((i %% %(engineers)s) %% %(teams)s),
                   (ARRAY['EMEA', 'AMER', 'APAC'])[1 + (i %% %(engineers)s) %% 3],
                   CASE WHEN i %% 3 = 0 THEN ARRAY['EN'] ELSE ARRAY['EN', 'DE'] END,
                   (ARRAY['communication_issue', 'knowledge_gap', 'analytical_error',
                          'process_issue', 'other'])[1 + i %% 5],
                   (i %% 100) / 100.0, 0.5 + (i %% 50) / 100.0,
                   now() - make_interval(secs => (i::bigint * 63072000 / %(rows)s))
            FROM generate_series(1, %(rows)s) AS i
            """,
            {"rows": rows, "engineers": ENGINEERS, "teams": TEAMS},
        )
        conn.execute(
            """
            INSERT INTO team_weekly
            SELECT team, coalesce(region, ''), date_trunc('week', analysed_at AT TIME ZONE 'UTC')::date,
                   root_cause, count(*), sum(sentiment_score), sum(confidence_overall)
            FROM sessions GROUP BY 1, 2, 3, 4
            """
        )
        conn.execute(
            """
            INSERT INTO team_language_weekly
            SELECT team, coalesce(region, ''), date_trunc('week', analysed_at AT TIME ZONE 'UTC')::date,
                   language, root_cause, count(*), sum(sentiment_score), sum(confidence_overall)
            FROM sessions, unnest(languages) AS language GROUP BY 1, 2, 3, 4, 5
            """
        )
        # What autovacuum does after these inserts (migration 0004 has it run after 1 % new rows):
        # statistics and the visibility map that index-only scans rely on.
        conn.execute("VACUUM ANALYZE")


def timed(call, count: int) -> dict:
    samples = []
    for i in range(count):
        started = time.perf_counter()
        call(i)
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return {"p50": statistics.median(samples), "p95": samples[int(0.95 * (len(samples) - 1))]}


RAW_HISTORY = """
SELECT count(*) FILTER (WHERE analysed_at > now() - interval '30 days') AS current_sessions,
       avg(sentiment_score) FILTER (WHERE analysed_at > now() - interval '30 days') AS cs,
       avg(confidence_overall) FILTER (WHERE analysed_at > now() - interval '30 days') AS cc,
       count(*) FILTER (WHERE analysed_at <= now() - interval '30 days') AS previous_sessions,
       avg(sentiment_score) FILTER (WHERE analysed_at <= now() - interval '30 days') AS ps,
       avg(confidence_overall) FILTER (WHERE analysed_at <= now() - interval '30 days') AS pc,
       jsonb_object_agg(root_cause, 1) AS causes
FROM sessions WHERE engineer_code = %(code)s AND analysed_at > now() - interval '60 days'
"""
RAW_TIMELINE = """
SELECT date_trunc('week', analysed_at), count(*), avg(sentiment_score), avg(confidence_overall)
FROM sessions WHERE engineer_code = %(code)s AND analysed_at > now() - interval '84 days'
GROUP BY 1 ORDER BY 1
"""
RAW_WEEKLY = """
SELECT date_trunc('week', analysed_at), region, count(*), avg(sentiment_score),
       avg(confidence_overall), mode() WITHIN GROUP (ORDER BY root_cause)
FROM sessions WHERE team = %(team)s AND analysed_at > now() - interval '365 days'
GROUP BY 1, 2 ORDER BY 1
"""
RAW_LANGUAGES = """
SELECT date_trunc('week', analysed_at), language, count(*), avg(sentiment_score)
FROM sessions, unnest(languages) AS language
WHERE team = %(team)s AND analysed_at > now() - interval '365 days'
GROUP BY 1, 2 ORDER BY 1
"""


def bench_trends(db_url: str, trends_url: str, headers: dict, rows: int, calls: int) -> dict:
    """p50/p95 of the service's answers and of the raw-row baselines in the same run."""
    generate(db_url, rows)
    rng = random.Random(7)
    engineers = [engineer_code(rng.randrange(ENGINEERS)) for _ in range(calls)]
    teams = [f"team-{rng.randrange(TEAMS)}" for _ in range(calls)]
    http = requests.Session()
    http.headers.update(headers)
    year_ago = time.strftime("%Y-%m-%dT00:00:00Z", time.gmtime(time.time() - 365 * 86400))
    figures = {
        "compare": timed(
            lambda i: http.get(
                f"{trends_url}/api/v1/history/{engineers[i]}", timeout=30
            ).raise_for_status(),
            calls,
        ),
        "weekly": timed(
            lambda i: http.get(
                f"{trends_url}/api/v1/trends/weekly",
                params={"team": teams[i], "from": year_ago},
                timeout=30,
            ).raise_for_status(),
            calls,
        ),
        "languages": timed(
            lambda i: http.get(
                f"{trends_url}/api/v1/trends/languages",
                params={"team": teams[i], "from": year_ago},
                timeout=30,
            ).raise_for_status(),
            calls,
        ),
    }
    with psycopg.connect(db_url, options="-c search_path=trends") as conn:
        figures["raw_compare"] = timed(
            lambda i: (
                conn.execute(RAW_HISTORY, {"code": engineers[i]}).fetchall(),
                conn.execute(RAW_TIMELINE, {"code": engineers[i]}).fetchall(),
            ),
            calls,
        )
        figures["raw_weekly"] = timed(
            lambda i: conn.execute(RAW_WEEKLY, {"team": teams[i]}).fetchall(), calls
        )
        figures["raw_languages"] = timed(
            lambda i: conn.execute(RAW_LANGUAGES, {"team": teams[i]}).fetchall(), calls
        )
    figures["rows"] = rows
    return figures


def report(figures: dict, meta: dict, smaller: dict | None = None) -> str:
    def row(label, key, raw_key):
        return (
            f"| {label} | {figures[key]['p50']:.1f} | {figures[key]['p95']:.1f} | "
            f"{figures[raw_key]['p50']:.1f} | {figures[raw_key]['p95']:.1f} |"
        )

    return "\n".join(
        [
            f"## Trends at {figures['rows']:,} sessions",
            "",
            f"Measured {meta['date']} on {meta['machine']}: {figures['rows']:,} projected sessions over two "
            f"years, {ENGINEERS:,} engineers in {TEAMS} teams; service answers over HTTP (trends_svc "
            "direct), baselines are SQL over the raw session rows on one connection.",
            "",
            "| call | service p50 (ms) | service p95 (ms) | raw rows p50 (ms) | raw rows p95 (ms) |",
            "|---|---|---|---|---|",
            row("Compare History (GET /history/{code})", "compare", "raw_compare"),
            row("GET /trends/weekly, one team, one year", "weekly", "raw_weekly"),
            row("GET /trends/languages, one team, one year", "languages", "raw_languages"),
            "",
            "Targets at 5M sessions: Compare History p95 ≤ 30 ms; weekly and languages p95 ≤ 50 ms.",
            *_scaling(figures, smaller),
            "",
        ]
    )


def _scaling(figures: dict, smaller: dict | None) -> list[str]:
    if smaller is None:
        return []
    ratio = figures["compare"]["p95"] / smaller["compare"]["p95"]
    return [
        "",
        f"Scaling, measured in the same run: Compare History p95 at {figures['rows']:,} sessions is "
        f"**{ratio:.2f}×** its p95 at {smaller['rows']:,} ({smaller['compare']['p95']:.1f} ms; "
        "target ≤ 2×).",
    ]


def bench_freshness(
    gateway_url: str,
    agent_headers: dict,
    admin_headers: dict,
    *,
    writes_per_second: int,
    seconds: float,
    probes: int,
) -> dict:
    """Write at a steady rate through the gateway; for `probes` of the writes (each a new
    engineer) measure how long until Compare History counts it. Needs the trends worker."""
    import uuid as uuid_module
    from concurrent.futures import ThreadPoolExecutor

    from bench.run import session_body

    stop_at = time.monotonic() + seconds
    latencies: list[float] = []
    errors = [0]
    http = requests.Session()

    def write(i: int) -> None:
        response = http.post(
            f"{gateway_url}/api/v1/sessions",
            json=session_body(i),
            headers=agent_headers,
            timeout=30,
        )
        if response.status_code != 201:
            errors[0] += 1

    def probe(n: int) -> None:
        name = "Fresh Probe " + "".join(
            chr(97 + int(c, 16) % 26) for c in uuid_module.uuid4().hex[:10]
        )
        body = {
            **session_body(10_000_000 + n),
            "engineer": name,
            "ended_at": None,
            "started_at": None,
        }
        started = time.monotonic()
        response = http.post(
            f"{gateway_url}/api/v1/sessions", json=body, headers=agent_headers, timeout=30
        )
        code = response.json()["engineer_code"]
        while time.monotonic() - started < 30:
            history = http.get(
                f"{gateway_url}/api/v1/history/{code}", headers=admin_headers, timeout=30
            ).json()
            if history["current"]["sessions"] == 1:
                latencies.append(time.monotonic() - started)
                return
            time.sleep(0.1)

    interval = 1 / writes_per_second
    probe_every = max(1, int(writes_per_second * seconds / probes))
    with ThreadPoolExecutor(max_workers=32) as pool:
        i = 0
        next_at = time.monotonic()
        probe_threads = []
        while time.monotonic() < stop_at:
            if i % probe_every == 0:
                thread = threading.Thread(target=probe, args=(i,))
                thread.start()
                probe_threads.append(thread)
            else:
                pool.submit(write, 20_000_000 + i)
            i += 1
            next_at += interval
            time.sleep(max(0.0, next_at - time.monotonic()))
        for thread in probe_threads:
            thread.join()
    latencies.sort()
    return {
        "writes": i,
        "rate": writes_per_second,
        "errors": errors[0],
        "probes": len(latencies),
        "p50": statistics.median(latencies) if latencies else float("nan"),
        "p95": latencies[int(0.95 * (len(latencies) - 1))] if latencies else float("nan"),
    }


def freshness_report(figures: dict, meta: dict) -> str:
    return "\n".join(
        [
            "## Freshness: a write reflected in Compare History",
            "",
            f"Measured {meta['date']} on {meta['machine']}: {figures['rate']} session writes per second "
            f"through the gateway ({figures['writes']:,} writes, {figures['errors']} errors); "
            f"{figures['probes']} probe writes, each timed from POST until GET /history counts it.",
            "",
            f"- p50 **{figures['p50']:.2f} s**, p95 **{figures['p95']:.2f} s** (target p95 ≤ 5 s).",
            "",
        ]
    )
