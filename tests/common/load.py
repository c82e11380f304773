"""The mixed-traffic profile of tests/load/locustfile.py run headless in a locust subprocess (its
gevent monkey-patching stays out of the caller's process), with the per-request stats read back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from shared.config import PROJECT_ROOT

LOCUSTFILE = PROJECT_ROOT / "tests" / "load" / "locustfile.py"
REQUEST_NAMES = (
    "POST /sessions",
    "POST /history/compare",
    "POST /validation/check",
    "GET /trends/weekly",
    "GET /alerts",
)


@dataclass(frozen=True)
class RequestStats:
    """What locust counted for one request name (its percentiles are rounded: whole ms below
    100 ms, tens of ms below 1 s)."""

    name: str
    requests: int
    failures: int
    requests_per_second: float
    p50_ms: float
    p99_ms: float


@dataclass(frozen=True)
class LoadRun:
    """Stats per request name ("Aggregated": all of them), the failures locust recorded (name,
    error, occurrences) and where its output went."""

    stats: dict[str, RequestStats]
    failures: list[dict]
    log: Path

    @property
    def total(self) -> RequestStats:
        return self.stats["Aggregated"]


def run_mixed_traffic(
    host: str,
    *,
    agent_token: str,
    manager_token: str,
    teams: Sequence[str],
    users: int,
    rps_per_user: float,
    seconds: int,
    work_dir: Path,
) -> LoadRun:
    """Run the profile against `host` for `seconds` and return what locust measured.

    Users finish the request they are in when the time is up (`--stop-timeout`), so every write
    the server stored was also counted.
    """
    work_dir.mkdir(parents=True, exist_ok=True)
    result_file = work_dir / "locust.json"
    log = work_dir / "locust.log"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTEST", "COV_CORE"))  # no coverage of the load generator
    }
    env.update(
        LOAD_AGENT_TOKEN=agent_token,
        LOAD_MANAGER_TOKEN=manager_token,
        LOAD_TEAMS=",".join(teams),
        LOAD_RPS_PER_USER=str(rps_per_user),
        LOAD_RESULT_FILE=str(result_file),
    )
    command = [
        sys.executable,
        "-m",
        "locust",
        "--locustfile",
        str(LOCUSTFILE),
        "--headless",
        "--users",
        str(users),
        "--spawn-rate",
        str(users),
        "--run-time",
        f"{seconds}s",
        "--stop-timeout",
        "10",
        "--host",
        host,
        "--only-summary",
        "--loglevel",
        "WARNING",
    ]
    with open(log, "w") as output:
        subprocess.run(
            command,
            cwd=PROJECT_ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            timeout=seconds + 60,
            check=False,  # it exits 1 when a request failed; the caller asserts on the stats
        )
    if not result_file.exists():
        raise RuntimeError(f"locust wrote no result:\n{log.read_text()[-3000:]}")
    result = json.loads(result_file.read_text())
    return LoadRun(
        stats={entry["name"]: RequestStats(**entry) for entry in result["stats"]},
        failures=result["failures"],
        log=log,
    )
