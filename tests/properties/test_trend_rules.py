"""The four trend rules on generated histories, evaluated by the real SQL on PostgreSQL: the
answer does not depend on the order sessions arrive in, and history that lies outside what a rule
looks at never changes what it says. Each example runs in a transaction that is rolled back."""

import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from hypothesis import given
from hypothesis import strategies as st
from psycopg.rows import dict_row

from devstack.testing import clone_database, drop_database
from shared.db import url_with_database
from shared.domain import ROOT_CAUSES
from trends_svc import alerts, projection, rules

NOW = datetime(2026, 6, 30, 12, tzinfo=UTC)
ENGINEERS = ("eng_" + "a" * 24, "eng_" + "b" * 24)
CAUSES = ROOT_CAUSES[:3]


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


SESSIONS = st.lists(
    st.fixed_dictionaries(
        {
            "engineer_code": st.sampled_from(ENGINEERS),
            "root_cause": st.sampled_from(CAUSES),
            "sentiment_score": st.sampled_from([0.1, 0.3, 0.5, 0.7, 0.9]),
            "confidence_overall": st.sampled_from([0.4, 0.6, 0.8, 1.0]),
            "days_ago": st.integers(0, 100),
            "team": st.sampled_from(["t1", "t2"]),
        }
    ),
    max_size=14,
)


def projected(session: dict) -> dict:
    return {
        "session_id": session.get("session_id") or uuid.uuid4(),
        "engineer_code": session["engineer_code"],
        "team": session["team"],
        "region": "EMEA",
        "languages": ["EN"],
        "root_cause": session["root_cause"],
        "sentiment_score": session["sentiment_score"],
        "confidence_overall": session["confidence_overall"],
        "analysed_at": NOW - timedelta(days=session["days_ago"], minutes=session.get("minute", 0)),
    }


def firings(conn, sessions: list[dict]) -> set:
    """What the rules say about exactly these sessions (nothing is kept)."""
    with conn.transaction(force_rollback=True):
        projection.apply_page(conn, [as_change(row) for row in sessions])
        found = rules.evaluate(conn, NOW, alerts.thresholds_by_rule(conn))
    return {(firing.key, repr(sorted(firing.evidence.items()))) for firing in found}


def as_change(row: dict) -> dict:
    """A projected row as the change feed's insert of it."""
    session = {**row, "session_id": str(row["session_id"])}
    session["analysed_at"] = row["analysed_at"].isoformat()
    return {"operation": "insert", "session_id": session["session_id"], "session": session}


def with_ids(sessions: list[dict]) -> list[dict]:
    # distinct minutes: two sessions of one engineer never share a time (the order is then the
    # same whichever arrives first, as it is for real analyses)
    return [
        projected({**s, "minute": i, "session_id": uuid.uuid4()}) for i, s in enumerate(sessions)
    ]


@given(SESSIONS, st.randoms(use_true_random=False))
def test_arrival_order_does_not_change_the_alerts(conn, sessions, random):
    rows = with_ids(sessions)
    shuffled = rows[:]
    random.shuffle(shuffled)
    assert firings(conn, rows) == firings(conn, shuffled)


@given(SESSIONS, st.sampled_from(ENGINEERS), st.sampled_from(CAUSES), st.floats(0, 1))
def test_an_older_session_never_starts_a_positive_trend_once_there_is_enough_history(
    conn, sessions, engineer, cause, sentiment
):
    rows = with_ids(sessions)
    history = [r for r in rows if (r["engineer_code"], r["root_cause"]) == (engineer, cause)]
    length = alerts.thresholds_by_rule(conn)["positive_trend"]["params"]["min_consecutive"]
    if len(history) < length + 1:
        return  # with fewer sessions than the rule looks at, an older one may complete a trend
    oldest = min(r["analysed_at"] for r in history)
    older = {
        **projected({**sessions[0], "engineer_code": engineer, "root_cause": cause}),
        "sentiment_score": sentiment,
        "analysed_at": oldest - timedelta(days=1),
    }
    key = ("positive_trend", engineer, cause)
    before = {f for f in firings(conn, rows) if f[0] == key}
    after = {f for f in firings(conn, [*rows, older]) if f[0] == key}
    assert after == before


@given(SESSIONS, st.sampled_from(ENGINEERS), st.sampled_from(CAUSES))
def test_a_session_outside_the_recurring_window_changes_nothing_there(
    conn, sessions, engineer, cause
):
    rows = with_ids(sessions)
    window = alerts.thresholds_by_rule(conn)["recurring_issue"]["params"]["window_days"]
    outside = projected(
        {
            "engineer_code": engineer,
            "root_cause": cause,
            "sentiment_score": 0.5,
            "confidence_overall": 0.8,
            "days_ago": window,  # exactly window_days ago: the window is (now - window, now]
            "team": "t1",
        }
    )

    def recurring(found):
        return {f for f in found if f[0][0] == "recurring_issue"}

    assert recurring(firings(conn, [*rows, outside])) == recurring(firings(conn, rows))


@given(SESSIONS)
def test_a_latest_session_worse_than_the_one_before_ends_its_trend(conn, sessions):
    rows = with_ids(sessions)
    if not rows:
        return
    latest = max(rows, key=lambda r: r["analysed_at"])
    key = ("positive_trend", latest["engineer_code"], latest["root_cause"])
    lowered = [r for r in rows if r is not latest] + [{**latest, "sentiment_score": 0.0}]
    assert not {f for f in firings(conn, lowered) if f[0] == key}
