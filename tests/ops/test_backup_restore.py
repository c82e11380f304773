"""The backup drill of docs/operations.md, command for command: `pg_dump --format=custom` of a
populated platform database, the service roles and an empty database on a new server, `pg_restore`,
`migrate` (nothing to apply), the same rows in every table of every schema, and a service that reads
the restored sessions and writes new ones."""

import os
import re
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from devstack.demo import PATTERNS, seed_demo_data
from devstack.postgres import EmbeddedPostgres, pg_binary
from devstack.processes import start_platform
from devstack.testing import (
    clone_database,
    drop_database,
    internal_headers,
    internal_token_settings,
)
from gateway.seed import seed_demo_identities, temporary_client
from persistence_svc.app import create_app
from shared.config import PROJECT_ROOT, load_settings
from shared.db import url_with_database
from shared.migrations import SERVICES
from shared.pseudonyms import engineer_code
from tests.common.builders import make_session
from tests.common.platform import Caller

OPERATIONS = PROJECT_ROOT / "docs" / "operations.md"
RESTORED = "cr_restored"
SCHEMAS = tuple(SERVICES)
# tables every populated platform has rows in (the rest may be empty: codes, tokens, outbox ...)
POPULATED = {
    "gateway.oauth_clients",
    "gateway.users",
    "gateway.audit_events",
    "persistence.sessions",
    "persistence.change_log",
    "persistence.imports",
    "trends.sessions",
    "trends.feed_state",
    "trends.team_weekly",
    "trends.thresholds",
    "trends.alerts",
    "qa.validation_events",
    "qa.reviews",
}


def run(*command: str, env: dict | None = None) -> str:
    return subprocess.run(
        command, check=True, capture_output=True, text=True, timeout=300, env=env, cwd=PROJECT_ROOT
    ).stdout


def table_counts(url: str) -> dict[str, int]:
    """Rows of every table of the service schemas (yoyo's bookkeeping tables included)."""
    with psycopg.connect(url) as conn:
        tables = conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables"
            " WHERE table_schema = ANY(%s) AND table_type = 'BASE TABLE'",
            [list(SCHEMAS)],
        ).fetchall()
        return {
            f"{schema}.{table}": conn.execute(
                sql.SQL("SELECT count(*) FROM {}.{}").format(
                    sql.Identifier(schema), sql.Identifier(table)
                )
            ).fetchone()[0]
            for schema, table in tables
        }


@pytest.fixture(scope="module")
def source(pg_server, template_database, tmp_path_factory):
    """A platform database as `make run` leaves it, plus a `flask seed` import and an evaluation;
    the trends worker is stopped then, so that nothing writes by itself during the dump."""
    name = clone_database(pg_server, template_database)
    url = url_with_database(pg_server, name)
    running = start_platform(
        url,
        tmp_path_factory.mktemp("backup"),
        ["gateway", "persistence", "trends", "qa", "trends-worker"],
    )
    try:
        settings = load_settings({**running.env, "DATABASE_URL": url})
        seed_demo_identities(settings)
        with temporary_client(settings, "qa_lead") as reviewer:
            seed_demo_data(
                running.gateway,
                "demo-agent",
                "demo-agent-secret",
                reviewer,
                progress=lambda _: None,
            )
        run(
            sys.executable, "-m", "flask", "--app", "persistence_svc", "seed", "--rows", "500",
            env=running.env,
        )  # fmt: skip
        # The worker stops before the evaluation: an evaluation request at the moment the worker
        # evaluates too can lose the race for a new alert (alerts_live_idx) and answer 409.
        running.stop("trends-worker")
        with temporary_client(settings, "admin") as admin:
            evaluated = Caller(running.gateway, *admin).request("POST", "/api/v1/trends/evaluate")
            assert evaluated.status_code == 200, evaluated.text
        key = (Path(running.env["DATA_DIR"]) / "secrets" / "pseudonym_key").read_text().strip()
        yield url, key
    finally:
        running.stop()
        drop_database(pg_server, name)


@pytest.fixture(scope="module")
def new_server(tmp_path_factory):
    server = EmbeddedPostgres(tmp_path_factory.mktemp("restore") / "pgdata")
    url = server.start(fsync=False)
    yield url
    server.remove()


@pytest.fixture(scope="module")
def drill(source, new_server, tmp_path_factory):
    """The documented commands, in order; returns what the test compares."""
    database_url, key = source
    dump = tmp_path_factory.mktemp("dump") / "cr.dump"
    before = table_counts(database_url)
    run(pg_binary("pg_dump"), "--format=custom", f"--file={dump}", database_url)
    after = table_counts(database_url)
    roles = [arg for schema in SCHEMAS for arg in ("-c", f"CREATE ROLE cr_{schema} LOGIN")]
    run(pg_binary("psql"), "-v", "ON_ERROR_STOP=1", new_server, *roles)
    run(pg_binary("psql"), "-v", "ON_ERROR_STOP=1", new_server, "-c", f"CREATE DATABASE {RESTORED}")
    restored_url = url_with_database(new_server, RESTORED)
    run(pg_binary("pg_restore"), "--exit-on-error", f"--dbname={restored_url}", str(dump))
    environ = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST")}
    migrated = run(
        sys.executable,
        "-m",
        "shared.migrations",
        env={**environ, "DATABASE_URL": restored_url},
    )
    return {
        "before": before,
        "after": after,
        "dump": dump,
        "restored_url": restored_url,
        "migrated": migrated,
        "key": key,
        "source_url": database_url,
    }


def test_the_dump_is_a_custom_format_archive_of_a_quiet_database(drill):
    assert drill["dump"].read_bytes()[:5] == b"PGDMP"  # pg_restore's own format
    assert drill["before"] == drill["after"], "nothing wrote during the dump"
    empty = sorted(table for table in POPULATED if not drill["before"].get(table))
    assert empty == [], "the source database is populated in every schema"


def test_the_restored_database_needs_no_migration(drill):
    assert drill["migrated"].strip() == str(dict.fromkeys(SCHEMAS, 0))


def test_every_table_of_every_schema_has_the_same_rows(drill):
    restored = table_counts(drill["restored_url"])
    assert restored == drill["before"]
    assert {table.split(".")[0] for table in restored} == set(SCHEMAS)
    assert restored["persistence.sessions"] == 1514 + 500


def test_a_service_on_the_restored_database_reads_and_writes_sessions(drill, tmp_path):
    with psycopg.connect(drill["source_url"]) as conn:
        session_id, code, case = conn.execute(
            "SELECT session_id, engineer_code, case_ref FROM persistence.sessions"
            " ORDER BY session_id LIMIT 1"
        ).fetchone()
    app = create_app(
        {
            "cr_env": "test",
            "database_url": drill["restored_url"],
            "data_dir": str(tmp_path),
            **internal_token_settings(tmp_path / "keys"),
            "pseudonym_key": drill["key"],  # the same key: the same pseudonyms
        }
    )
    try:
        client = app.test_client()
        read = client.get(f"/api/v1/sessions/{session_id}", headers=internal_headers("admin"))
        assert read.status_code == 200, read.json
        assert (read.json["engineer_code"], read.json["case_ref"]) == (code, case)

        name, _team = PATTERNS["recurring_issue"]
        mira = engineer_code(name, drill["key"].encode())
        history = client.get(
            f"/api/v1/sessions?engineer_code={mira}&limit=100", headers=internal_headers("admin")
        )
        assert [item["root_cause"] for item in history.json["items"]] == ["knowledge_gap"] * 4

        written = client.post(
            "/api/v1/sessions", json=make_session(), headers=internal_headers("agent")
        )
        assert written.status_code == 201, written.json  # the service role owns its tables
    finally:
        app.extensions["db_pool"].close()


def test_operations_guide_shows_exactly_these_commands():
    guide = OPERATIONS.read_text()
    commands = (
        'pg_dump --format=custom --file=cr.dump "$DATABASE_URL"',
        "psql -v ON_ERROR_STOP=1 \"$NEW_SERVER_URL\" -c 'CREATE ROLE cr_gateway LOGIN' "
        "-c 'CREATE ROLE cr_persistence LOGIN' -c 'CREATE ROLE cr_trends LOGIN' "
        "-c 'CREATE ROLE cr_qa LOGIN'",
        "psql -v ON_ERROR_STOP=1 \"$NEW_SERVER_URL\" -c 'CREATE DATABASE cr_restored'",
        'pg_restore --exit-on-error --dbname="$RESTORED_URL" cr.dump',
        'DATABASE_URL="$RESTORED_URL" .venv/bin/python -m shared.migrations',
    )
    shown = " ".join(re.sub(r"\\\n\s*", "", guide).split())
    missing = [command for command in commands if command not in shown]
    assert missing == []
