"""persistence_svc killed (SIGKILL, its validation workers with it) in the middle of a background
import on the shared platform: the committed chunks stay, the report stops saying `running` and
says where the import stopped, matching the database, and the same file again completes it."""

import signal

import psycopg

from persistence_svc.imports import CHUNK_ROWS
from tests.common.builders import csv_of_sessions, make_session
from tests.common.platform import wait_for_report

ROWS = 10 * CHUNK_ROWS
TEAM = "crash-import"


def stored(platform_db: str) -> int:
    with psycopg.connect(platform_db) as conn:
        return conn.execute(
            "SELECT count(*) FROM persistence.sessions WHERE team = %s", (TEAM,)
        ).fetchone()[0]


def post(platform, admin, file: bytes):
    return admin.request("POST", "/api/v1/imports", data=file, headers={"Content-Type": "text/csv"})


def test_an_import_whose_service_was_killed_reports_where_it_stopped(platform, platform_db, admin):
    bodies = [make_session(team=TEAM) for _ in range(ROWS)]
    for body in bodies:
        body.pop("notes", None)
        body.pop("attributes", None)
    file = csv_of_sessions(bodies)
    headers = dict(admin.session.headers)
    platform.stop("persistence")
    platform.start("persistence", {"IMPORT_ASYNC_BYTES": "10000", "IMPORT_WORKERS": "2"})
    try:
        started = post(platform, admin, file)
        assert started.status_code == 202, started.text
        location = platform.gateway + started.headers["Location"]
        wait_for_report(location, headers, lambda r: r["processed"] >= 3000)
        platform.stop("persistence", signal.SIGKILL)
    finally:
        platform.start("persistence")

    stopped = wait_for_report(location, headers, lambda r: r["status"] != "running", timeout=30)
    count = stored(platform_db)
    assert stopped["status"] == "failed", stopped
    assert 3000 <= stopped["processed"] < ROWS
    assert stopped["processed"] % CHUNK_ROWS == 0, "whole chunks only"
    assert stopped["inserted"] == count == stopped["processed"]  # the report is the database
    assert stopped["failure"].startswith(f"Stopped after {count} records: the service running")

    again = post(platform, admin, file)
    assert again.status_code in (200, 202), again.text
    finished = wait_for_report(
        platform.gateway + again.headers["Location"], headers, lambda r: r["status"] != "running"
    )
    assert finished["status"] == "completed", finished
    assert (finished["inserted"], finished["unchanged"]) == (ROWS - count, count)
    assert stored(platform_db) == ROWS
