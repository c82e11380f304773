"""The per-session summary of the validation log (qa.validation_sessions, migration 0007) that the
review queue, the next-session link and the sampling run read: it must say what aggregating the
log itself says, whoever writes the events, with concurrent writers, and for a log written before
the migration."""

import random
import shutil
import threading
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg import sql

import shared.migrations
from bench.qa_ui import SESSIONS_FROM_THE_LOG
from devstack.testing import drop_database, internal_headers
from qa_svc.app import create_app
from shared.db import url_with_database

# What the queue computed from the whole log before the summary existed: the oracle
FROM_THE_LOG = SESSIONS_FROM_THE_LOG + "ORDER BY session_id"
OUTCOMES = ("valid", "invalid", "error")
SUMMARIES = """
SELECT session_id, first_seen_at, last_seen_at, errors, agent_version, restart_offered,
       confidence_overall
FROM validation_sessions ORDER BY session_id
"""


def connect(url: str, **options) -> psycopg.Connection:
    return psycopg.connect(url, options="-c search_path=qa", **options)


def summaries_and_log(url: str) -> tuple[list, list]:
    with connect(url) as conn:
        return conn.execute(SUMMARIES).fetchall(), conn.execute(FROM_THE_LOG).fetchall()


@pytest.fixture
def client(app_config):
    app = create_app(app_config)
    yield app.test_client()
    app.extensions["db_pool"].close()


def test_the_summary_says_what_the_log_says_for_every_writer(client, database_url):
    checked, reported, direct = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    agent = internal_headers("agent")
    for value in ("1234", "12-45", "abc", "12345678"):  # three invalid entries: a restart
        response = client.post(
            "/api/v1/validation/check",
            headers=agent,
            json={
                "session_id": str(checked),
                "field": "case_number",
                "value": value,
                "agent_version": "3.7.0",
            },
        )
        assert response.status_code == 200, response.json
    assert response.json["valid"] and not response.json["restart_offered"]
    earlier = datetime.now(UTC) - timedelta(hours=2)
    events = [
        {
            "session_id": str(reported),
            "field": "model",
            "outcome": "error",
            "code": "model_timeout",
            "agent_version": "3.7.1",
            "time": (earlier + timedelta(minutes=m)).isoformat(),
            "confidence_overall": confidence,
        }
        for m, confidence in ((0, 0.8), (5, 0.41), (9, None))
    ] + [
        {
            "session_id": str(checked),
            "field": "review",
            "outcome": "valid",
            "agent_version": "3.10.0",
            "confidence_overall": 0.93,
        }
    ]
    response = client.post("/api/v1/validation/events", headers=agent, json={"events": events})
    assert response.status_code == 201, response.json
    with connect(database_url) as conn:  # a writer outside the service (a restore, a script)
        conn.execute(
            "INSERT INTO validation_events (session_id, source, field, outcome, occurred_at) "
            "VALUES (%s, 'check', 'parts', 'valid', now() - interval '1 day')",
            [direct],
        )

    summaries, log = summaries_and_log(database_url)
    assert summaries == log
    by_session = {row[0]: row for row in summaries}
    assert by_session[checked][3:6] == (3, "3.7.0", True)  # max() of text, as the queue had it
    assert float(by_session[checked][6]) == 0.93
    assert by_session[reported][3] == 3 and float(by_session[reported][6]) == 0.41
    assert by_session[direct][3:6] == (0, None, False)

    queue = client.get("/api/v1/qa/reviews?limit=10", headers=internal_headers("qa_lead"))
    assert queue.status_code == 200, queue.json
    assert [item["session_id"] for item in queue.json["items"]] == [
        str(checked),
        str(reported),
        str(direct),
    ]


def test_concurrent_writers_leave_each_session_its_full_summary(database_url):
    """Eight writers log events for the same four sessions at once, one to three sessions a
    statement in any order: no deadlock, and every summary adds up to the whole log."""
    sessions = [uuid.uuid4() for _ in range(4)]
    failures: list[BaseException] = []
    start = threading.Barrier(8)

    def write(seed: int) -> None:
        rng = random.Random(seed)
        try:
            with connect(database_url, autocommit=True) as conn:
                start.wait()
                for _ in range(80):
                    chosen = rng.sample(sessions, rng.randint(1, 3))
                    outcomes = [rng.choice(OUTCOMES) for _ in chosen]
                    conn.execute(
                        "INSERT INTO validation_events (session_id, source, field, outcome, "
                        "agent_version, confidence_overall) "
                        "SELECT * FROM unnest(%s::uuid[], %s::text[], %s::text[], %s::text[], "
                        "%s::text[], %s::numeric[])",
                        [
                            chosen,
                            ["check"] * len(chosen),
                            [rng.choice(("engineer", "parts")) for _ in chosen],
                            outcomes,
                            [f"3.7.{rng.randint(0, 9)}" for _ in chosen],
                            [round(rng.random(), 4) for _ in chosen],
                        ],
                    )
        except BaseException as error:  # reported by the test thread
            failures.append(error)

    threads = [threading.Thread(target=write, args=(seed,)) for seed in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    summaries, log = summaries_and_log(database_url)
    assert len(summaries) == 4
    assert summaries == log


@pytest.fixture
def unmigrated_database(pg_server):
    """A database of this test's own with nothing migrated yet (dropped afterwards)."""
    name = f"cr_mig_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url_with_database(pg_server, "postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield url_with_database(pg_server, name)
    drop_database(pg_server, name)


def test_the_migration_summarises_the_log_written_before_it(
    unmigrated_database, tmp_path, monkeypatch
):
    every_migration = shared.migrations.migrations_dir("qa")
    before = tmp_path / "qa-before-0007"
    before.mkdir()
    for path in sorted(every_migration.glob("*.sql")):
        if path.name < "0007":
            shutil.copy(path, before)
    with monkeypatch.context() as patched:
        patched.setattr(shared.migrations, "migrations_dir", lambda schema: before)
        assert shared.migrations.migrate(unmigrated_database, "qa") == 6
    sessions = [uuid.uuid4() for _ in range(30)]
    with connect(unmigrated_database) as conn:
        for index, session in enumerate(sessions):
            for attempt in range(index % 5):
                conn.execute(
                    "INSERT INTO validation_events (session_id, source, field, outcome, "
                    "agent_version, confidence_overall, occurred_at) "
                    "VALUES (%s, 'check', 'case_number', %s, %s, %s, now() - %s * interval '1 h')",
                    [
                        session,
                        "valid" if attempt == 1 else "invalid",
                        f"3.{attempt}.0",
                        attempt / 10 if attempt else None,
                        index + attempt,
                    ],
                )
    logged = [s for i, s in enumerate(sessions) if i % 5]

    assert shared.migrations.migrate(unmigrated_database, "qa") >= 1
    summaries, log = summaries_and_log(unmigrated_database)
    assert [row[0] for row in summaries] == sorted(logged)
    assert summaries == log
    assert sum(row[5] for row in summaries) == 6  # the sessions with 4 events: 3 invalid each

    with connect(unmigrated_database) as conn:  # and the trigger keeps it from then on
        conn.execute(
            "INSERT INTO validation_events (session_id, source, field, outcome) "
            "VALUES (%s, 'agent', 'model', 'error')",
            [logged[0]],
        )
    summaries, log = summaries_and_log(unmigrated_database)
    assert summaries == log


def test_agents_reporting_batches_at_once_through_the_api_neither_deadlock_nor_lose_events(
    app_config, database_url
):
    """Six agents post 40 batches each through POST /validation/events, every batch naming three
    of the same four sessions in its own order: each batch is stored (201), and the summaries
    add up to the whole log."""
    app = create_app({**app_config, "db_pool_max": 8})
    sessions = [str(uuid.uuid4()) for _ in range(4)]
    answers: list[int] = []

    def report(seed: int) -> None:
        rng = random.Random(seed)
        client = app.test_client()
        for _ in range(40):
            events = [
                {"session_id": session, "field": "model", "outcome": rng.choice(OUTCOMES)}
                for session in rng.sample(sessions, 3)
            ]
            response = client.post(
                "/api/v1/validation/events",
                headers=internal_headers("agent"),
                json={"events": events},
            )
            answers.append(response.status_code)

    threads = [threading.Thread(target=report, args=(seed,)) for seed in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    app.extensions["db_pool"].close()
    assert answers == [201] * 240
    summaries, log = summaries_and_log(database_url)
    assert len(summaries) == 4
    assert summaries == log
