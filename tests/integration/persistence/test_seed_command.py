"""`flask --app persistence_svc seed`: synthetic sessions through the import path, exact counts,
no names or case numbers stored, the same sessions for the same seed, and refused in production."""

import collections
import os
import re
import subprocess
import sys
from datetime import date

import psycopg
import pytest

from devstack import seed
from devstack.postgres import pg_binary
from devstack.testing import TEST_PSEUDONYM_KEY, clone_database, drop_database
from persistence_svc.app import create_app
from shared.config import PROJECT_ROOT
from shared.db import url_with_database
from shared.pseudonyms import engineer_code

UNTIL = "2026-03-01"
SMALL = ["seed", "--size", "small", "--seed", "7", "--until", UNTIL]


def small_plan(seed_value=7):
    return seed.Plan(rows=1000, days=180, seed=seed_value, until=date.fromisoformat(UNTIL))


def invoke(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def scalar(database_url, query):
    with psycopg.connect(database_url) as conn:
        return conn.execute(query).fetchone()[0]


def engineers_by_team(database_url):
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT engineer_code, team, count(*) FROM persistence.sessions GROUP BY 1, 2"
        ).fetchall()
    return collections.Counter({(code, team): count for code, team, count in rows})


@pytest.fixture
def other_database(pg_server, template_database):
    name = clone_database(pg_server, template_database)
    yield url_with_database(pg_server, name)
    drop_database(pg_server, name)


def test_small_size_loads_exactly_its_rows_through_the_import(app, database_url):
    result = invoke(app, *SMALL)
    assert result.exit_code == 0, result.output
    assert result.output.startswith(
        f"seeding 1,000 sessions over 180 days up to {UNTIL} (seed 7, 48 engineers)\n"
    )
    assert re.search(
        r"^completed: 1,000 of 1,000 rows in [\d.]+ s \([\d,]+ rows/s\) after [\d.]+ s "
        r"generating and checking [\d.,]+ MB; inserted 1,000, unchanged 0, rejected 0; "
        r"import [0-9a-f-]{36}$",
        result.output,
        re.MULTILINE,
    ), result.output
    assert scalar(database_url, "SELECT count(*) FROM persistence.sessions") == 1000
    with psycopg.connect(database_url) as conn:
        report = conn.execute(
            "SELECT status, total, processed, inserted, unchanged, rejected, created_by"
            " FROM persistence.imports"
        ).fetchall()
    assert report == [("completed", 1000, 1000, 1000, 0, 0, "flask seed")]
    key = TEST_PSEUDONYM_KEY.encode()
    staff = seed.engineers(small_plan())
    counts = engineers_by_team(database_url)
    assert {code for code, _ in counts} == {engineer_code(name, key) for name, _, _ in staff}
    teams = collections.Counter()
    for (_, team), count in counts.items():
        teams[team] += count
    assert set(teams) == {"emea-1", "emea-2", "amer-1", "apac-1"}
    assert sum(teams.values()) == 1000


def test_no_name_or_case_number_reaches_the_database(app, database_url):
    assert invoke(app, *SMALL).exit_code == 0
    dump = subprocess.run(
        [pg_binary("pg_dump"), "--data-only", database_url],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    assert "emea-1" in dump  # the dump holds the rows
    cells = list(seed.rows(small_plan()))
    names = {row["engineer"] for row in cells}
    case_numbers = {row["case_number"] for row in cells}
    assert len(names) == 48 and len(case_numbers) > 990
    assert [name for name in names if name in dump] == []
    assert [number for number in case_numbers if number in dump] == []


def test_same_seed_gives_the_same_sessions_and_a_second_run_adds_nothing(
    app, app_config, database_url, other_database
):
    assert invoke(app, *SMALL).exit_code == 0
    again = invoke(app, *SMALL)
    assert again.exit_code == 0, again.output
    assert "inserted 0, unchanged 1,000, rejected 0" in again.output
    assert scalar(database_url, "SELECT count(*) FROM persistence.sessions") == 1000

    elsewhere = create_app({**app_config, "database_url": other_database})
    try:
        assert invoke(elsewhere, *SMALL).exit_code == 0
        assert engineers_by_team(other_database) == engineers_by_team(database_url)
        assert invoke(elsewhere, *SMALL[:4], "8", *SMALL[5:]).exit_code == 0  # --seed 8
    finally:
        elsewhere.extensions["db_pool"].close()
    assert scalar(other_database, "SELECT count(*) FROM persistence.sessions") == 2000
    assert seed.engineers(small_plan(8)) != seed.engineers(small_plan(7))


def test_rows_option_and_progress_lines(app, database_url, monkeypatch):
    monkeypatch.setattr(seed, "PROGRESS_SECONDS", 0.05)
    result = invoke(app, "seed", "--rows", "5000", "--days", "30", "--seed", "3")
    assert result.exit_code == 0, result.output
    progress = re.findall(r"^  ([\d,]+) / 5,000 rows, [\d,]+ rows/s$", result.output, re.MULTILINE)
    assert progress, result.output
    assert [int(count.replace(",", "")) for count in progress] == sorted(
        int(count.replace(",", "")) for count in progress
    )
    assert "inserted 5,000" in result.output
    assert scalar(database_url, "SELECT count(*) FROM persistence.sessions") == 5000
    assert (
        scalar(
            database_url,
            "SELECT count(*) FROM persistence.sessions"
            " WHERE analysed_at < now() - interval '31 days' OR analysed_at > now()",
        )
        == 0
    )


def test_refused_in_production_unless_forced(app_config, database_url):
    app = create_app({**app_config, "cr_env": "production"})
    try:
        refused = invoke(app, "seed", "--rows", "10")
        assert refused.exit_code == 1
        assert "CR_ENV=production" in refused.output and "--force" in refused.output
        assert scalar(database_url, "SELECT count(*) FROM persistence.sessions") == 0
        forced = invoke(app, "seed", "--rows", "10", "--force")
        assert forced.exit_code == 0, forced.output
    finally:
        app.extensions["db_pool"].close()
    assert scalar(database_url, "SELECT count(*) FROM persistence.sessions") == 10


def test_the_flask_command_line_finds_the_command(database_url, tmp_path):
    env = {
        **{key: value for key, value in os.environ.items() if not key.startswith("PYTEST")},
        "DATABASE_URL": database_url,
        "DATA_DIR": str(tmp_path),
        "CR_ENV": "test",
        "PSEUDONYM_KEY": TEST_PSEUDONYM_KEY,
    }
    command = [sys.executable, "-m", "flask", "--app", "persistence_svc", "seed", "--rows", "50"]
    result = subprocess.run(
        command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "inserted 50, unchanged 0, rejected 0" in result.stdout
    assert scalar(database_url, "SELECT count(*) FROM persistence.sessions") == 50
