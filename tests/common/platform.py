"""Real processes through the gateway: one platform per test session on its own database, shared by
the end-to-end, fuzzing, security and load tests (a pytest plugin, see tests/conftest.py)."""

import subprocess
import sys
import time

import pytest
import requests

from devstack.processes import start_platform
from devstack.testing import client_token, clone_database, create_client, drop_database
from shared.config import PROJECT_ROOT
from shared.db import url_with_database


@pytest.fixture(scope="session")
def platform_db(pg_server, template_database):
    name = clone_database(pg_server, template_database)
    yield url_with_database(pg_server, name)
    drop_database(pg_server, name)


@pytest.fixture(scope="session")
def platform(platform_db, tmp_path_factory):
    running = start_platform(platform_db, tmp_path_factory.mktemp("platform"))
    yield running
    running.stop()


class Caller:
    """A client of the public API with a real bearer token from the gateway's token endpoint."""

    def __init__(self, base_url: str, client_id: str, secret: str):
        self.base_url = base_url
        self.session = requests.Session()
        token = client_token(base_url, client_id, secret)
        self.session.headers["Authorization"] = f"Bearer {token}"

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        return self.session.request(method, f"{self.base_url}{path}", timeout=30, **kwargs)


@pytest.fixture(scope="session")
def make_caller(platform):
    def make(*roles: str, teams: tuple[str, ...] = ()) -> Caller:
        client_id, secret = create_client(
            platform.env, f"e2e-{'-'.join(roles)}-{len(teams)}", *roles, teams=teams
        )
        return Caller(platform.gateway, client_id, secret)

    return make


@pytest.fixture(scope="session")
def agent(make_caller):
    return make_caller("agent")


@pytest.fixture(scope="session")
def admin(make_caller):
    return make_caller("admin")


def wait_for_report(url: str, headers: dict[str, str], done, timeout: float = 180) -> dict:
    """Poll an import report at `url` until `done(report)`; connection errors and non-200
    answers (a service restarting) are retried."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            report = requests.get(url, headers=headers, timeout=10)
            if report.status_code == 200 and done(report.json()):
                return report.json()
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise AssertionError("the import report did not reach the expected state")


def gateway_command(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """Run `flask --app gateway <args>` against the platform's database (the real CLI)."""
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "gateway", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


class ApiKey:
    """An API key made with `create-api-key`, and a client of the public API that sends it."""

    def __init__(self, base_url: str, name: str, key: str, prefix: str):
        self.base_url = base_url
        self.name = name
        self.key = key
        self.prefix = prefix
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {key}"

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        return self.session.request(method, f"{self.base_url}{path}", timeout=30, **kwargs)


@pytest.fixture(scope="session")
def make_api_key(platform):
    """`make(name, *roles, teams=(), expires_days=None)`: a new key from the real CLI."""

    def make(name: str, *roles: str, teams=(), expires_days: int | None = None) -> ApiKey:
        args = ["create-api-key", name]
        for role in roles:
            args += ["--role", role]
        for team in teams:
            args += ["--team", team]
        if expires_days is not None:
            args += ["--expires-days", str(expires_days)]
        done = gateway_command(platform.env, *args)
        assert done.returncode == 0, done.stderr
        values = dict(line.split(": ", 1) for line in done.stdout.splitlines() if ": " in line)
        return ApiKey(platform.gateway, name, values["api_key"], values["prefix"])

    return make
