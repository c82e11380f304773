"""`make soak`: mixed traffic (tests/load/locustfile.py) at 200 requests/s for 2 minutes through the
gateway of a fresh platform on its own PostgreSQL; errors, p50/p99 per request, the resident
memory of every process at the start and the end and its CPU time, written to docs/benchmarks.md.
Exits 1 when a request failed or a write was not stored exactly once."""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import sys
import tempfile
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import psutil
import psycopg

from bench.imports import PeakMemory, cpu_seconds, usable_cores
from bench.run import _client_token, _update_doc
from devstack.postgres import EmbeddedPostgres
from devstack.processes import start_platform
from devstack.testing import migrated_database
from tests.common.load import REQUEST_NAMES, LoadRun, run_mixed_traffic

TEAMS = ("soak-1", "soak-2", "soak-3")
USERS = 40
WARM_UP_SECONDS = 15


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (a gunicorn master and its workers)."""
    process = psutil.Process(pid)
    return sum(p.memory_info().rss for p in [process, *process.children(True)]) / 1_048_576


def soak(rps: int, seconds: int, work: Path) -> dict:
    """Warm up, then run the profile at `rps` for `seconds` while sampling every process's RSS."""
    server = EmbeddedPostgres(work / "pg")
    admin = server.start()
    try:
        db_url = migrated_database(admin, "cr_soak")
        # the traffic of many agents from one client: the per-caller limits (the API's, and the
        # look-up limit that Compare History by name counts against) would refuse most of it
        unlimited = "1000000 per minute"
        running = start_platform(
            db_url,
            work,
            extra_env={"RATE_LIMIT_API": unlimited, "RATE_LIMIT_LOOKUP": unlimited},
        )
        try:
            pids = {name: child.pid for name, child in running.children.items()}
            cold = {name: rss_mb(pid) for name, pid in pids.items()}
            tokens = {
                "agent_token": _client_token(
                    running, f"soak-agent-{uuid.uuid4().hex[:6]}", "agent"
                ),
                "manager_token": _client_token(
                    running, f"soak-manager-{uuid.uuid4().hex[:6]}", "manager", TEAMS
                ),
            }
            traffic = {"teams": TEAMS, "users": USERS, "rps_per_user": rps / USERS, **tokens}
            warm_up = run_mixed_traffic(
                running.gateway, seconds=WARM_UP_SECONDS, work_dir=work / "warm-up", **traffic
            )
            load_before = os.getloadavg()[0]
            cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
            with contextlib.ExitStack() as sampling:
                samplers = {
                    name: sampling.enter_context(PeakMemory(pid)) for name, pid in pids.items()
                }
                measured = run_mixed_traffic(
                    running.gateway, seconds=seconds, work_dir=work / "soak", **traffic
                )
            load_after = os.getloadavg()[0]
            cpu_used = {name: cpu_seconds(pid) - cpu_before[name] for name, pid in pids.items()}
            with psycopg.connect(db_url) as conn:
                stored = conn.execute(
                    "SELECT count(*) FROM persistence.sessions WHERE team = ANY(%s)", [list(TEAMS)]
                ).fetchone()[0]
        finally:
            running.stop()
    finally:
        server.remove()
    writes = sum(run.stats["POST /sessions"].requests for run in (warm_up, measured))
    write_failures = sum(run.stats["POST /sessions"].failures for run in (warm_up, measured))
    return {
        "run": measured,
        "warm_up_errors": warm_up.total.failures,
        "writes": writes,
        "write_failures": write_failures,
        "stored": stored,
        "load_average": (load_before, load_after),
        "processes": {
            name: {
                "cold": cold[name],
                "start": sampler.samples[0] / 1_048_576,
                "peak": sampler.peak_mb,
                "end": sampler.samples[-1] / 1_048_576,
                "cpu_seconds": cpu_used[name],
            }
            for name, sampler in samplers.items()
        },
    }


def report(figures: dict, meta: dict) -> str:
    """The "Load: mixed traffic" section of docs/benchmarks.md."""
    run: LoadRun = figures["run"]
    total = run.total
    lines = [
        "## Load: mixed traffic",
        "",
        f"Measured {meta['date']} on {meta['machine']} with `make soak`: {USERS} locust users "
        f"(tests/load/locustfile.py) offering {meta['rps']} requests/s in total for "
        f"{meta['seconds']} s through the gateway, after a {WARM_UP_SECONDS} s warm-up at the "
        "same rate; a fresh platform on its own PostgreSQL, load generator on the same machine. "
        "Each user waits for its answer before the next request, so a saturated platform shows "
        "as fewer requests/s than offered. Percentiles are locust's (whole milliseconds below "
        "100 ms, tens above).",
        "",
        "| request | requests | req/s | errors | p50 (ms) | p99 (ms) |",
        "|---|---|---|---|---|---|",
    ]
    for name in (*REQUEST_NAMES, "Aggregated"):
        stats = run.stats[name]
        label = "**all**" if name == "Aggregated" else f"`{name}`"
        lines.append(
            f"| {label} | {stats.requests:,} | {stats.requests_per_second:.1f} | "
            f"{stats.failures} | {stats.p50_ms:.0f} | {stats.p99_ms:.0f} |"
        )
    lines += [
        "",
        "| process | RSS idle (MB) | at start | peak | at end | end − start | CPU s in the run |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, memory in figures["processes"].items():
        lines.append(
            f"| {name} | {memory['cold']:.0f} | {memory['start']:.0f} | {memory['peak']:.0f} | "
            f"{memory['end']:.0f} | {memory['end'] - memory['start']:+.1f} | "
            f"{memory['cpu_seconds']:.0f} |"
        )
    lines += [
        "",
        f"- Achieved **{total.requests_per_second:.1f} requests/s**, **{total.failures} errors** "
        f"in {total.requests:,} requests (warm-up: {figures['warm_up_errors']} errors). "
        "Targets: 0 errors, p99 ≤ 200 ms, memory flat.",
        f"- Sessions stored: {figures['stored']:,} for {figures['writes']:,} writes "
        f"({figures['write_failures']} of them answered with an error).",
        "- RSS of a process is its gunicorn master and worker together (the trends worker: one "
        "process); idle is right after start-up, start and end bracket the measured "
        f"{meta['seconds']} s. CPU s: user + system seconds in those {meta['seconds']} s "
        f"({meta['cores']} cores give {meta['cores'] * meta['seconds']} s). PostgreSQL and the "
        "load generator are not included.",
        "- The machine's 1-minute load average (everything running on it, the platform and "
        f"the load generator included): {figures['load_average'][0]:.1f} before the measured "
        f"run, {figures['load_average'][1]:.1f} at its end.",
    ]
    if run.failures:
        errors: Counter[tuple[str, str]] = Counter()
        for failure in run.failures:  # one entry per answer body: group them without request ids
            text = failure["error"].split(',"request_id"')[0][:160]
            errors[failure["name"], text] += failure["occurrences"]
        lines += ["", "Errors seen:", ""]
        lines += [f"- {count}× `{name}`: {text}" for (name, text), count in errors.items()]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rps", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=120)
    parser.add_argument("--no-doc", action="store_true", help="print only, leave the doc alone")
    args = parser.parse_args(argv)
    meta = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "rps": args.rps,
        "seconds": args.seconds,
        "cores": usable_cores(),
        "machine": f"{platform.machine()}, {usable_cores()} cores, "
        f"Python {platform.python_version()}",
    }
    work = Path(tempfile.mkdtemp(prefix="cr-soak-"))
    figures = soak(args.rps, args.seconds, work)
    section = report(figures, meta)
    print(section)
    print(f"locust output and process logs: {work}")
    if not args.no_doc:
        _update_doc(section)
    held = figures["run"].total.failures == 0 and figures["stored"] == figures["writes"]
    return 0 if held else 1


if __name__ == "__main__":
    sys.exit(main())
