"""POST /trends/evaluate never waits behind the trends worker: while someone holds the change feed
it evaluates what is projected and says so; while another evaluation runs it answers 202 and the
worker evaluates again. Never a 503 for a busy worker. The test holds the locks itself, in its
own transactions, and bounds the calls with a client timeout."""

import time

import psycopg
import requests

from tests.common.builders import make_session
from trends_svc import store_alerts, store_feed, worker

CLIENT_TIMEOUT = 8  # the database's statement timeout is 15 s: a call that waits fails here


def evaluate(admin) -> requests.Response:
    return admin.session.post(f"{admin.base_url}/api/v1/trends/evaluate", timeout=CLIENT_TIMEOUT)


def test_evaluate_answers_while_the_feed_is_held(platform_db, admin):
    with psycopg.connect(platform_db, options="-c search_path=trends") as holder:
        holder.execute("SELECT pg_advisory_xact_lock(%s)", [store_feed.FEED_LOCK])
        response = evaluate(admin)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["evaluated"] is True
    assert body["applied_changes"] == 0
    assert body["caught_up"] is False
    assert set(body) >= {"opened", "updated", "resolved", "lag_changes", "projected_through"}


def test_evaluate_while_another_evaluation_runs_answers_202(platform_db, admin):
    with psycopg.connect(platform_db, options="-c search_path=trends") as holder:
        holder.execute("SELECT pg_advisory_xact_lock(%s)", [store_alerts.EVALUATION_LOCK])
        response = evaluate(admin)
    assert response.status_code == 202, response.text
    assert response.json()["evaluated"] is False
    assert "opened" not in response.json()
    after = evaluate(admin)  # the lock released: the contract's counts again
    assert after.status_code == 200, after.text
    assert after.json()["evaluated"] is True
    assert {"opened", "updated", "resolved"} <= set(after.json())


def projected(platform_db, session_id: str) -> bool:
    with psycopg.connect(platform_db, options="-c search_path=trends") as conn:
        return conn.execute("SELECT 1 FROM sessions WHERE session_id = %s", [session_id]).fetchone()


def wait_until_projected(platform_db, session_id: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if projected(platform_db, session_id):
            return True
        time.sleep(0.1)
    return False


def test_the_worker_keeps_applying_the_feed_while_an_evaluation_is_held_up(platform_db, agent):
    """The worker's own evaluation runs beside the feed: one held up (here by a transaction that
    holds the evaluation's lock, as a long evaluation would) never stops new sessions reaching
    the projection. Before, the worker evaluated between two pages and the feed waited."""

    def write() -> str:
        created = agent.request(
            "POST", "/api/v1/sessions", json=make_session(engineer="Held Evaluation", team="held")
        )
        assert created.status_code == 201, created.text
        return created.json()["session_id"]

    with psycopg.connect(platform_db, options="-c search_path=trends") as holder:
        holder.execute("SELECT pg_advisory_xact_lock(%s)", [store_alerts.EVALUATION_LOCK])
        first = write()
        assert wait_until_projected(platform_db, first, timeout=10)
        # the worker has asked for an evaluation of that change by now (at most the spacing)
        time.sleep(worker.EVALUATION_SPACING_SECONDS + worker.DEBOUNCE_SECONDS + 1)
        second = write()
        assert wait_until_projected(platform_db, second, timeout=5), "the feed waited"
        holder.rollback()
