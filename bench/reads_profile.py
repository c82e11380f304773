"""`python -m bench.reads_profile`: where the gateway's time goes on one authenticated GET at
concurrency 1. Starts PostgreSQL, persistence_svc and the gateway (its deployed gevent worker) plus a
second gateway on gunicorn's gthread worker, then measures in alternating rounds the p50 and the
gateway worker's CPU time per call (psutil) of each, beside the same call made directly; with
`--profile N`, also N calls through the gateway app in-process (cProfile, the real persistence_svc
behind it) and the functions that took the most CPU."""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import psutil

from bench.load import run_load
from bench.reads import existing_session_id, get_factory
from bench.run import _client_token, _wait_http, bench_batch
from devstack.postgres import EmbeddedPostgres, free_port
from devstack.processes import start_platform
from devstack.stack import GATEWAY_WORKER, Process
from devstack.testing import migrated_database
from gateway.keys import read_keys
from shared.config import PROJECT_ROOT
from shared.tokens import Principal, sign_internal_token

# As bench/run.py: measure the path, not a refusal (the limit is still counted on every call).
RATE_LIMIT = "10000000 per minute"


def worker_process(pid: int) -> psutil.Process:
    """The one worker of the gunicorn master `pid` (its CPU is the gateway's work)."""
    children = psutil.Process(pid).children()
    return children[0] if children else psutil.Process(pid)


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def measure(url: str, path: str, headers: dict, process: psutil.Process, seconds: float) -> dict:
    """One run at concurrency 1: p50 (ms) and the process's CPU time per call (µs)."""
    before = cpu_seconds(process)
    result = run_load(url, get_factory(path, headers), concurrency=1, duration=seconds)
    spent = cpu_seconds(process) - before
    return {
        "p50_ms": result.p50,
        "cpu_us": spent / max(1, result.requests) * 1e6,
        "calls": result.requests,
        "errors": result.errors,
    }


def start_gateway(running, work: Path, worker_class: str, tree: Path):
    """Another gateway on a free port with the running one's environment, on `worker_class`,
    from the code in `tree`; the child and its URL once it answers."""
    port = free_port()
    with open(work / "logs" / f"gateway-{port}.log", "w") as log:
        child = subprocess.Popen(
            Process("gateway", "gateway.app:create_app()", port, worker_class).command(),
            cwd=tree,
            env={**running.env, "PYTHONPATH": str(tree)},
            stdout=log,
            stderr=log,
        )
    url = f"http://127.0.0.1:{port}"
    _wait_http(url + "/healthz")
    return child, url


def profile_in_process(path: str, token: str, calls: int) -> str:
    """`calls` GETs of `path` through the gateway app (this process's environment is the running
    gateway's); the top of the profile by own time and by cumulative time."""
    from gateway.app import create_app

    app = create_app()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    for _ in range(50):  # warm up pools and caches
        client.get(path, headers=headers)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(calls):
        client.get(path, headers=headers)
    profiler.disable()
    app.extensions["db_pool"].close()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(35)
    stats.sort_stats("cumulative").print_stats(60)
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--profile", type=int, default=0, help="calls profiled in-process")
    parser.add_argument("--in-process", nargs=3, metavar=("PATH", "TOKEN", "CALLS"))
    parser.add_argument(
        "--before",
        type=Path,
        help="a checkout of the code before a change (git archive): its gateway (gevent) joins "
        "the rounds on the same database, keys and persistence_svc",
    )
    args = parser.parse_args(argv)
    if args.in_process:
        path, token, calls = args.in_process
        print(profile_in_process(path, token, int(calls)))
        return 0
    work = Path(tempfile.mkdtemp(prefix="cr-bench-profile-"))
    server = EmbeddedPostgres(work / "pg")
    admin = server.start()
    running = None
    extra: list[subprocess.Popen] = []
    try:
        db_url = migrated_database(admin, "cr_bench")
        running = start_platform(
            db_url, work, names=["gateway", "persistence"], extra_env={"RATE_LIMIT_API": RATE_LIMIT}
        )
        gthread, gthread_url = start_gateway(running, work, "gthread", PROJECT_ROOT)
        extra.append(gthread)
        if args.before:
            before, before_url = start_gateway(running, work, GATEWAY_WORKER, args.before)
            extra.append(before)
        key = read_keys(work / "data" / "gateway_jwks.json")[-1]
        internal = {
            "Authorization": "Bearer "
            + sign_internal_token(
                Principal("bench", frozenset({"qa_lead"})), key, audience="persistence", ttl=7200
            )
        }
        admin_token = sign_internal_token(
            Principal("bench", frozenset({"agent"})), key, audience="persistence", ttl=3600
        )
        bench_batch(
            running.urls["persistence"], {"Authorization": f"Bearer {admin_token}"}, db_url, 1
        )
        token = _client_token(running, "bench-reader", "qa_lead")
        bearer = {"Authorization": f"Bearer {token}"}
        session_id = existing_session_id(running.urls["persistence"], internal)
        path = f"/api/v1/sessions/{session_id}"
        persistence = worker_process(running.children["persistence"].pid)
        variants = {
            "gateway gevent": (
                running.gateway,
                bearer,
                worker_process(running.children["gateway"].pid),
            ),
            "gateway gthread": (gthread_url, bearer, worker_process(gthread.pid)),
            "direct": (running.urls["persistence"], internal, persistence),
        }
        if args.before:
            variants["gateway gevent before"] = (before_url, bearer, worker_process(before.pid))
        for url, headers, _ in variants.values():  # warm-up
            run_load(url, get_factory(path, headers), concurrency=1, duration=1.0)
        runs: dict[str, list[dict]] = {name: [] for name in variants}
        for _ in range(args.rounds):
            for name, (url, headers, process) in variants.items():
                runs[name].append(measure(url, path, headers, process, args.seconds))
        figures = {
            name: {
                field: statistics.median(run[field] for run in results)
                for field in ("p50_ms", "cpu_us", "calls")
            }
            | {"errors": sum(run["errors"] for run in results)}
            | {"cpu_us_rounds": [round(run["cpu_us"]) for run in results]}
            | {"p50_ms_rounds": [round(run["p50_ms"], 2) for run in results]}
            for name, results in runs.items()
        }
        print(json.dumps(figures, indent=1))
        if args.profile:
            profile = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "bench.reads_profile",
                    "--in-process",
                    path,
                    token,
                    str(args.profile),
                ],
                cwd=PROJECT_ROOT,
                env=running.env,
                capture_output=True,
                text=True,
                check=True,
                timeout=600,
            )
            print(profile.stdout)
    finally:
        for child in extra:
            child.terminate()
            child.wait(10)
        if running is not None:
            running.stop()
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
