"""pytest plugin: one PostgreSQL per test run, every schema migrated once into a template database,
and a fresh copy of that template for each test that asks for `database_url`."""

from __future__ import annotations

import json
import os
import secrets
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from joserfc.jwk import RSAKey
from psycopg import sql

from devstack.postgres import EmbeddedPostgres
from shared.db import url_with_database
from shared.migrations import migrate_all
from shared.tokens import (
    SERVICES,
    InternalTokenVerifier,
    Principal,
    sign_internal_token,
)

TEST_PSEUDONYM_KEY = "test-pseudonym-key-0123456789abcdef0123456789"
TEST_FEED_KEY = "test-trends-feed-key-0123456789abcdef0123456789"
TEST_REPORTING_FEED_KEY = "test-reporting-feed-key-0123456789abcdef012345"
TEST_QA_TEXT_CHECK_KEY = "test-qa-text-check-key-0123456789abcdef0123456"
# The gateway key of the service tests (made once per test run; the gateway apps of the gateway
# tests make their own key ring under their DATA_DIR).
TEST_GATEWAY_KEY = RSAKey.generate_key(2048, parameters={"kid": "test-gateway", "alg": "RS256"})


def internal_token_settings(folder: Path) -> dict:
    """Settings overrides that make a service trust the test gateway key (its public JWKS written
    to `folder`) and the test keys of the permitted service calls."""
    folder.mkdir(parents=True, exist_ok=True)
    jwks = folder / "test_gateway_public_jwks.json"
    jwks.write_text(json.dumps({"keys": [TEST_GATEWAY_KEY.as_dict(private=False)]}))
    return {
        "internal_token_jwks": str(jwks),
        "trends_feed_key": TEST_FEED_KEY,
        "reporting_feed_key": TEST_REPORTING_FEED_KEY,
        "qa_text_check_key": TEST_QA_TEXT_CHECK_KEY,
    }


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """Admin URL of the run's server: DATABASE_URL when set, else an embedded server of our own."""
    if os.environ.get("DATABASE_URL"):
        yield os.environ["DATABASE_URL"]
        return
    folder = Path(tempfile.mkdtemp(prefix="cr-test-pg-"))
    server = EmbeddedPostgres(folder / "pgdata")
    url = server.start(fsync=False)
    try:
        yield url
    finally:
        server.remove()


def _admin(url: str) -> psycopg.Connection:
    return psycopg.connect(url_with_database(url, "postgres"), autocommit=True)


@pytest.fixture(scope="session")
def template_database(pg_server: str) -> Iterator[str]:
    """Name of a database with every service schema migrated, used as the template of each test."""
    name = f"cr_tpl_{secrets.token_hex(4)}"
    migrated_database(pg_server, name)
    try:
        yield name
    finally:
        with _admin(pg_server) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def migrated_database(server_url: str, name: str) -> str:
    """Create database `name` on the server, migrate every service schema; returns its URL."""
    with _admin(server_url) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = url_with_database(server_url, name)
    migrate_all(url)
    return url


def clone_database(pg_server: str, template: str) -> str:
    """A new database copied from `template`; returns its name."""
    name = f"cr_test_{secrets.token_hex(6)}"
    with _admin(pg_server) as conn:
        version = conn.info.server_version
        strategy = sql.SQL(" STRATEGY FILE_COPY") if version >= 150000 else sql.SQL("")
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}{}").format(
                sql.Identifier(name), sql.Identifier(template), strategy
            )
        )
    return name


def drop_database(pg_server: str, name: str) -> None:
    """Drop a test database even while connections are still open."""
    with _admin(pg_server) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.fixture
def database_url(pg_server: str, template_database: str) -> Iterator[str]:
    """Admin URL of a database of this test's own, migrated, dropped afterwards."""
    name = clone_database(pg_server, template_database)
    try:
        yield url_with_database(pg_server, name)
    finally:
        drop_database(pg_server, name)


@pytest.fixture
def app_config(database_url: str, tmp_path: Path) -> dict:
    """Settings overrides for a service app under test: its own database, fixed test secrets."""
    return {
        "cr_env": "test",
        "database_url": database_url,
        "data_dir": str(tmp_path / "data"),
        **internal_token_settings(tmp_path / "keys"),
        "pseudonym_key": TEST_PSEUDONYM_KEY,
        "db_pool_min": 1,
        "db_pool_max": 4,
    }


def internal_headers(
    *roles: str,
    teams: tuple[str, ...] = (),
    subject: str = "test-client",
    kind: str = "client",
    audience: str | tuple[str, ...] = SERVICES,
) -> dict[str, str]:
    """Headers a service accepts as coming from the (test) gateway for a caller with these roles;
    by default the token names every service, so one helper serves every service's tests."""
    principal = Principal(
        subject=subject, roles=frozenset(roles), teams=frozenset(teams), kind=kind
    )
    token = sign_internal_token(
        principal, TEST_GATEWAY_KEY, audience=audience, request_id="test-request-0001"
    )
    return {"Authorization": f"Bearer {token}"}


class _KeysOf:
    """The verifying keys of a gateway app's key ring, as a service's verifier asks for them."""

    def __init__(self, key_ring) -> None:
        self.key_ring = key_ring

    def key_for(self, _kid: str | None):
        return self.key_ring.verifying


def forwarded_principal(gateway_app, token: str, service: str) -> tuple[Principal, str]:
    """Check a token a gateway app forwarded as `service` checks it (raises InvalidToken)."""
    verifier = InternalTokenVerifier(service, _KeysOf(gateway_app.extensions["key_ring"]))
    return verifier.verify(token)


def create_client(
    env: dict[str, str], name: str, *roles: str, teams: tuple[str, ...] = ()
) -> tuple[str, str]:
    """Create an OAuth client with the real CLI (`flask --app gateway create-client`) and return
    its id and secret, parsed from the two lines the command prints."""
    import subprocess
    import sys

    from shared.config import PROJECT_ROOT

    command = [sys.executable, "-m", "flask", "--app", "gateway", "create-client", name]
    for role in roles:
        command += ["--role", role]
    for team in teams:
        command += ["--team", team]
    output = subprocess.run(
        command, cwd=PROJECT_ROOT, env=env, check=True, capture_output=True, text=True, timeout=60
    ).stdout
    values = dict(line.split(": ", 1) for line in output.strip().splitlines() if ": " in line)
    return values["client_id"], values["client_secret"]


def client_token(gateway_url: str, client_id: str, secret: str) -> str:
    """An access token for a client from the gateway's token endpoint (client credentials)."""
    import requests

    answer = requests.post(
        f"{gateway_url}/oauth/token",
        auth=(client_id, secret),
        data={"grant_type": "client_credentials"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["access_token"]
