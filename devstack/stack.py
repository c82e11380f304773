"""`make run`: start PostgreSQL (embedded unless DATABASE_URL is set), migrate, seed, then run every
process under one process manager until Ctrl-C, and stop the embedded server last."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import threading
from dataclasses import dataclass, replace
from pathlib import Path

from devstack.postgres import EmbeddedPostgres, wait_until_ready
from shared.config import PROJECT_ROOT, Settings, load_settings
from shared.migrations import migrate_all

KEEP_ALIVE_SECONDS = 75
# One worker per gunicorn, here as in every deployment (threads or greenlets inside it; more
# capacity means more processes/replicas): the Prometheus client counts per process and the
# gateway's in-memory limits count per process, so a second worker would halve every scrape and
# double every limit. tests/ops/test_deployment_files.py holds compose, Kubernetes and the image to it.
WORKERS_PER_PROCESS = 1


# The gateway faces clients directly: its worker reads each request header in a greenlet with a
# deadline (shared/server.py), so slow or stalled clients hold no thread and are cut after
# HEADER_TIMEOUT. The services behind it, reached only by the gateway and the trends worker, keep
# gunicorn's threaded worker (persistence forks validation workers, which gevent's monkey-patching
# does not suit).
GATEWAY_WORKER = "shared.server.HeaderTimeoutWorker"


@dataclass(frozen=True)
class Process:
    """One long-running process of the platform: a gunicorn app on a port, or a module (`app` is
    then `-m module`): an ASGI server given `--port`, or a worker with `port` 0."""

    name: str
    app: str
    port: int
    worker_class: str = "gthread"

    def command(self) -> list[str]:
        if self.app.startswith("-m "):
            module = [sys.executable, "-m", self.app.removeprefix("-m ")]
            return [*module, "--port", str(self.port)] if self.port else module  # an ASGI server
        if self.worker_class == "gthread":
            # Keep idle connections open far longer than gunicorn's 2 s: the gateway reuses its
            # pooled connections, and one closed by the service just as it is reused fails (503).
            model = ["--threads", "16", "--keep-alive", str(KEEP_ALIVE_SECONDS)]
        else:
            model = []  # HEADER_TIMEOUT is also the gateway's keep-alive
        return [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--worker-class",
            self.worker_class,
            "--workers",
            str(WORKERS_PER_PROCESS),
            *model,
            "--no-control-socket",  # several gunicorns share a host: one socket path would clash
            "--graceful-timeout",
            "5",
            "--error-logfile",
            "-",
            self.app,
        ]


PROCESSES = (
    Process("gateway", "gateway.app:create_app()", 8000, GATEWAY_WORKER),
    Process("persistence", "persistence_svc.app:create_app()", 8001),
    Process("trends", "trends_svc.app:create_app()", 8002),
    Process("qa", "qa_svc.app:create_app()", 8003),
    Process("dashboard", "dashboard_svc.app:create_app()", 8050),
    Process("trends-worker", "-m trends_svc.worker", 0),
    Process("mcp", "-m mcp_svc", 8004),
)


def port_of(name: str, settings: Settings) -> int:
    """A process's port under `make run` (`<NAME>_PORT`; 0 for workers)."""
    return getattr(settings, f"{name}_port", 0)


def start_database(settings: Settings) -> tuple[str, EmbeddedPostgres | None]:
    """The admin URL to use, starting the embedded server under DATA_DIR when DATABASE_URL is unset.

    The embedded server's URL is written to DATA_DIR/database_url so that `flask` commands run in
    the same checkout reach the same database.
    """
    if settings.database_url:
        wait_until_ready(settings.database_url)
        return settings.database_url, None
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    server = EmbeddedPostgres(settings.data_dir / "pg")
    server.stop("fast")  # a server left over by a killed run holds the folder; start afresh
    url = server.start()
    (settings.data_dir / "database_url").write_text(url + "\n")
    return url, server


def process_environment(
    admin_url: str, environ: dict[str, str], settings: Settings
) -> dict[str, str]:
    """Environment shared by every process: the database and where each service listens."""
    env = dict(environ)
    env["DATABASE_URL"] = admin_url
    env["PYTHONUNBUFFERED"] = "1"
    for name, variable in (
        ("persistence", "PERSISTENCE_URL"),
        ("trends", "TRENDS_URL"),
        ("qa", "QA_URL"),
        ("dashboard", "DASHBOARD_URL"),
        ("mcp", "MCP_URL"),
    ):
        env.setdefault(variable, f"http://127.0.0.1:{port_of(name, settings)}")
    env.setdefault("GATEWAY_ISSUER", f"http://127.0.0.1:{port_of('gateway', settings)}")
    env.setdefault("GATEWAY_URL", f"http://127.0.0.1:{port_of('gateway', settings)}")
    return env


def seed_identities(settings: Settings, admin_url: str) -> None:
    """Demo identities, never in production."""
    from gateway.seed import seed_demo_identities

    seed_demo_identities(settings.with_overrides(database_url=admin_url))


def seed_data_when_ready(settings: Settings, admin_url: str) -> None:
    """Wait for the services, then post the demo analyses and validation log as the demo agent
    and a few QA decisions as a temporary QA client."""
    from devstack.demo import seed_demo_data
    from devstack.processes import wait_ready
    from gateway.seed import temporary_client

    gateway = f"http://127.0.0.1:{port_of('gateway', settings)}"
    try:
        for name in ("gateway", "persistence", "qa"):
            wait_ready(f"http://127.0.0.1:{port_of(name, settings)}", timeout=60)
        with temporary_client(settings.with_overrides(database_url=admin_url), "qa_lead") as qa:
            totals = seed_demo_data(
                gateway,
                "demo-agent",
                "demo-agent-secret",
                reviewer=qa,
                progress=lambda line: print(line, flush=True),
            )
    except Exception as exc:
        print(f"demo data not seeded: {type(exc).__name__}: {exc}", flush=True)
        return
    print("demo data: " + ", ".join(f"{key} {value}" for key, value in totals.items()), flush=True)


def banner(settings: Settings) -> str:
    """What `make run` prints once everything is starting: URLs and demo credentials."""
    gateway = f"http://127.0.0.1:{port_of('gateway', settings)}"
    return "\n".join(
        [
            "",
            "CR Assistant platform is starting:",
            f"  API (through the gateway)  {gateway}/api/v1",
            f"  API docs (Swagger UI)      {gateway}/api/docs",
            f"  OpenID discovery           {gateway}/.well-known/openid-configuration",
            f"  Dashboard                  {gateway}/dashboard/",
            f"  QA UI                      {gateway}/qa/",
            f"  MCP server (agents)        {gateway}/mcp",
            "",
            "Demo identities:",
            "  agent client   demo-agent / demo-agent-secret   (client_credentials)",
            "  manager        manager@demo.local / demo        (team emea-1)",
            "  QA lead        qa@demo.local / demo",
            "  admin          admin@demo.local / demo",
            f"  sign in at     {gateway}/login",
            "",
            "Get a token:",
            "  curl -s -u demo-agent:demo-agent-secret -d grant_type=client_credentials \\",
            f"       {gateway}/oauth/token",
            "",
            "Ctrl-C stops everything.",
            "",
        ]
    )


def run(environ: dict[str, str]) -> int:
    """Start the whole platform in the foreground; returns the process manager's exit code."""
    from honcho.manager import Manager

    settings = load_settings(environ)
    admin_url, server = start_database(settings)
    try:
        migrated = migrate_all(admin_url)
        print("migrations applied:", ", ".join(f"{k}={v}" for k, v in migrated.items()))
        demo = not settings.production
        if demo:
            seed_identities(settings, admin_url)
        env = process_environment(admin_url, environ, settings)
        manager = Manager()
        for process in PROCESSES:
            command = replace(process, port=port_of(process.name, settings)).command()
            manager.add_process(process.name, shlex.join(command), env=env, cwd=str(PROJECT_ROOT))
        print(banner(settings), flush=True)
        if demo and settings.seed:
            threading.Thread(
                target=seed_data_when_ready, args=(settings, admin_url), daemon=True
            ).start()
        manager.loop()
        return manager.returncode or 0
    finally:
        if server is not None:
            server.stop("fast")
            print("embedded PostgreSQL stopped.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.stack", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="start PostgreSQL, migrate, seed and run every process")
    sub.add_parser("migrate", help="apply every schema's pending migrations")
    sub.add_parser("db-url", help="start the database if needed and print its admin URL")
    args = parser.parse_args(argv)
    environ = dict(os.environ)
    if args.command == "run":
        return run(environ)
    settings = load_settings(environ)
    if args.command == "migrate":
        url = settings.database_url or _running_embedded_url(settings)
        print(migrate_all(url, settings.service_db_passwords))
        return 0
    print(settings.database_url or _running_embedded_url(settings))
    return 0


def _running_embedded_url(settings: Settings) -> str:
    url_file = settings.data_dir / "database_url"
    if not url_file.exists() or not Path(settings.data_dir / "pg" / "postmaster.pid").exists():
        raise SystemExit("No database: set DATABASE_URL or start the platform with `make run`.")
    return url_file.read_text().strip()


if __name__ == "__main__":
    sys.exit(main())
