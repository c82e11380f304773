"""Reads through the gateway: authenticated GETs at concurrency 1 and 16, gateway vs the service
called directly, and what the gateway's bearer-token check costs per request. Called by
bench/run.py (`make bench`)."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys

import requests

from bench.load import LoadResult, run_load
from shared.config import PROJECT_ROOT

# The calls measured: one stored session, and the first page of the session list.
PATHS = {
    "one": ("GET /api/v1/sessions/{id}", "/api/v1/sessions/{session_id}"),
    "page": ("GET /api/v1/sessions?limit=20", "/api/v1/sessions?limit=20"),
}


def get_factory(path: str, headers: dict[str, str]):
    def factory(_: int):
        return ("GET", path, None, headers)

    return factory


def existing_session_id(base_url: str, headers: dict[str, str]) -> str:
    """The id of the newest stored session (the reads need one that exists)."""
    response = requests.get(f"{base_url}/api/v1/sessions?limit=1", headers=headers, timeout=10)
    response.raise_for_status()
    return response.json()["items"][0]["session_id"]


def bench_reads(targets: dict[str, tuple[str, dict]], rounds: int, seconds: float) -> dict:
    """Each GET at concurrency 1 (latency) and 16 (throughput) against each target; the targets
    take turns within every round, so that a slower minute of the machine hits all of them."""
    session_id = existing_session_id(*targets["direct"])
    figures: dict = {"load": [os.getloadavg()[0]]}
    for key, (_, template) in PATHS.items():
        path = template.format(session_id=session_id)
        figures[key] = {}
        for concurrency in (1, 16):
            runs: dict[str, list[LoadResult]] = {name: [] for name in targets}
            for _ in range(rounds):
                for name, (url, headers) in targets.items():
                    runs[name].append(
                        run_load(
                            url,
                            get_factory(path, headers),
                            concurrency=concurrency,
                            duration=seconds,
                        )
                    )
            figures[key][concurrency] = {
                name: {
                    "throughput": statistics.median(run.throughput for run in results),
                    "p50_ms": statistics.median(run.p50 for run in results),
                    "p95_ms": statistics.median(run.percentile(95) for run in results),
                    "errors": sum(run.errors for run in results),
                }
                for name, results in runs.items()
            }
    figures["load"].append(os.getloadavg()[0])
    return figures


def bench_verification(env: dict[str, str], token: str, calls: int = 2000) -> dict:
    """The gateway's own bearer verifier, built by its app factory in a child process with the
    gateway's environment (see bench/verification.py): per-call cost with its keys parsed once
    vs parsing the published JWKS on every call, and how many keys it parsed per call."""
    result = subprocess.run(
        [sys.executable, "-m", "bench.verification", str(calls)],
        cwd=PROJECT_ROOT,
        env=env,
        input=token,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def report(figures: dict, verification: dict, meta: dict) -> str:
    """The reads section of docs/benchmarks.md."""
    lines = [
        "## Reads: authenticated GET through the gateway",
        "",
        f"Measured {meta['date']} on {meta['machine']} ({meta['rounds']} rounds of "
        f"{meta['seconds']} s per target, call and concurrency, targets taking turns; medians; "
        "load generator on the same machine; load average "
        f"{figures['load'][0]:.1f} at the start, {figures['load'][-1]:.1f} at the end). "
        "Through the gateway with a qa_lead client's access "
        "token (RS256, checked against the JWKS: signature, `iss`, `aud`, `exp`, `nbf`, `typ`), "
        "then the role rule, the internal token (signed once per caller and service, reused "
        "while half its lifetime is left) and the forwarded call; direct: the same call to "
        "persistence_svc with an internal token.",
        "",
        "| call | target | c=1 p50 (ms) | c=1 req/s | c=16 p50 (ms) | c=16 p95 (ms) | "
        "c=16 req/s | errors |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for key, (label, _) in PATHS.items():
        for name, target in (("gateway", "gateway"), ("direct", "persistence_svc direct")):
            c1, c16 = figures[key][1][name], figures[key][16][name]
            lines.append(
                f"| {label} | {target} | {c1['p50_ms']:.2f} | {c1['throughput']:.0f} | "
                f"{c16['p50_ms']:.2f} | {c16['p95_ms']:.2f} | {c16['throughput']:.0f} | "
                f"{c1['errors'] + c16['errors']} |"
            )
    lines += ["", "Targets: ≤ 2 ms added p50 at concurrency 1, ≥ 0.6× throughput at 16.", ""]
    for key, (label, _) in PATHS.items():
        c1, c16 = figures[key][1], figures[key][16]
        added = c1["gateway"]["p50_ms"] - c1["direct"]["p50_ms"]
        ratio = c16["gateway"]["throughput"] / c16["direct"]["throughput"]
        lines.append(
            f"- {label}: gateway adds **{added:.2f} ms** p50 at concurrency 1 "
            f"({'met' if added <= 2 else 'missed'}); throughput at 16 clients **{ratio:.2f}×** "
            f"direct ({'met' if ratio >= 0.6 else 'missed'})."
        )
    cached, uncached = verification["cached_us"], verification["uncached_us"]
    lines += [
        f"- Bearer verification in the gateway's own verifier (`gateway/bearer.py`, from its app "
        f"factory), {verification['calls']:,} calls: **{cached:.0f} µs** per token with the "
        f"keys parsed once at start, {uncached:.0f} µs when the JWKS is parsed for every call "
        f"({uncached / cached:.1f}× as long). Keys parsed during the {verification['calls']:,} "
        f"cached verifications: **{verification['cached_key_imports']}** (the uncached variant: "
        f"{verification['uncached_key_imports']:,}).",
        "",
    ]
    return "\n".join(lines)
