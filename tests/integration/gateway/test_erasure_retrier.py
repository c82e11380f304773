"""The erasure retrier against small real services: a service that fails is asked again until it
erases, a service already done is never asked again, the request is done (and audited) only when
every service is, and the retrier takes only erasures that are due."""

import psycopg
import pytest
from flask import Flask

from gateway import erasure
from gateway.app import create_app
from tests.common.servers import serve

CODE = "eng_" + "b" * 24


class Service:
    """A service's erasure route answering the statuses it is given, in turn (then 200)."""

    def __init__(self, *statuses: int) -> None:
        self.statuses = list(statuses)
        self.calls: list[str] = []
        self.app = Flask("service")
        self.app.add_url_rule("/api/v1/engineers/<code>", view_func=self.erase, methods=["DELETE"])

    def erase(self, code):
        self.calls.append(code)
        status = self.statuses.pop(0) if self.statuses else 200
        if status != 200:
            return {"status": status, "detail": "Not now."}, status
        return {"engineer_code": code, "sessions_deleted": 2}


@pytest.fixture
def services(gateway_config):
    persistence, trends = Service(), Service(503, 503)
    with serve(persistence.app) as persistence_url, serve(trends.app) as trends_url:
        app = create_app(
            {**gateway_config, "persistence_url": persistence_url, "trends_url": trends_url}
        )
        yield app, persistence, trends
        app.extensions["db_pool"].close()


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def state(app, token, location):
    return app.test_client().get(location, headers=bearer(token)).json


def make_due(database_url):
    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE gateway.erasures SET next_attempt_at = now()")


def erase_audits(database_url):
    with psycopg.connect(database_url) as conn:
        return conn.execute(
            "SELECT action, object, outcome, status FROM gateway.audit_events"
            " WHERE action LIKE 'engineers.erase%%' ORDER BY event_id"
        ).fetchall()


def test_a_failing_service_is_retried_until_done_and_a_done_one_is_not_asked_again(
    services, token_for, database_url
):
    app, persistence, trends = services
    token = token_for("admin")
    answer = app.test_client().delete(f"/api/v1/engineers/{CODE}", headers=bearer(token))
    assert answer.status_code == 202, answer.json
    location = answer.headers["Location"]
    first = state(app, token, location)
    assert first["services"] == {
        "persistence": {
            "status": "done",
            "attempts": 1,
            "last_error": None,
            "done_at": first["services"]["persistence"]["done_at"],
        },
        "trends": {"status": "pending", "attempts": 1, "last_error": "HTTP 503", "done_at": None},
    }
    with app.app_context():
        assert erasure.retry_due() == 0  # not due yet: the backoff runs
    make_due(database_url)
    with app.app_context():
        assert erasure.retry_due() == 1
    assert state(app, token, location)["status"] == "pending"
    assert state(app, token, location)["services"]["trends"]["attempts"] == 2
    assert erase_audits(database_url) == [
        ("engineers.erase.requested", f"DELETE /api/v1/engineers/{CODE}", "success", 202)
    ]
    make_due(database_url)
    with app.app_context():
        assert erasure.retry_due() == 1
    done = state(app, token, location)
    assert done["status"] == "done" and done["done_at"] is not None
    assert done["services"]["trends"] == {
        "status": "done",
        "attempts": 3,
        "last_error": None,
        "done_at": done["services"]["trends"]["done_at"],
    }
    assert persistence.calls == [CODE]  # done once, never asked again
    assert trends.calls == [CODE] * 3
    assert erase_audits(database_url)[-1] == (
        "engineers.erase",
        f"DELETE /api/v1/engineers/{CODE}",
        "success",
        200,
    )
    make_due(database_url)
    with app.app_context():
        assert erasure.retry_due() == 0  # a done erasure is never taken again


def test_an_erasure_request_needs_an_admin_and_a_known_id(services, token_for):
    app, _, _ = services
    client = app.test_client()
    missing = "/api/v1/erasures/00000000-0000-4000-8000-000000000000"
    assert client.get(missing, headers=bearer(token_for("admin"))).status_code == 404
    assert client.get(missing, headers=bearer(token_for("manager"))).status_code == 403
    assert client.get(missing).status_code == 401


def test_a_200_that_is_not_an_erasure_answer_is_not_taken_for_done(gateway_config, token_for):
    persistence = Service()
    stranger = Flask("stranger")  # something else answering at the service's address
    stranger.add_url_rule(
        "/api/v1/engineers/<code>", view_func=lambda code: {"hello": code}, methods=["DELETE"]
    )
    with serve(persistence.app) as persistence_url, serve(stranger) as trends_url:
        app = create_app(
            {**gateway_config, "persistence_url": persistence_url, "trends_url": trends_url}
        )
        try:
            token = token_for("admin")
            answer = app.test_client().delete(f"/api/v1/engineers/{CODE}", headers=bearer(token))
            assert answer.status_code == 202
            trends = state(app, token, answer.headers["Location"])["services"]["trends"]
        finally:
            app.extensions["db_pool"].close()
    assert trends == {
        "status": "pending",
        "attempts": 1,
        "last_error": "invalid answer",
        "done_at": None,
    }
