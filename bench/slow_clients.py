"""`make bench` section "Slow clients": /healthz at the gateway with no other connection open and beside
200 connections that trickle or stop in the middle of their request header, for the gateway's worker
and, in the same run, for gunicorn's threaded worker that the gateway ran before (16 threads)."""

from __future__ import annotations

import statistics
import subprocess
import time
from pathlib import Path

import requests

from devstack.postgres import free_port
from devstack.processes import RunningPlatform, wait_ready
from devstack.stack import Process
from shared.config import PROJECT_ROOT
from tests.common.slow_clients import is_open, stalled_connections

CALLS = 50
THREADED_CALLS = 5  # each unanswered call waits the whole client timeout
SLOW_CONNECTIONS = 200
CLIENT_TIMEOUT = 3.0


def healthz_latencies(base_url: str, calls: int) -> list[float | None]:
    """Milliseconds of `calls` GET /healthz, each on a new connection as a probe makes it; None for a
    call not answered 200 within CLIENT_TIMEOUT."""
    latencies: list[float | None] = []
    for _ in range(calls):
        started = time.perf_counter()
        try:
            ok = requests.get(f"{base_url}/healthz", timeout=CLIENT_TIMEOUT).status_code == 200
        except requests.RequestException:
            ok = False
        latencies.append((time.perf_counter() - started) * 1000 if ok else None)
    return latencies


def summary(latencies: list[float | None]) -> dict:
    answered = sorted(value for value in latencies if value is not None)
    return {
        "calls": len(latencies),
        "answered": len(answered),
        "p50": statistics.median(answered) if answered else None,
        "p95": statistics.quantiles(answered, n=20)[18] if len(answered) > 1 else None,
    }


def measure(base_url: str, calls: int) -> dict:
    """/healthz alone, then beside SLOW_CONNECTIONS stalled ones (and how many of those the server
    still held open when the calls were done)."""
    alone = summary(healthz_latencies(base_url, calls))
    with stalled_connections(base_url, SLOW_CONNECTIONS) as sockets:
        time.sleep(0.5)  # accepted, waiting for the rest of their headers
        beside = summary(healthz_latencies(base_url, calls))
        held = sum(is_open(sock) for sock in sockets)
    return {"alone": alone, "beside": beside, "held": held}


def bench_slow_clients(running: RunningPlatform, work: Path) -> dict:
    """The platform's gateway as started, and a second gateway on gthread on the same database."""
    figures = {"evented": measure(running.gateway, CALLS)}
    port = free_port()
    threaded = Process("gateway-threaded", "gateway.app:create_app()", port)
    with open(work / "logs" / "gateway-threaded.log", "w") as log:
        child = subprocess.Popen(
            threaded.command(), cwd=PROJECT_ROOT, env=running.env, stdout=log, stderr=log
        )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_ready(url, child)
        figures["threaded"] = measure(url, THREADED_CALLS)
    finally:
        child.terminate()
        child.wait(15)
    return figures


def report(figures: dict, meta: dict) -> str:
    def ms(value: float | None) -> str:
        return f"{value:.1f}" if value is not None else "—"

    def row(label: str, result: dict, held: str) -> str:
        return (
            f"| {label} | {result['answered']} of {result['calls']} | {ms(result['p50'])} | "
            f"{ms(result['p95'])} | {held} |"
        )

    evented, threaded = figures["evented"], figures["threaded"]
    return "\n".join(
        [
            "## Slow clients: /healthz beside stalled connections",
            "",
            f"Measured {meta['date']} on {meta['machine']}: GET /healthz at the gateway (one worker, as "
            "`make run` starts it), each call on a new connection with a "
            f"{CLIENT_TIMEOUT:.0f} s client timeout; first with no other connection, then beside "
            f"{SLOW_CONNECTIONS} connections that sent `GET /healthz HTTP/1.1` and part of a header "
            "(half of them trickle a byte every 0.5 s, half send nothing more). The threaded row is "
            "gunicorn's gthread worker with 16 threads, the gateway's worker before, started beside "
            "it on the same database.",
            "",
            "| gateway worker, connections | answered | p50 (ms) | p95 (ms) | stalled ones still open |",
            "|---|---|---|---|---|",
            row("HeaderTimeoutWorker, alone", evented["alone"], "—"),
            row(
                f"HeaderTimeoutWorker, beside {SLOW_CONNECTIONS} stalled",
                evented["beside"],
                f"{evented['held']} of {SLOW_CONNECTIONS}",
            ),
            row("gthread (before), alone", threaded["alone"], "—"),
            row(
                f"gthread (before), beside {SLOW_CONNECTIONS} stalled",
                threaded["beside"],
                f"{threaded['held']} of {SLOW_CONNECTIONS}",
            ),
            "",
            "Target: /healthz under 100 ms beside 200 slow connections. The stalled connections are "
            "closed HEADER_TIMEOUT seconds after they opened (tests/security/test_slow_clients.py).",
            "",
        ]
    )
