"""POST /trends/evaluate when the change feed does not answer (persistence down, or answering 503
as it did once under a benchmark's load): it evaluates what is projected and says it did not
catch up; never a 5xx for another service's trouble."""

import pytest
from flask import Flask

from devstack.postgres import free_port
from devstack.testing import internal_headers
from tests.common.servers import serve
from trends_svc.app import create_app


def unavailable_feed() -> Flask:
    app = Flask("feed")

    @app.get("/api/v1/internal/changes")
    def changes():
        return {"title": "Service Unavailable"}, 503

    return app


@pytest.fixture(params=["answers 503", "is down"])
def feed_url(request):
    if request.param == "is down":
        yield f"http://127.0.0.1:{free_port()}"
    else:
        with serve(unavailable_feed()) as url:
            yield url


def test_evaluate_evaluates_what_is_projected_when_the_feed_does_not_answer(app_config, feed_url):
    app = create_app({**app_config, "persistence_url": feed_url})
    try:
        answer = app.test_client().post(
            "/api/v1/trends/evaluate", headers=internal_headers("admin")
        )
    finally:
        app.extensions["db_pool"].close()
    assert answer.status_code in (200, 202), answer.json
    assert answer.json["caught_up"] is False
    assert answer.json["applied_changes"] == 0
