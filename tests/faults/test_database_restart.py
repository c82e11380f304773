"""PostgreSQL restarted under load, on a server of this test's own: writes through the gateway get
503 with Retry-After while it is away and succeed when retried, nothing is lost or half-written; an
import running across the restart stops with a report that matches the database row for row, and
importing the same file again completes it."""

import threading
import time
import uuid

import psycopg
import pytest
import requests

from devstack.postgres import EmbeddedPostgres
from devstack.processes import start_platform
from devstack.testing import create_client, migrated_database
from tests.common.builders import csv_of_sessions, make_session
from tests.common.platform import wait_for_report


@pytest.fixture(scope="module")
def restartable(tmp_path_factory):
    """Its own PostgreSQL (restarted by the tests) with the gateway and persistence on it."""
    work = tmp_path_factory.mktemp("db-restart")
    server = EmbeddedPostgres(work / "pg")
    admin_url = server.start(fsync=False)
    database = migrated_database(admin_url, "cr_faults")
    platform = start_platform(
        database,
        work,
        names=["gateway", "persistence"],
        # a request waits at most 1 s for a connection (5 s by default, which rides out a quick
        # restart unnoticed): the 2-second outages below are then seen by the clients
        extra_env={
            "IMPORT_ASYNC_BYTES": "10000",
            "RATE_LIMIT_API": "100000 per minute",
            "DB_POOL_TIMEOUT": "1",
        },
    )
    try:
        yield server, database, platform
    finally:
        platform.stop()
        server.remove()


def token(platform, role: str) -> dict[str, str]:
    client_id, secret = create_client(platform.env, f"faults-{role}-{uuid.uuid4().hex[:6]}", role)
    deadline = time.monotonic() + 20
    while True:  # right after another test's restart the gateway may still answer 503: retry
        answer = requests.post(
            f"{platform.gateway}/oauth/token",
            auth=(client_id, secret),
            data={"grant_type": "client_credentials"},
            timeout=10,
        )
        if answer.status_code != 503 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def restart(server: EmbeddedPostgres, down_for: float) -> None:
    server.stop("fast")
    time.sleep(down_for)
    server.start(fsync=False)


def count(database: str, team: str) -> int:
    with psycopg.connect(database) as conn:
        return conn.execute(
            "SELECT count(*) FROM persistence.sessions WHERE team = %s", (team,)
        ).fetchone()[0]


def test_writes_across_a_restart_get_503_then_succeed_and_nothing_is_lost(restartable):
    server, database, platform = restartable
    agent = token(platform, "agent")
    bodies = [make_session(team="restart-writes") for _ in range(120)]
    statuses: list[int] = []
    retry_after: set[str] = set()

    def write_all():
        for body in bodies:
            while True:  # what the agent does: retry a 503 after the time it is told
                response = requests.post(
                    f"{platform.gateway}/api/v1/sessions", json=body, headers=agent, timeout=30
                )
                statuses.append(response.status_code)
                if response.status_code != 503:
                    break
                retry_after.add(response.headers.get("Retry-After", ""))
                time.sleep(0.2)
            assert response.status_code in (200, 201), response.text

    writer = threading.Thread(target=write_all)
    writer.start()
    while statuses.count(201) < 30:
        time.sleep(0.05)
    restart(server, down_for=2.0)
    writer.join(timeout=120)
    assert not writer.is_alive()
    assert 503 in statuses, "some writes met the outage"
    assert set(statuses) <= {200, 201, 503}, "nothing but success, repeat or 'retry later'"
    assert retry_after == {"2"}
    assert count(database, "restart-writes") == len(bodies)  # each exactly once


def test_an_import_across_a_restart_reports_exactly_what_it_stored(restartable):
    server, database, platform = restartable
    admin = token(platform, "admin")
    # Fifteen chunks: the import must still be running when the restart comes (12,000 rows, three
    # chunks, were done by then once imports got faster).
    bodies = [make_session(team="restart-import", notes=None) for _ in range(60_000)]
    for body in bodies:
        body.pop("notes", None)
        body.pop("attributes", None)
    file = csv_of_sessions(bodies)
    started = requests.post(
        f"{platform.gateway}/api/v1/imports",
        data=file,
        headers={**admin, "Content-Type": "text/csv"},
        timeout=60,
    )
    assert started.status_code == 202, started.text
    location = platform.gateway + started.headers["Location"]
    running = wait_for_report(location, admin, lambda r: r["processed"] >= 2000)
    assert running["status"] == "running", running
    restart(server, down_for=2.0)

    stopped = wait_for_report(location, admin, lambda r: r["status"] != "running")
    stored = count(database, "restart-import")
    assert stopped["status"] == "failed", stopped
    assert 0 < stopped["processed"] < len(bodies)
    assert stopped["processed"] % 1000 == 0, "whole chunks only"
    assert stopped["inserted"] == stored == stopped["processed"]  # the report is the database
    assert "Import the same file again" in stopped["failure"]

    again = requests.post(
        f"{platform.gateway}/api/v1/imports",
        data=file,
        headers={**admin, "Content-Type": "text/csv"},
        timeout=60,
    )
    assert again.status_code == 202, again.text
    finished = wait_for_report(
        platform.gateway + again.headers["Location"], admin, lambda r: r["status"] != "running"
    )
    assert finished["status"] == "completed", finished
    assert (finished["inserted"], finished["unchanged"]) == (len(bodies) - stored, stored)
    assert count(database, "restart-import") == len(bodies)
