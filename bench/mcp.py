"""MCP vs REST: Compare History as an MCP tool call through <gateway>/mcp (the official SDK's
client, as an MCP client sees it) against the REST call through the gateway, p50 of each in the
same run, the two kinds taking turns, and the CPU time each kind costs the platform's processes per
call (steadier than wall time on a shared machine). `python -m bench.mcp` (its own PostgreSQL and
processes); rewrites its section of docs/benchmarks.md unless --no-doc."""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import anyio
import httpx2
import psutil
import requests
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client

from bench.imports import usable_cores
from bench.run import _agent_token, _update_doc, session_body
from devstack.postgres import EmbeddedPostgres
from devstack.processes import start_platform
from devstack.testing import migrated_database

TARGET_MS = 3.0  # the target: MCP adds at most 3 ms at the median
PROCESSES = ("gateway", "mcp", "trends")  # the ones a Compare History call reaches


def cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    """User + system CPU seconds so far of each process and its children (gunicorn's workers)."""
    totals = {}
    for name, pid in pids.items():
        parent = psutil.Process(pid)
        totals[name] = sum(
            sum(process.cpu_times()[:2]) for process in (parent, *parent.children(recursive=True))
        )
    return totals


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def bench_mcp(gateway: str, token: str, calls: int, rounds: int, pids: dict[str, int]) -> dict:
    """Milliseconds per call of each kind, all rounds pooled, and CPU microseconds per call of each
    platform process; the kinds take turns per round."""
    rest = requests.Session()
    rest.headers["Authorization"] = f"Bearer {token}"
    body = {**session_body(1), "model": "gpt-4o"}
    stored = rest.post(f"{gateway}/api/v1/sessions", json=body, timeout=10)
    assert stored.status_code == 201, stored.text
    arguments = {"engineer_code": stored.json()["engineer_code"]}
    samples: dict[str, list[float]] = {"rest": [], "mcp_sdk": []}
    cpu: dict[str, dict[str, float]] = {kind: dict.fromkeys(pids, 0.0) for kind in samples}

    def charge(kind: str, before: dict[str, float]) -> None:
        for name, seconds in cpu_seconds(pids).items():
            cpu[kind][name] += seconds - before[name]

    def time_rest() -> None:
        started = time.perf_counter()
        answer = rest.post(f"{gateway}/api/v1/history/compare", json=arguments, timeout=10)
        samples["rest"].append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200, answer.text

    async def sdk_rounds() -> None:
        headers = {"Authorization": f"Bearer {token}"}
        async with (
            httpx2.AsyncClient(headers=headers, timeout=30) as http,
            streamable_http_client(f"{gateway}/mcp", http_client=http) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            for _ in range(20):  # warm up both paths
                await session.call_tool("compare_history", arguments)
                time_rest()
            for kind in samples:
                samples[kind].clear()
            for _ in range(rounds):
                before = cpu_seconds(pids)
                for _ in range(calls):
                    started = time.perf_counter()
                    result = await session.call_tool("compare_history", arguments)
                    samples["mcp_sdk"].append((time.perf_counter() - started) * 1000)
                    assert result.is_error is False
                charge("mcp_sdk", before)
                before = cpu_seconds(pids)
                for _ in range(calls):
                    time_rest()
                charge("rest", before)

    anyio.run(sdk_rounds)
    return {
        kind: {
            "p50": statistics.median(values),
            "p90": percentile(values, 0.9),
            "calls": len(values),
            "cpu_us": {name: seconds / len(values) * 1e6 for name, seconds in cpu[kind].items()},
        }
        for kind, values in samples.items()
    }


def report(figures: dict, meta: dict) -> str:
    rest = figures["rest"]["p50"]
    rows = [
        ("REST `POST /api/v1/history/compare` through the gateway", figures["rest"]),
        ("MCP `tools/call compare_history`, the SDK's ClientSession", figures["mcp_sdk"]),
    ]
    lines = [
        "## MCP: Compare History as a tool call vs the REST call",
        "",
        f"{meta['date']}, {meta['machine']}; `python -m bench.mcp`. One caller (an agent "
        "client's token), one stored session, Compare History by `engineer_code`, one call at a "
        f"time; {meta['rounds']} rounds of {meta['calls']} calls of each kind, the kinds taking "
        "turns; milliseconds as the caller sees them (the SDK's client library included), and "
        "the CPU time per call of the processes the call reaches.",
        "",
        "| call | p50 ms | p90 ms | MCP adds at p50 | CPU µs/call: " + " / ".join(PROCESSES) + " |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, figure in rows:
        added = "" if figure is figures["rest"] else f"{figure['p50'] - rest:+.2f} ms"
        cpu = " / ".join(f"{figure['cpu_us'][process]:,.0f}" for process in PROCESSES)
        lines.append(f"| {name} | {figure['p50']:.2f} | {figure['p90']:.2f} | {added} | {cpu} |")
    added = figures["mcp_sdk"]["p50"] - rest
    verdict = "within" if added <= TARGET_MS else "above"
    extra_cpu = sum(figures["mcp_sdk"]["cpu_us"].values()) - sum(figures["rest"]["cpu_us"].values())
    lines += [
        "",
        f"The MCP path adds {added:.2f} ms at the median ({verdict} the {TARGET_MS:.0f} ms "
        f"target) and {extra_cpu:,.0f} µs of the platform's CPU per call: the gateway checks "
        "the bearer, reads the JSON-RPC `tools/call` and runs it in-process as the REST request "
        "it stands for (gateway/mcp_tools.py), so the call reaches the trends service in one hop, "
        "as the REST call does; mcp_svc serves the rest of the protocol (initialize, tools/list).",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--no-doc", action="store_true")
    args = parser.parse_args(argv)
    meta = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "rounds": args.rounds,
        "calls": args.calls,
        "machine": f"{usable_cores()} cores",
    }
    work = Path(tempfile.mkdtemp(prefix="cr-bench-mcp-"))
    server = EmbeddedPostgres(work / "pg")
    admin = server.start()
    try:
        running = start_platform(
            migrated_database(admin, "cr_bench_mcp"),
            work,
            names=["gateway", "persistence", "trends", "qa", "mcp"],
            extra_env={"RATE_LIMIT_API": "10000000 per minute"},  # the path, not the limiter
        )
        try:
            pids = {name: running.children[name].pid for name in PROCESSES}
            token = _agent_token(running)
            figures = bench_mcp(running.gateway, token, args.calls, args.rounds, pids)
        finally:
            running.stop()
    finally:
        server.remove()
    section = report(figures, meta)
    print(section)
    if not args.no_doc:
        _update_doc(section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
