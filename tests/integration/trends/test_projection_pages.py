"""A page of the change feed is applied in the same few statements whatever its size, and ends as
its changes say; the feed state keeps what the feed said about the changes after the page, which
/readyz shows (without failing readiness) and /metrics publishes as the lag."""

import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg.rows import dict_row

from tests.integration.trends.conftest import change
from trends_svc import projection, store_feed


class CountingCursor(psycopg.Cursor):
    """Counts the statements sent through it (every conn.execute makes one of these)."""

    sent: list[str] = []

    def execute(self, query, params=None, **kwargs):
        CountingCursor.sent.append(str(query))
        return super().execute(query, params, **kwargs)

    def copy(self, statement, params=None, **kwargs):
        CountingCursor.sent.append(str(statement))
        return super().copy(statement, params, **kwargs)


@pytest.fixture
def counting(database_url):
    with psycopg.connect(
        database_url,
        row_factory=dict_row,
        options="-c search_path=trends",
        cursor_factory=CountingCursor,
    ) as connection:
        CountingCursor.sent = []
        yield connection


def statements_for(conn, items) -> int:
    CountingCursor.sent = []
    with conn.transaction():
        projection.apply_page(conn, items)
    return len(CountingCursor.sent)


def a_page(size: int) -> list[dict]:
    """`size` changes: inserts, then updates of some of them to another team and week, then
    deletes of others."""
    inserts = [change(engineer="eng_" + "c" * 24, days_ago=1 + i % 20) for i in range(size // 2)]
    updates = [
        change(
            engineer="eng_" + "c" * 24,
            team="emea-2",
            days_ago=30,
            operation="update",
            session_id=item["session_id"],
        )
        for item in inserts[: size // 4]
    ]
    deletes = [
        change(operation="delete", session_id=item["session_id"])
        for item in inserts[size // 4 : size // 4 + size - len(inserts) - len(updates)]
    ]
    return inserts + updates + deletes


def test_a_page_of_1000_changes_takes_the_statements_of_a_page_of_ten(counting):
    small = statements_for(counting, a_page(10))
    large_page = a_page(1000)
    assert len(large_page) == 1000
    large = statements_for(counting, large_page)
    # the staging tables, the page's COPY, its signed rows, two rollups, the projection (no rollup
    # row was left empty: the deleted sessions came in the same page)
    assert large == small == 6
    sessions = counting.execute("SELECT team, count(*) AS n FROM sessions GROUP BY team").fetchall()
    # 5 + 500 inserted, of them 2 + 250 moved to emea-2 and 3 + 250 deleted
    assert {row["team"]: row["n"] for row in sessions} == {"emea-2": 252}
    weekly = counting.execute(
        "SELECT team, week, sum(sessions) AS n FROM team_weekly GROUP BY team, week"
    ).fetchall()
    assert [(row["team"], row["n"]) for row in weekly] == [("emea-2", 252)]  # one week, 30 days ago


def test_a_page_that_empties_1000_rollup_rows_takes_the_statements_of_one_that_empties_ten(
    counting,
):
    """Rollup rows left with no session are deleted by key in one more statement; its cost
    grows with the page, not with the page times the rows emptied."""
    counts = []
    for size in (10, 1000):
        inserts = [change(engineer="eng_" + "d" * 24, days_ago=7 * i) for i in range(size)]
        statements_for(counting, inserts)
        deletes = [change(operation="delete", session_id=item["session_id"]) for item in inserts]
        counts.append(statements_for(counting, deletes))
        emptied = counting.execute(
            "SELECT (SELECT count(*) FROM team_weekly)"
            " + (SELECT count(*) FROM team_language_weekly) AS n"
        ).fetchone()["n"]
        assert emptied == 0
    # the staging tables, the page's COPY, its signed rows, two rollups, their empty rows, the
    # projection
    assert counts == [7, 7]


def test_a_page_that_only_names_unknown_sessions_changes_nothing(counting):
    unknown = [change(operation="delete", session_id=str(uuid.uuid4())) for _ in range(3)]
    statements_for(counting, unknown)
    assert counting.execute("SELECT count(*) AS n FROM sessions").fetchone()["n"] == 0
    assert counting.execute("SELECT count(*) AS n FROM team_weekly").fetchone()["n"] == 0


def lag_state(conn, pending: int, since: datetime | None) -> None:
    with conn.transaction():
        store_feed.lock_feed(conn)
        store_feed.save_feed(
            conn,
            "1.1.1",
            5,
            applied_through=datetime(2026, 6, 1, tzinfo=UTC),
            pending=pending,
            pending_since=since,
        )


def test_readyz_shows_the_feed_lag_and_stays_ready(trends_app, conn):
    lag_state(conn, 1234, datetime.now(UTC) - timedelta(minutes=5))
    response = trends_app.test_client().get("/readyz")
    assert response.status_code == 200
    assert response.json["status"] == "ready"
    feed = response.json["details"]["feed"]
    assert feed["lag_changes"] == 1234
    assert 299 <= feed["lag_seconds"] < 600
    assert feed["projected_through"] == "2026-06-01T00:00:00+00:00"


def test_metrics_publish_the_feed_lag_in_changes_and_seconds(trends_app, conn):
    lag_state(conn, 77, datetime.now(UTC) - timedelta(seconds=90))
    text = trends_app.test_client().get("/metrics").get_data(as_text=True)
    assert "cr_trends_feed_lag_changes 77.0" in text
    seconds = float(text.split("\ncr_trends_feed_lag_seconds ")[1].split()[0])
    assert 89 <= seconds < 600
    lag_state(conn, 0, None)  # caught up: no lag, however old the last change
    text = trends_app.test_client().get("/metrics").get_data(as_text=True)
    assert "cr_trends_feed_lag_changes 0.0" in text
    assert "cr_trends_feed_lag_seconds 0.0" in text


def test_a_page_reads_its_sessions_current_rows_by_key_not_by_scanning_the_projection(counting):
    """With 20,000 sessions projected, the signed rows of a 1,000-change page take each session out
    by primary key: a scan of the whole projection for every page would make a long feed
    quadratic (the staging table has no statistics, so a join was planned as a hash of every
    projected session)."""
    projected = [change(engineer="eng_" + "e" * 24, days_ago=1 + i % 300) for i in range(20_000)]
    for start in range(0, len(projected), 5000):
        with counting.transaction():
            projection.apply_page(counting, projected[start : start + 5000])
    counting.execute("ANALYZE sessions")
    page = [
        change(engineer="eng_" + "e" * 24, operation="update", session_id=item["session_id"])
        for item in projected[:500]
    ] + [change(engineer="eng_" + "f" * 24) for _ in range(500)]
    with counting.transaction(force_rollback=True):
        store_feed.stage_changes(counting, page)
        plan = "\n".join(
            row["QUERY PLAN"]
            for row in counting.execute(
                "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) " + store_feed._TAKE_OUT,
                prepare=False,
            )
        )
    # An index scan or a bitmap of it, by the page's ids.
    assert "Index Scan" in plan and "on sessions_pkey" in plan, plan
    assert "Index Cond: (session_id = ANY" in plan, plan
    assert "Seq Scan on sessions" not in plan, plan
