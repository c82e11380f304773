"""Export at scale: GET /sessions/export?format=csv read to the end vs `psql \\copy (…) to stdout`
of the same rows in the same run, with the service's memory. Called by bench/run.py."""

from __future__ import annotations

import statistics
import subprocess
import time

import psycopg
import requests

from bench.imports import PeakMemory
from devstack.postgres import pg_binary

# What `psql` is asked for: every stored column of every session, in the export's order of rows.
PSQL_QUERY = "SELECT * FROM persistence.sessions ORDER BY analysed_at, session_id"


def seed_sessions(db_url: str, rows: int) -> None:
    """`rows` stored sessions shaped like the import bench's file (pseudonyms, a note on every
    fourth row, two languages on two rows of three), written by SQL in one statement: the
    export bench then needs no import first."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            """
            INSERT INTO persistence.sessions (
                session_id, engineer_code, case_ref, team, region, record_type, parts,
                languages, sentiment_score, tone_label, root_cause, confidence_analysis,
                confidence_translation, confidence_overall, confidence_rating, started_at,
                ended_at, analysed_at, duration_seconds, agent_version, model, notes,
                content_hash)
            SELECT md5('export' || i)::uuid,
                   'eng_' || left(md5('engineer' || i %% 676), 24),
                   'case_' || left(md5('case' || i), 24),
                   'team-' || i %% 12,
                   (ARRAY['EMEA', 'AMER', 'APAC'])[1 + i %% 3],
                   'single', 1,
                   CASE WHEN i %% 3 = 0 THEN ARRAY['EN'] ELSE ARRAY['EN', 'DE'] END,
                   (i %% 100) / 100.0, 'neutral',
                   (ARRAY['communication_issue', 'knowledge_gap', 'analytical_error',
                          'process_issue', 'other'])[1 + i %% 5],
                   0.8,
                   CASE WHEN i %% 3 = 0 THEN NULL ELSE 0.7 END,
                   CASE WHEN i %% 3 = 0 THEN 0.8 ELSE 0.77 END,
                   CASE WHEN i %% 3 = 0 THEN 'High' ELSE 'Medium' END,
                   day + interval '9 hours 40 minutes', day + interval '10 hours',
                   day + interval '10 hours', 1200, '3.7.0', 'gpt-4o',
                   CASE WHEN i %% 4 = 0 THEN 'Customer expected a faster escalation.' END,
                   sha256(i::text::bytea)
            FROM generate_series(1, %(rows)s) AS i,
                 LATERAL (SELECT timestamptz '2026-03-01 00:00+00' + (i %% 28) * interval '1 day')
                     AS d (day)
            """,
            {"rows": rows},
        )
        conn.execute("VACUUM ANALYZE persistence.sessions")


def api_export(persistence_url: str, headers: dict, pid: int) -> dict:
    """Rows/s of GET /sessions/export?format=csv read to the end, and the service's memory."""
    with PeakMemory(pid) as memory:
        started = time.perf_counter()
        lines = 0
        with requests.get(
            f"{persistence_url}/api/v1/sessions/export?format=csv",
            headers=headers,
            stream=True,
            timeout=600,
        ) as response:
            response.raise_for_status()
            for chunk in response.iter_content(1 << 20):
                lines += chunk.count(b"\n")
        seconds = time.perf_counter() - started
    return {
        "rows_per_s": (lines - 1) / seconds,
        "rows": lines - 1,
        "rss_start_mb": memory.start_mb,
        "rss_peak_mb": memory.peak_mb,
    }


def psql_copy_out(db_url: str, query: str = PSQL_QUERY) -> float:
    """Rows/s of `psql \\copy (query) to stdout` with CSV, read to the end by this process."""
    started = time.perf_counter()
    with subprocess.Popen(
        [pg_binary("psql"), db_url, "-c", f"\\copy ({query}) to stdout with (format csv, header)"],
        stdout=subprocess.PIPE,
    ) as psql:
        lines = 0
        while chunk := psql.stdout.read(1 << 20):
            lines += chunk.count(b"\n")
    seconds = time.perf_counter() - started
    if psql.returncode:
        raise subprocess.CalledProcessError(psql.returncode, "psql")
    return (lines - 1) / seconds


def bench_export(
    db_url: str, persistence_url: str, headers: dict, pid: int, rounds: int = 3
) -> dict:
    """Export and psql alternately, `rounds` times each; medians (the service's peak memory is
    the highest of any round)."""
    exports, psql = [], []
    for _ in range(rounds):
        exports.append(api_export(persistence_url, headers, pid))
        psql.append(psql_copy_out(db_url))
    return {
        "rows": exports[0]["rows"],
        "rounds": rounds,
        "export": statistics.median(run["rows_per_s"] for run in exports),
        "psql_copy": statistics.median(psql),
        "rss_start_mb": exports[0]["rss_start_mb"],
        "rss_peak_mb": max(run["rss_peak_mb"] for run in exports),
        "export_rounds": [run["rows_per_s"] for run in exports],
        "psql_rounds": psql,
    }


def report(figures: dict, meta: dict, source: str) -> str:
    """The export section of docs/benchmarks.md; `source` says how the sessions were stored."""
    ratio = figures["export"] / figures["psql_copy"]
    return "\n".join(
        [
            "## Export at scale",
            "",
            f"Measured {meta['date']} on {meta['machine']}; {figures['rows']:,} stored sessions "
            f"({source}), each path read to the end over loopback, alternately, "
            f"{figures['rounds']} times (medians).",
            "",
            "| path | rows/s | ratio | service RSS start → peak |",
            "|---|---|---|---|",
            f"| GET /sessions/export?format=csv | {figures['export']:,.0f} | "
            f"**{ratio:.2f}×** psql | "
            f"{figures['rss_start_mb']:.0f} → {figures['rss_peak_mb']:.0f} MB |",
            f"| `psql \\copy ({PSQL_QUERY}) to stdout with (format csv, header)` | "
            f"{figures['psql_copy']:,.0f} | 1.00 | — |",
            "",
            f"Rounds, rows/s: export {_figures(figures['export_rounds'])}; psql "
            f"{_figures(figures['psql_rounds'])}.",
            "",
            "Target: export ≥ 0.5× psql, memory flat. The export also formats the timestamps as "
            "ISO 8601, joins the languages with `;` and neutralises spreadsheet formulas; psql "
            "writes the stored values as they are. The export is one `COPY … TO STDOUT` whose "
            "rows the service passes on in chunks of about 256 KB; that statement may run for "
            "30 minutes (every other statement: 15 s), so a slow download is not cut off.",
            "",
        ]
    )


def _figures(values: list[float]) -> str:
    return ", ".join(f"{value:,.0f}" for value in values)
