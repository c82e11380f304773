"""`make bench`: start a private PostgreSQL and real processes, measure side by side, write
docs/benchmarks.md. Figures are medians of repeated rounds; ratios compare within the same run."""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import requests

from bench.dashboard import TEAM, bench_dashboard, dashboard_report
from bench.exports import bench_export, seed_sessions
from bench.exports import report as export_report
from bench.imports import bench_import_export, postgres_pid, usable_cores
from bench.imports import report as import_report
from bench.load import LoadResult, run_load
from bench.notifications import bench_notifications, notifications_report
from bench.pii_guard import bench_pii_guard, pii_guard_report
from bench.projection import bench_projection, projection_report
from bench.qa_quality import bench_qa_quality, qa_quality_report
from bench.qa_ui import bench_qa_ui, qa_ui_report
from bench.reads import bench_reads, bench_verification
from bench.reads import report as reads_report
from bench.slow_clients import bench_slow_clients
from bench.slow_clients import report as slow_clients_report
from bench.trends import bench_freshness, bench_trends, freshness_report
from bench.trends import report as trends_report
from devstack.postgres import EmbeddedPostgres, free_port
from devstack.processes import start_platform
from devstack.stack import Process
from devstack.testing import create_client, migrated_database
from gateway.keys import read_keys
from shared.config import PROJECT_ROOT
from shared.tokens import Principal, sign_internal_token

ROOT_CAUSES = ("communication_issue", "knowledge_gap", "analytical_error", "process_issue", "other")


def session_body(i: int) -> dict:
    """A valid POST /sessions body, different for every i."""
    return {
        "session_id": str(uuid.uuid4()),
        "engineer": f"Bench Engineer {chr(65 + i % 26)}{chr(65 + (i // 26) % 26)}",
        "case_number": f"{10_000_000 + i % 89_999_999}",
        "team": f"team-{i % 8}",
        "region": "EMEA",
        "record_type": "single",
        "parts": 1,
        "languages": ["EN", "DE"],
        "sentiment_score": (i % 100) / 100,
        "tone_label": "neutral",
        "root_cause": ROOT_CAUSES[i % 5],
        "confidence_analysis": 0.8,
        "confidence_translation": 0.7,
        "ended_at": "2026-11-20T10:00:00+00:00",
        "started_at": "2026-11-20T09:40:00+00:00",
        "agent_version": "3.7.0",
        "model": "gpt-4o",
        "attributes": {"channel": "phone"},
    }


def post_factory(path: str, headers: dict[str, str]):
    def factory(i: int):
        return (
            "POST",
            path,
            json.dumps(session_body(i)).encode(),
            {**headers, "Content-Type": "application/json"},
        )

    return factory


def median_of(results: list[LoadResult], attribute: str) -> float:
    return statistics.median(getattr(result, attribute) for result in results)


def bench_writes(targets: dict[str, tuple[str, dict]], rounds: int, seconds: float) -> dict:
    """POST /sessions at concurrency 1 (latency) and 16 (throughput) against each target."""
    figures: dict = {}
    for concurrency in (1, 16):
        runs: dict[str, list[LoadResult]] = {name: [] for name in targets}
        for _ in range(rounds):
            for name, (url, headers) in targets.items():
                path = "/sessions" if name == "baseline" else "/api/v1/sessions"
                result = run_load(
                    url,
                    post_factory(path, headers),
                    concurrency=concurrency,
                    duration=seconds,
                )
                runs[name].append(result)
        figures[concurrency] = {
            name: {
                "throughput": median_of(results, "throughput"),
                "p50_ms": median_of(results, "p50"),
                "errors": sum(result.errors for result in results),
            }
            for name, results in runs.items()
        }
    return figures


def bench_batch(persistence_url: str, headers: dict, admin_db_url: str, rounds: int) -> dict:
    """1000 sessions per POST /sessions/batch vs psycopg executemany of 1000 prepared rows."""
    api_rates, raw_rates = [], []
    columns = (
        "session_id, engineer_code, case_ref, team, region, record_type, parts, languages, "
        "sentiment_score, tone_label, root_cause, confidence_analysis, "
        "confidence_translation, confidence_overall, confidence_rating, analysed_at, "
        "attributes, content_hash"
    )
    for round_number in range(rounds):
        base = 2_000_000_000 + round_number * 10_000
        items = [session_body(base + i) for i in range(1000)]
        started = time.perf_counter()
        response = requests.post(
            f"{persistence_url}/api/v1/sessions/batch",
            json={"items": items},
            headers=headers,
            timeout=120,
        )
        api_rates.append(1000 / (time.perf_counter() - started))
        assert response.status_code == 200 and response.json()["created"] == 1000, (
            response.status_code,
            response.text[:300],
        )
        rows = [
            (
                str(uuid.uuid4()),
                "eng_" + "x" * 24,  # codes of the platform's form: persistence indexes them
                "case_" + "x" * 24,
                "team-1",
                "EMEA",
                "single",
                1,
                ["EN", "DE"],
                0.5,
                "neutral",
                "other",
                0.8,
                0.7,
                0.77,
                "Medium",
                datetime.now(UTC),
                "{}",
                b"\x00",
            )
            for _ in range(1000)
        ]
        with psycopg.connect(admin_db_url) as conn:
            started = time.perf_counter()
            with conn.cursor() as cursor:
                cursor.executemany(
                    f"INSERT INTO persistence.sessions ({columns}) VALUES "
                    "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    rows,
                )
            conn.commit()
            raw_rates.append(1000 / (time.perf_counter() - started))
    return {
        "api_rows_per_s": statistics.median(api_rates),
        "executemany_rows_per_s": statistics.median(raw_rates),
    }


def write_report(figures: dict, batch: dict, meta: dict) -> str:
    """The benchmark section of docs/benchmarks.md."""
    c1, c16 = figures[1], figures[16]
    gateway_ratio = c16["gateway"]["throughput"] / c16["direct"]["throughput"]
    added_p50 = c1["gateway"]["p50_ms"] - c1["direct"]["p50_ms"]
    batch_ratio = batch["api_rows_per_s"] / batch["executemany_rows_per_s"]
    lines = [
        "## Writes: POST /sessions and /sessions/batch",
        "",
        f"Measured {meta['date']} on {meta['machine']} ({meta['rounds']} rounds of {meta['seconds']} s "
        "per target and concurrency, medians; load generator on the same machine).",
        "",
        "| target | c=1 p50 (ms) | c=1 req/s | c=16 p50 (ms) | c=16 req/s | errors |",
        "|---|---|---|---|---|---|",
    ]
    for name, label in (
        ("gateway", "through the gateway"),
        ("direct", "persistence_svc direct"),
        ("baseline", "baseline Flask + psycopg_pool insert"),
    ):
        lines.append(
            f"| {label} | {c1[name]['p50_ms']:.2f} | {c1[name]['throughput']:.0f} | "
            f"{c16[name]['p50_ms']:.2f} | {c16[name]['throughput']:.0f} | "
            f"{c1[name]['errors'] + c16[name]['errors']} |"
        )
    lines += [
        "",
        f"- Gateway throughput at 16 clients: **{gateway_ratio:.2f}×** the direct call "
        f"(target ≥ 0.6×).",
        f"- Gateway added p50 at concurrency 1: **{added_p50:.2f} ms** (target ≤ 2 ms).",
        f"- persistence_svc direct vs the bare baseline at 16 clients: "
        f"{c16['direct']['throughput'] / c16['baseline']['throughput']:.2f}×.",
        f"- POST /sessions/batch of 1000: **{batch['api_rows_per_s']:.0f} rows/s** vs psycopg "
        f"`executemany` {batch['executemany_rows_per_s']:.0f} rows/s = **{batch_ratio:.2f}×** "
        "(target ≥ 0.5×; the API also validates, pseudonymises and PII-checks every row).",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument(
        "--only",
        choices=(
            "writes",
            "reads",
            "imports",
            "export",
            "trends",
            "projection",
            "freshness",
            "dashboard",
            "pii",
            "slow-clients",
            "qa-quality",
            "qa-ui",
            "notifications",
        ),
        default=None,
        help="one section; `export` alone exports --export-rows sessions written by SQL",
    )
    parser.add_argument(
        "--trend-rows",
        type=lambda text: [int(part) for part in text.split(",")],
        default=[100_000, 5_000_000],
        help="sizes measured one after the other in the same run (comma-separated)",
    )
    parser.add_argument("--trend-calls", type=int, default=200)
    parser.add_argument("--projection-rows", type=int, default=100_000)
    parser.add_argument("--freshness-seconds", type=float, default=30.0)
    parser.add_argument("--dashboard-rows", type=int, default=1_000_000)
    parser.add_argument("--import-rows", type=int, default=1_000_000)
    parser.add_argument("--pandas-rows", type=int, default=50_000)
    parser.add_argument("--export-rows", type=int, default=1_000_000)
    parser.add_argument("--qa-reviews", type=int, default=1_000_000)
    parser.add_argument("--qa-sessions", type=int, default=200_000)
    parser.add_argument(
        "--no-doc", action="store_true", help="print the sections, leave docs/benchmarks.md alone"
    )
    args = parser.parse_args(argv)

    meta = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "rounds": args.rounds,
        "seconds": args.seconds,
        "machine": f"{platform.machine()}, {usable_cores()} cores, Python {platform.python_version()}",
    }
    sections: list[str] = []
    if args.only in (None, "pii"):  # pure CPU, before the platform starts
        sections.append(pii_guard_report(bench_pii_guard(), meta))
    if args.only == "pii":
        return _publish(sections, args.no_doc)
    work = Path(tempfile.mkdtemp(prefix="cr-bench-"))
    server = EmbeddedPostgres(work / "pg")
    admin = server.start()
    try:
        db_url = migrated_database(admin, "cr_bench")
        if args.only in (None, "notifications"):  # in-process on the bench database
            sections.append(notifications_report(bench_notifications(db_url, args.rounds), meta))
        if args.only == "notifications":
            return _publish(sections, args.no_doc)
        running = start_platform(
            db_url,
            work,
            names=["gateway", "persistence", "trends", "dashboard"],
            extra_env={
                "RATE_LIMIT_API": "10000000 per minute"
            },  # measure the path, not the limiter
        )
        baseline_port = free_port()
        with open(work / "logs" / "baseline.log", "w") as log:
            baseline = subprocess.Popen(
                Process("baseline", "bench.baseline_app:create_app()", baseline_port).command(),
                cwd=PROJECT_ROOT,
                env={**running.env, "BASELINE_DATABASE_URL": db_url},
                stdout=log,
                stderr=log,
            )
        try:
            baseline_url = f"http://127.0.0.1:{baseline_port}"
            _wait_http(baseline_url + "/sessions")
            token = _agent_token(running)
            # the direct calls sign as the gateway does: its key, one service per token
            key = read_keys(work / "data" / "gateway_jwks.json")[-1]
            internal = sign_internal_token(
                Principal("bench", frozenset({"agent"})), key, audience="persistence", ttl=3600
            )
            targets = {
                "gateway": (running.gateway, {"Authorization": f"Bearer {token}"}),
                "direct": (running.urls["persistence"], {"Authorization": f"Bearer {internal}"}),
                "baseline": (baseline_url, {}),
            }
            direct = {"Authorization": f"Bearer {internal}"}
            if args.only in (None, "writes"):
                figures = bench_writes(targets, args.rounds, args.seconds)
                batch = bench_batch(running.urls["persistence"], direct, db_url, rounds=5)
                sections.append(write_report(figures, batch, meta))
            if args.only in (None, "reads"):
                if args.only == "reads":  # the reads need stored sessions
                    bench_batch(running.urls["persistence"], direct, db_url, rounds=1)
                reader_token = _client_token(running, "bench-reader", "qa_lead")
                reader = sign_internal_token(
                    Principal("bench", frozenset({"qa_lead"})),
                    key,
                    audience="persistence",
                    ttl=7200,
                )
                read_figures = bench_reads(
                    {
                        "gateway": (running.gateway, {"Authorization": f"Bearer {reader_token}"}),
                        "direct": (
                            running.urls["persistence"],
                            {"Authorization": f"Bearer {reader}"},
                        ),
                    },
                    args.rounds,
                    args.seconds,
                )
                verification = bench_verification(running.env, reader_token)
                sections.append(reads_report(read_figures, verification, meta))
            if args.only in (None, "imports", "export"):
                admin = sign_internal_token(
                    Principal("bench", frozenset({"admin"})), key, audience="persistence", ttl=7200
                )
                admin_headers = {"Authorization": f"Bearer {admin}"}
                persistence_pid = running.children["persistence"].pid
                if args.only == "export":
                    seed_sessions(db_url, args.export_rows)
                else:
                    scale = bench_import_export(
                        db_url,
                        running.urls["persistence"],
                        admin_headers,
                        persistence_pid,
                        postgres_pid(server.pgdata),
                        work,
                        args.import_rows,
                        args.pandas_rows,
                    )
                    sections.append(import_report(scale, meta))
                exported = bench_export(
                    db_url, running.urls["persistence"], admin_headers, persistence_pid
                )
                source = (
                    "written by SQL in the shape of the import bench's rows"
                    if args.only == "export"
                    else "the rows imported above, and any written before"
                )
                sections.append(export_report(exported, meta, source))
            if args.only in (None, "trends"):
                reader = sign_internal_token(
                    Principal("bench", frozenset({"admin"})), key, audience="trends", ttl=7200
                )
                smaller = None
                for rows in args.trend_rows:
                    trend_figures = bench_trends(
                        db_url,
                        running.urls["trends"],
                        {"Authorization": f"Bearer {reader}"},
                        rows,
                        args.trend_calls,
                    )
                    sections.append(trends_report(trend_figures, meta, smaller))
                    smaller = smaller or trend_figures
            if args.only == "dashboard":  # its own data set: not part of the default run
                manager_token = _client_token(running, "bench-manager", "manager", (TEAM,))
                sections.append(
                    dashboard_report(
                        bench_dashboard(
                            db_url,
                            running,
                            manager_token,
                            key,
                            args.dashboard_rows,
                            args.trend_calls,
                        ),
                        meta,
                    )
                )
            if args.only == "qa-quality":  # its own data set: not part of the default run
                lead_token = _client_token(running, "bench-qa-lead", "qa_lead")
                sections.append(
                    qa_quality_report(
                        bench_qa_quality(
                            db_url, running, lead_token, key, args.qa_reviews, args.trend_calls
                        ),
                        meta,
                    )
                )
            if args.only == "qa-ui":  # its own data set: not part of the default run
                sections.append(
                    qa_ui_report(
                        bench_qa_ui(db_url, running, key, args.qa_sessions, args.trend_calls),
                        meta,
                    )
                )
            if args.only in (None, "projection"):
                admin_token = _client_token(running, "bench-projection", "admin")
                projected = bench_projection(
                    running,
                    db_url,
                    {"Authorization": f"Bearer {admin_token}"},
                    work,
                    args.projection_rows,
                    postgres_pid(server.pgdata),
                )
                sections.append(projection_report(projected, meta))
            if args.only in (None, "freshness"):
                if "trends-worker" not in running.children:  # the projection's left it running
                    running.start("trends-worker")
                admin_token = _client_token(running, "bench-admin", "admin")
                fresh = bench_freshness(
                    running.gateway,
                    {"Authorization": f"Bearer {token}"},
                    {"Authorization": f"Bearer {admin_token}"},
                    writes_per_second=200,
                    seconds=args.freshness_seconds,
                    probes=max(1, int(40 * args.freshness_seconds / 30)),
                )
                sections.append(freshness_report(fresh, meta))
            if args.only in (None, "slow-clients"):
                sections.append(slow_clients_report(bench_slow_clients(running, work), meta))
        finally:
            baseline.terminate()
            baseline.wait(10)
            running.stop()
    finally:
        server.remove()
    return _publish(sections, args.no_doc)


def _publish(sections: list[str], no_doc: bool) -> int:
    """Print the sections and, unless `no_doc`, rewrite them in docs/benchmarks.md."""
    for section in sections:
        print(section)
        if not no_doc:
            _update_doc(section)
    return 0


def _client_token(running, name: str, role: str, teams: tuple[str, ...] = ()) -> str:
    """An access token of a new client with `role`, from the gateway's token endpoint."""
    client = create_client(running.env, name, role, teams=teams)
    return requests.post(
        f"{running.gateway}/oauth/token",
        auth=client,
        data={"grant_type": "client_credentials"},
        timeout=10,
    ).json()["access_token"]


def _wait_http(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise TimeoutError(url)


def _agent_token(running) -> str:
    client_id, secret = create_client(running.env, f"bench-{uuid.uuid4().hex[:8]}", "agent")
    response = requests.post(
        f"{running.gateway}/oauth/token",
        auth=(client_id, secret),
        data={"grant_type": "client_credentials"},
        timeout=10,
    )
    response.raise_for_status()
    return response.json()["access_token"]


def _update_doc(section: str) -> None:
    doc = PROJECT_ROOT / "docs" / "benchmarks.md"
    header = "# Benchmarks\n\nRun `make bench`; it rewrites the sections below from fresh measurements.\n\n"
    text = doc.read_text() if doc.exists() else header
    title = section.splitlines()[0]
    if title in text:
        start = text.index(title)
        end = text.find("\n## ", start + 1)
        rest = text[end + 1 :] if end != -1 else ""
        text = text[:start] + section.rstrip("\n") + "\n" + ("\n" + rest if rest else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    doc.write_text(text)


if __name__ == "__main__":
    sys.exit(main())
