"""The set-based page apply of the trends projection leaves the projection and every rollup exactly
as applying the same changes one at a time does (the reference below, the path the product had
before), on random change streams: inserts, updates that move a session between teams, regions,
weeks, causes and languages, deletes, sessions erased since (no row), a session several times in
one page, and pages replayed. Each example runs in transactions that are rolled back."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from hypothesis import given
from hypothesis import strategies as st
from psycopg.rows import dict_row

from devstack.testing import clone_database, drop_database
from shared.db import url_with_database
from trends_svc import projection

NOW = datetime(2026, 6, 30, 12, tzinfo=UTC)
SESSION_IDS = [str(uuid.UUID(int=n)) for n in range(1, 7)]
ROLLUPS = {
    "team_weekly": ("team", "region", "week", "root_cause"),
    "team_language_weekly": ("team", "region", "week", "language", "root_cause"),
}


@pytest.fixture(scope="module")
def conn(pg_server, template_database):
    database = clone_database(pg_server, template_database)
    with psycopg.connect(
        url_with_database(pg_server, database),
        row_factory=dict_row,
        options="-c search_path=trends",
    ) as connection:
        yield connection
    drop_database(pg_server, database)


# --- the reference: one change at a time ---------------------------------------------------


def reference_apply(conn: psycopg.Connection, change: dict[str, Any]) -> None:
    """Apply one change: the rollups lose the old row's share and gain the new one's."""
    session_id = uuid.UUID(change["session_id"])
    old = conn.execute(
        "SELECT * FROM sessions WHERE session_id = %(id)s", {"id": session_id}
    ).fetchone()
    session = change.get("session")
    if old is not None:
        reference_rollups(conn, old, -1)
    if change["operation"] == "delete" or session is None:
        if old is not None:
            conn.execute("DELETE FROM sessions WHERE session_id = %(id)s", {"id": session_id})
        return
    row = {**session, "session_id": session_id}
    row["analysed_at"] = datetime.fromisoformat(session["analysed_at"])
    conn.execute(
        """
        INSERT INTO sessions (session_id, engineer_code, team, region, languages, root_cause,
                              sentiment_score, confidence_overall, analysed_at)
        VALUES (%(session_id)s, %(engineer_code)s, %(team)s, %(region)s, %(languages)s,
                %(root_cause)s, %(sentiment_score)s, %(confidence_overall)s, %(analysed_at)s)
        ON CONFLICT (session_id) DO UPDATE SET
            engineer_code = EXCLUDED.engineer_code, team = EXCLUDED.team,
            region = EXCLUDED.region, languages = EXCLUDED.languages,
            root_cause = EXCLUDED.root_cause, sentiment_score = EXCLUDED.sentiment_score,
            confidence_overall = EXCLUDED.confidence_overall, analysed_at = EXCLUDED.analysed_at
        """,
        row,
    )
    reference_rollups(conn, row, +1)


def reference_rollups(conn: psycopg.Connection, row: dict[str, Any], sign: int) -> None:
    """Add (sign 1) or take away (sign -1) one session's share of every weekly rollup."""
    params = {**row, "sign": sign, "region": row.get("region") or ""}
    week = "date_trunc('week', %(analysed_at)s AT TIME ZONE 'UTC')::date"
    add = """
        sessions = w.sessions + EXCLUDED.sessions,
        sentiment_sum = w.sentiment_sum + EXCLUDED.sentiment_sum,
        confidence_sum = w.confidence_sum + EXCLUDED.confidence_sum
    """
    shares = "%(sign)s, %(sign)s * %(sentiment_score)s, %(sign)s * %(confidence_overall)s"
    conn.execute(
        f"""
        INSERT INTO team_weekly AS w (team, region, week, root_cause, sessions, sentiment_sum,
                                      confidence_sum)
        VALUES (%(team)s, %(region)s, {week}, %(root_cause)s, {shares})
        ON CONFLICT (team, region, week, root_cause) DO UPDATE SET {add}
        """,
        params,
    )
    conn.execute(
        f"""
        INSERT INTO team_language_weekly AS w (team, region, week, language, root_cause, sessions,
                                               sentiment_sum, confidence_sum)
        SELECT %(team)s, %(region)s, {week}, language, %(root_cause)s, {shares}
        FROM unnest(%(languages)s::text[]) AS language
        ON CONFLICT (team, region, week, language, root_cause) DO UPDATE SET {add}
        """,
        params,
    )
    for table in ROLLUPS:
        conn.execute(f"DELETE FROM {table} WHERE sessions = 0")


# --- streams -------------------------------------------------------------------------------

SESSIONS = st.fixed_dictionaries(
    {
        "engineer_code": st.sampled_from(["eng_" + "a" * 24, "eng_" + "b" * 24]),
        "team": st.sampled_from(["t1", "t2"]),
        "region": st.sampled_from(["EMEA", "AMER", None]),
        "languages": st.lists(st.sampled_from(["EN", "DE", "FR"]), unique=True, max_size=2),
        "root_cause": st.sampled_from(["knowledge_gap", "process_issue", "other"]),
        "sentiment_score": st.sampled_from([0.1, 0.25, 0.5, 0.7, 0.9]),
        "confidence_overall": st.sampled_from([0.3, 0.6, 0.8, 1.0]),
        # a few days around week boundaries: an update can move a session to another week
        "analysed_at": st.sampled_from([1, 2, 6, 7, 8, 13, 20]).map(
            lambda days: (NOW - timedelta(days=days, hours=3)).isoformat()
        ),
    }
)
CHANGES = st.one_of(
    st.tuples(st.sampled_from(["insert", "update"]), st.sampled_from(SESSION_IDS), SESSIONS),
    st.tuples(st.just("delete"), st.sampled_from(SESSION_IDS), st.none()),
    # a session erased since the change was written: the feed carries no row
    st.tuples(st.sampled_from(["insert", "update"]), st.sampled_from(SESSION_IDS), st.none()),
)
PAGES = st.lists(
    st.tuples(st.lists(CHANGES, min_size=1, max_size=10), st.booleans()),  # (changes, replayed)
    min_size=1,
    max_size=5,
)


def item(operation: str, session_id: str, session: dict | None) -> dict:
    """A change-feed item as persistence sends it."""
    return {
        "operation": operation,
        "session_id": session_id,
        "session": None if session is None else {**session, "session_id": session_id},
    }


def state(conn: psycopg.Connection) -> dict[str, dict]:
    """The projection and every rollup, keyed (sums rounded: the two paths add in other orders)."""
    found = {
        "sessions": {
            row["session_id"]: row for row in conn.execute("SELECT * FROM sessions").fetchall()
        }
    }
    for table, key in ROLLUPS.items():
        found[table] = {
            tuple(row[name] for name in key): (
                row["sessions"],
                round(row["sentiment_sum"], 9),
                round(row["confidence_sum"], 9),
            )
            for row in conn.execute(f"SELECT * FROM {table}").fetchall()
        }
    return found


def run(conn: psycopg.Connection, pages: list, apply) -> dict[str, dict]:
    with conn.transaction(force_rollback=True):
        for changes, replayed in pages:
            items = [item(*change) for change in changes]
            for _ in range(2 if replayed else 1):
                with conn.transaction():
                    apply(conn, items)
        return state(conn)


def one_at_a_time(conn: psycopg.Connection, items: list[dict]) -> None:
    for change in items:
        reference_apply(conn, change)


@given(PAGES)
def test_a_page_applied_set_based_ends_as_one_change_at_a_time(conn, pages):
    assert run(conn, pages, projection.apply_page) == run(conn, pages, one_at_a_time)


def test_the_reference_sees_a_moved_session_leave_its_old_rollup_rows(conn):
    """The comparison is not of two empty states: a session moved to another team and week
    leaves exactly one row in each rollup, under its new keys."""
    first = {
        "engineer_code": "eng_" + "a" * 24,
        "team": "t1",
        "region": None,
        "languages": ["EN"],
        "root_cause": "other",
        "sentiment_score": 0.5,
        "confidence_overall": 0.8,
        "analysed_at": (NOW - timedelta(days=8)).isoformat(),
    }
    moved = {**first, "team": "t2", "analysed_at": (NOW - timedelta(days=1)).isoformat()}
    pages = [
        ([("insert", SESSION_IDS[0], first)], False),
        ([("update", SESSION_IDS[0], moved)], True),
    ]
    for apply in (projection.apply_page, one_at_a_time):
        found = run(conn, pages, apply)
        assert list(found["team_weekly"]) == [("t2", "", datetime(2026, 6, 29).date(), "other")]
        assert found["team_weekly"][("t2", "", datetime(2026, 6, 29).date(), "other")] == (
            1,
            0.5,
            0.8,
        )
        assert len(found["team_language_weekly"]) == 1
        assert len(found["sessions"]) == 1
