"""Erasure of an engineer in the trends service: projection, rollups and alerts go, and so do the
notifications about them, delivered or not; nothing about the engineer is sent afterwards."""

import json
import threading

import pytest
from flask import Flask, request

from devstack.testing import internal_headers
from tests.common.servers import serve
from tests.integration.trends.conftest import NOW, change, feed_rows
from trends_svc import alerts, projection, webhooks
from trends_svc.app import create_app

ERASED = "eng_" + "a" * 24
KEPT = "eng_" + "b" * 24
BASE = "https://cr.example"


def admin():
    return internal_headers("admin")


class Feed:
    """persistence's change feed as a small real server: the items put in it, after a cursor,
    as JSON or as rows (format=rows, written by PostgreSQL at `database_url`)."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.items: list[dict] = []
        self.app = Flask("feed")
        self.app.add_url_rule("/api/v1/internal/changes", view_func=self.changes)

    def put(self, *changes: dict) -> None:
        for item in changes:
            self.items.append(
                {**item, "cursor": f"1.{len(self.items) + 1}.0", "changed_at": NOW.isoformat()}
            )

    def changes(self):
        parts = request.args["after"].split(".")  # the feed's start is a cursor of 0s
        after = int(parts[1]) if len(parts) > 1 else 0
        page = self.items[after : after + int(request.args["limit"])]
        next_cursor = page[-1]["cursor"] if page else request.args["after"]
        head = {"pending": 0, "pending_since": None}
        if request.args.get("format") == "rows":
            summary = {
                "changes": len(page),
                "next_cursor": next_cursor,
                "applied_through": page[-1]["changed_at"] if page else None,
                "head": head,
            }
            rows = feed_rows(self.database_url, page)
            return rows, 200, {"X-Feed-Page": json.dumps(summary)}
        return {"items": page, "next_cursor": next_cursor, "head": head}


@pytest.fixture
def persistence_feed(database_url):
    feed = Feed(database_url)
    with serve(feed.app) as url:
        feed.url = url
        yield feed


@pytest.fixture
def trends_app(app_config, persistence_feed):
    """The trends app reading the change feed of `persistence_feed` (empty unless put into)."""
    app = create_app({**app_config, "persistence_url": persistence_feed.url})
    yield app
    app.extensions["db_pool"].close()


def receiver():
    app = Flask("receiver")
    calls = []

    @app.post("/hook")
    def hook():
        calls.append(json.loads(request.get_data()))
        return "", 204

    return app, calls


def deliver(conn, url):
    return webhooks.deliver_due(conn, url=url, secret="s", backoff=0.05, max_attempts=10)


def mentions(conn, code):
    """Notifications, delivered or not, whose body holds `code`."""
    with conn.transaction():  # a transaction of its own: the connection is left idle
        return conn.execute(
            "SELECT count(*) AS n FROM webhook_outbox WHERE payload::text LIKE %(pattern)s",
            {"pattern": f"%{code}%"},
        ).fetchone()["n"]


def test_erasure_removes_the_engineers_notifications_and_sends_nothing_about_them(
    trends_app, conn, feed
):
    receiver_app, calls = receiver()
    with serve(receiver_app) as base:
        url = f"{base}/hook"
        feed(*[change(ERASED, days_ago=d) for d in (1, 2, 3)])
        with conn.transaction():
            assert alerts.reconcile(conn, NOW, notify_base=BASE)["opened"] == 1
        assert deliver(conn, url) == {"delivered": 1, "failed": 0}  # one delivered already
        feed(
            *[change(ERASED, days_ago=d, root_cause="process_issue") for d in (1, 2, 3)],
            *[change(KEPT, team="apac-1", days_ago=d) for d in (1, 2, 3)],
        )
        with conn.transaction():
            assert alerts.reconcile(conn, NOW, notify_base=BASE)["opened"] == 2
        assert mentions(conn, ERASED) == 2  # one delivered, one pending

        erased = trends_app.test_client().delete(f"/api/v1/engineers/{ERASED}", headers=admin())
        assert erased.status_code == 200
        assert erased.json == {"engineer_code": ERASED, "sessions_deleted": 6}

        assert mentions(conn, ERASED) == 0
        assert mentions(conn, KEPT) == 1
        calls.clear()
        assert deliver(conn, url) == {"delivered": 1, "failed": 0}
        assert [call["alert"]["engineer_code"] for call in calls] == [KEPT]
        with conn.transaction():  # a later evaluation has nothing left to resolve for them
            assert alerts.reconcile(conn, NOW, notify_base=BASE) == {
                "opened": 0,
                "updated": 0,
                "resolved": 0,
            }
        assert mentions(conn, ERASED) == 0


def test_erasure_waits_for_a_running_evaluation_and_removes_what_it_queued(trends_app, conn, feed):
    """An evaluation that read the engineer's sessions before the erasure cannot queue a
    notification about them after it: the erasure waits for it, then removes what it wrote."""
    feed(*[change(ERASED, days_ago=d) for d in (1, 2, 3)])
    outcome = {}

    def erase():
        outcome["response"] = trends_app.test_client().delete(
            f"/api/v1/engineers/{ERASED}", headers=admin()
        )

    thread = threading.Thread(target=erase)
    with conn.transaction():
        assert alerts.reconcile(conn, NOW, notify_base=BASE)["opened"] == 1  # not committed yet
        thread.start()
        thread.join(0.5)
        outcome["waited"] = thread.is_alive()  # for the evaluation to end
    thread.join(10)
    assert outcome["waited"]
    assert outcome["response"].status_code == 200
    assert mentions(conn, ERASED) == 0
    assert conn.execute("SELECT count(*) AS n FROM alerts").fetchone()["n"] == 0


def rollups(conn):
    with conn.transaction():
        return [
            conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2, 3, 4, 5").fetchall()
            for table in ("team_weekly", "team_language_weekly")
        ]


def test_erasure_takes_the_engineers_sessions_out_of_the_team_rollups(trends_app, conn, feed):
    kept = [change(KEPT, days_ago=d, languages=("EN", "DE")) for d in (1, 9)]
    feed(*kept)
    before = rollups(conn)
    erased = [change(ERASED, days_ago=d, languages=("EN", "FR"), region=None) for d in (1, 2, 9)]
    feed(*erased)
    assert rollups(conn) != before

    response = trends_app.test_client().delete(f"/api/v1/engineers/{ERASED}", headers=admin())
    assert response.status_code == 200, response.json
    assert rollups(conn) == before  # as if the engineer's sessions had never been projected
    # the feed's deletes of the same sessions, arriving later, change nothing more
    feed(*[change(operation="delete", session_id=item["session_id"]) for item in erased])
    assert rollups(conn) == before


def projected(conn, code):
    with conn.transaction():
        return conn.execute(
            "SELECT count(*) AS n FROM sessions WHERE engineer_code = %(code)s",
            {"code": code},
        ).fetchone()["n"]


def test_erasure_first_applies_what_the_feed_still_holds_so_nothing_comes_back(
    trends_app, conn, persistence_feed
):
    """Changes of the engineer's sessions that the worker has not projected yet (it lags, or is
    down) are applied before the erasure, never after it: the worker finds nothing left to bring
    back."""
    persistence_feed.put(*[change(ERASED, days_ago=d) for d in (1, 2)], change(KEPT))
    response = trends_app.test_client().delete(f"/api/v1/engineers/{ERASED}", headers=admin())
    assert response.status_code == 200, response.json
    assert response.json == {"engineer_code": ERASED, "sessions_deleted": 2}
    with trends_app.app_context():
        assert projection.catch_up(conn, trends_app.extensions["feed"]).applied == 0
    assert projected(conn, ERASED) == 0
    assert projected(conn, KEPT) == 1


def test_erasure_answers_503_and_erases_nothing_while_the_feed_cannot_be_read(
    app_config, conn, feed
):
    feed(change(ERASED))
    app = create_app({**app_config, "persistence_url": "http://127.0.0.1:9"})  # nothing listens
    try:
        response = app.test_client().delete(f"/api/v1/engineers/{ERASED}", headers=admin())
    finally:
        app.extensions["db_pool"].close()
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert projected(conn, ERASED) == 1  # the gateway's retrier asks again
