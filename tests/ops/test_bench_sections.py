"""Every `make bench` section still runs: each at a tiny size, so a change that breaks one (a code
check the synthetic data no longer passes, a renamed route) fails here and not months later in a
benchmark run. The figures of such runs mean nothing; `make bench` writes the real ones."""

import os
import re
import subprocess
import sys

import pytest

from shared.config import PROJECT_ROOT

TINY = [
    "--rounds=1",
    "--seconds=0.5",
    "--trend-rows=2000",
    "--trend-calls=5",
    "--dashboard-rows=2000",
    "--import-rows=2000",
    "--pandas-rows=500",
    "--export-rows=2000",
    "--qa-reviews=2000",
    "--qa-sessions=2000",
    "--projection-rows=2000",
    "--freshness-seconds=2",
    "--no-doc",
]


def bench(*args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "COV_"))}
    return subprocess.run(
        [sys.executable, "-m", "bench.run", *args],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=environment,
    )


def sections() -> list[str]:
    """The sections `--only` offers, as bench/run.py lists them (a new one is tested too)."""
    usage = bench("--help", timeout=60).stdout
    return re.search(r"--only \{([a-z,-]+)\}", usage).group(1).split(",")


@pytest.mark.parametrize("section", sections())
def test_the_bench_section_runs_at_a_tiny_size(section):
    result = bench(f"--only={section}", *TINY)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "\n## " in "\n" + result.stdout  # its section of docs/benchmarks.md
