"""Erasure that finishes (issue #22, part 3), on a platform of this module's own whose trends
service is stopped: an erasure while a service is down answers 202 with a status URL, is finished
by the gateway's retrier once the service is back and audited then; with every service up it is
done at once (200), and erasing again is harmless."""

import time

import pytest

from devstack.processes import start_platform
from devstack.testing import clone_database, create_client, drop_database
from shared.db import url_with_database
from tests.common.builders import make_session
from tests.common.platform import Caller


@pytest.fixture(scope="module")
def erasing(pg_server, template_database, tmp_path_factory):
    """Gateway, persistence, trends and its worker on a database of their own."""
    name = clone_database(pg_server, template_database)
    running = start_platform(
        url_with_database(pg_server, name),
        tmp_path_factory.mktemp("erasure"),
        names=["gateway", "persistence", "trends", "trends-worker"],
    )
    try:
        yield running
    finally:
        running.stop()
        drop_database(pg_server, name)


def caller(platform, *roles: str) -> Caller:
    client_id, secret = create_client(platform.env, f"erasure-{'-'.join(roles)}", *roles)
    return Caller(platform.gateway, client_id, secret)


@pytest.fixture(scope="module")
def agent(erasing):
    return caller(erasing, "agent")


@pytest.fixture(scope="module")
def admin(erasing):
    return caller(erasing, "admin")


def stored_and_projected(agent, admin, name: str, count: int) -> str:
    """Store `count` sessions of `name` and wait until trends projected them; their code."""
    for _ in range(count):
        body = make_session(engineer=name, team="erase-team", root_cause="other")
        assert agent.request("POST", "/api/v1/sessions", json=body).status_code == 201
    code = agent.request("POST", "/api/v1/engineers/lookup", json={"engineer": name}).json()[
        "engineer_code"
    ]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        answer = admin.request("GET", f"/api/v1/history/{code}")
        if answer.status_code == 200 and answer.json()["current"]["sessions"] == count:
            return code
        time.sleep(0.2)
    raise AssertionError("the sessions were not projected")


def erased_everywhere(admin, code: str) -> None:
    assert admin.request("GET", f"/api/v1/sessions?engineer_code={code}").json()["items"] == []
    history = admin.request("POST", "/api/v1/history/compare", json={"engineer_code": code})
    assert history.status_code == 200, history.text
    assert history.json()["current"]["sessions"] == 0
    assert history.json()["previous"]["sessions"] == 0


def audit_of(admin, action: str, code: str) -> list[tuple]:
    page = admin.request("GET", "/api/v1/audit", params={"action": action, "limit": 200}).json()
    return [
        (event["object"], event["outcome"], event["status"])
        for event in page["items"]
        if code in (event["object"] or "")
    ]


def test_an_erasure_while_trends_is_down_answers_202_and_completes_once_trends_is_back(
    erasing, agent, admin
):
    code = stored_and_projected(agent, admin, "Dora Abwesend", 2)
    erasing.stop("trends")
    try:
        erased = admin.request("DELETE", f"/api/v1/engineers/{code}")
        assert erased.status_code == 202, erased.text
        location = erased.headers["Location"]
        assert location == f"/api/v1/erasures/{erased.json()['id']}"
        pending = admin.request("GET", location)
        assert pending.status_code == 200
        state = pending.json()
        assert state["status"] == "pending" and state["done_at"] is None
        assert state["engineer_code"] == code
        assert state["services"]["persistence"]["status"] == "done"
        assert state["services"]["persistence"]["attempts"] == 1
        assert state["services"]["trends"]["status"] == "pending"
        assert state["services"]["trends"]["attempts"] >= 1
        assert state["services"]["trends"]["last_error"]
        assert audit_of(admin, "engineers.erase", code) == []  # nothing reported done yet
        time.sleep(3)  # the retrier keeps trying meanwhile
        assert admin.request("GET", location).json()["status"] == "pending"
    finally:
        erasing.start("trends")
    back = time.monotonic()
    while time.monotonic() - back < 10:
        state = admin.request("GET", location).json()
        if state["status"] == "done":
            break
        time.sleep(0.1)
    took = time.monotonic() - back
    assert state["status"] == "done", state
    assert took <= 5, took
    assert state["done_at"] is not None
    assert {name: part["status"] for name, part in state["services"].items()} == {
        "persistence": "done",
        "trends": "done",
    }
    assert state["services"]["trends"]["last_error"] is None
    assert audit_of(admin, "engineers.erase.requested", code) == [
        (f"DELETE /api/v1/engineers/{code}", "success", 202)
    ]
    assert audit_of(admin, "engineers.erase", code) == [
        (f"DELETE /api/v1/engineers/{code}", "success", 200)
    ]
    erased_everywhere(admin, code)


def test_an_erasure_with_every_service_up_is_done_at_once_and_repeats_harmlessly(agent, admin):
    code = stored_and_projected(agent, admin, "Egon Sofort", 3)
    erased = admin.request("DELETE", f"/api/v1/engineers/{code}")
    assert erased.status_code == 200, erased.text
    assert erased.json() == {
        "engineer_code": code,
        "sessions_deleted": 3,
        "services": {"persistence": "erased", "trends": "erased"},
    }
    erased_everywhere(admin, code)
    again = admin.request("DELETE", f"/api/v1/engineers/{code}")
    assert again.status_code == 200, again.text
    assert again.json() == {
        "engineer_code": code,
        "sessions_deleted": 0,
        "services": {"persistence": "erased", "trends": "erased"},
    }
    assert (
        audit_of(admin, "engineers.erase", code)
        == [(f"DELETE /api/v1/engineers/{code}", "success", 200)] * 2
    )


def test_erasure_requests_are_for_admins_only(erasing, agent, admin):
    manager = caller(erasing, "manager")
    missing = "/api/v1/erasures/00000000-0000-4000-8000-000000000000"
    assert admin.request("GET", missing).status_code == 404
    assert admin.request("GET", "/api/v1/erasures/not-an-id").status_code == 404
    for other in (agent, manager):
        refused = other.request("GET", missing)
        assert refused.status_code == 403, refused.text
