"""Real platform processes on free ports, for end-to-end tests and benchmarks."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

import requests

from devstack.postgres import free_port
from devstack.stack import PROCESSES
from shared.config import PROJECT_ROOT


@dataclass
class RunningPlatform:
    """Started processes, their base URLs, and where their logs go."""

    urls: dict[str, str]
    log_dir: Path
    env: dict[str, str]
    children: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def gateway(self) -> str:
        return self.urls["gateway"]

    def logs(self) -> str:
        """Everything every process wrote so far (JSON log lines and gunicorn's own)."""
        return "".join(
            path.read_text(errors="replace") for path in sorted(self.log_dir.glob("*.log"))
        )

    def stop(self, name: str | None = None, sig: int = signal.SIGTERM) -> None:
        """Stop one process (or all) and wait for it."""
        for process_name in [name] if name else list(self.children):
            child = self.children.pop(process_name, None)
            if child is None or child.poll() is not None:
                continue
            # the whole process group: a gunicorn master and its workers, as a container stop
            # or an OOM kill of the service would end them
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, sig)
            try:
                child.wait(10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.pid, signal.SIGKILL)
                child.wait(5)

    def start(self, name: str, extra_env: dict[str, str] | None = None) -> None:
        """(Re)start one process on its port and wait until it is ready (workers: just start)."""
        self.spawn(name, extra_env)
        if name in self.urls:
            wait_ready(self.urls[name], self.children[name])

    def spawn(self, name: str, extra_env: dict[str, str] | None = None) -> None:
        """Start one process on its port without waiting for it."""
        process = next(p for p in PROCESSES if p.name == name)
        port = int(self.urls[name].rsplit(":", 1)[1]) if name in self.urls else 0
        with open(self.log_dir / f"{name}.log", "a") as log:
            self.children[name] = subprocess.Popen(
                replace(process, port=port).command(),
                cwd=PROJECT_ROOT,
                env={**self.env, **(extra_env or {})},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, stopped as one
            )


def wait_ready(base_url: str, child: subprocess.Popen | None = None, timeout: float = 30) -> None:
    """Poll `/readyz` until it answers 200; fail early when the process died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child is not None and child.poll() is not None:
            raise RuntimeError(f"{base_url} exited with {child.returncode}")
        try:
            if requests.get(f"{base_url}/readyz", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{base_url} not ready after {timeout} s")


# Services of the machine the tests must not lean on (a shared Redis would carry one run's rate-limit
# counts into another): a test that wants one starts its own and passes it in `extra_env`.
MACHINE_SERVICES = frozenset({"REDIS_URL"})


def start_platform(
    admin_url: str,
    work_dir: Path,
    names: Iterable[str] = (),
    extra_env: dict[str, str] | None = None,
) -> RunningPlatform:
    """Start the named processes (default: all) against `admin_url` on free ports."""
    wanted = list(names) or [process.name for process in PROCESSES]
    urls = {
        process.name: f"http://127.0.0.1:{free_port()}" for process in PROCESSES if process.port
    }
    log_dir = work_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    env = {
        **{
            key: value
            for key, value in os.environ.items()
            if not key.startswith("PYTEST") and key not in MACHINE_SERVICES
        },
        "DATABASE_URL": admin_url,
        "DATA_DIR": str(work_dir / "data"),
        "CR_ENV": "test",
        "PYTHONUNBUFFERED": "1",
        "PERSISTENCE_URL": urls["persistence"],
        "TRENDS_URL": urls["trends"],
        "QA_URL": urls["qa"],
        "DASHBOARD_URL": urls["dashboard"],
        "MCP_URL": urls["mcp"],
        "GATEWAY_ISSUER": urls["gateway"],
        "GATEWAY_URL": urls["gateway"],
        **(extra_env or {}),
    }
    env.pop("COV_CORE_SOURCE", None)
    platform = RunningPlatform(urls=urls, log_dir=log_dir, env=env)
    try:
        for name in wanted:
            platform.spawn(name)
        for name in wanted:
            if name in urls:
                wait_ready(urls[name], platform.children[name])
    except RuntimeError as error:
        platform.stop()
        tail = "".join(platform.logs().splitlines(keepends=True)[-30:])
        raise RuntimeError(f"{error}; last log lines:\n{tail}") from None
    except Exception:
        platform.stop()
        raise
    return platform
