"""OWASP API1 for the validation log, through the gateway on real processes: an agent that carries
teams (here a client made with `create-client --team`, and an API key made with `--team`) reads
and appends to the validation log of sessions written within its teams only. Another team's
session answers Show Validation Log with exactly the 404 of a session that does not exist, and
appending to it is a 403 naming `session_id` (the value not echoed). QA leads, admins and the
organisation-wide agent keep reading every session."""

import uuid

import pytest

from tests.common.builders import make_session

TEAM_A, TEAM_B = "qa-scope-a", "qa-scope-b"
OUTSIDE = {"field": "team", "reason": "Outside the teams this caller acts for."}


def log_path(session_id: str) -> str:
    return f"/api/v1/validation/sessions/{session_id}"


def write_log(caller, session_id: str) -> None:
    """A case number entered wrongly twice and then right, and a model time-out reported."""
    for value in ("1234", "12ab5678", "12345678"):
        checked = caller.request(
            "POST",
            "/api/v1/validation/check",
            json={"session_id": session_id, "field": "case_number", "value": value},
        )
        assert checked.status_code == 200, checked.text
    reported = caller.request(
        "POST",
        "/api/v1/validation/events",
        json={
            "events": [
                {
                    "session_id": session_id,
                    "step": 7,
                    "field": "model",
                    "outcome": "error",
                    "code": "model_timeout",
                }
            ]
        },
    )
    assert reported.status_code == 201, reported.text


@pytest.fixture(scope="module")
def world(make_caller, agent):
    """A session logged by an agent of team A, one by the organisation-wide agent."""
    agent_a = make_caller("agent", teams=(TEAM_A,))
    sessions = {"team-a": str(uuid.uuid4()), "unscoped": str(uuid.uuid4())}
    write_log(agent_a, sessions["team-a"])
    write_log(agent, sessions["unscoped"])
    return {"agent-a": agent_a, "session": sessions}


@pytest.fixture(scope="module", params=["client-with-team", "api-key-with-team"])
def agent_b(request, make_caller, make_api_key):
    """An agent of team B: a client-credentials client or an API key, both with `--team`."""
    if request.param == "client-with-team":
        return make_caller("agent", teams=(TEAM_B,))
    return make_api_key("qa-scope-agent-key", "agent", teams=(TEAM_B,))


def test_an_agent_with_a_team_is_team_scoped(agent_b):
    """The premise: persistence holds such an agent to its team."""
    other = agent_b.request("POST", "/api/v1/sessions", json=make_session(team=TEAM_A))
    assert other.status_code == 403, other.text
    assert other.json()["errors"] == [OUTSIDE]


@pytest.mark.parametrize("logged_by", ["team-a", "unscoped"])
def test_another_teams_validation_log_is_exactly_like_a_missing_one(world, agent_b, logged_by):
    other = agent_b.request("GET", log_path(world["session"][logged_by]))
    missing = agent_b.request("GET", log_path(str(uuid.uuid4())))
    assert other.status_code == missing.status_code == 404, other.text
    assert other.headers["Content-Type"] == missing.headers["Content-Type"]
    assert other.headers["Content-Type"] == "application/problem+json"
    assert {key: value for key, value in other.json().items() if key != "request_id"} == {
        key: value for key, value in missing.json().items() if key != "request_id"
    }


def test_an_unscoped_agents_log_is_not_readable_by_the_team_a_agent(world):
    other = world["agent-a"].request("GET", log_path(world["session"]["unscoped"]))
    missing = world["agent-a"].request("GET", log_path(str(uuid.uuid4())))
    assert other.status_code == missing.status_code == 404, other.text
    assert other.json()["detail"] == missing.json()["detail"]


@pytest.mark.parametrize("logged_by", ["team-a", "unscoped"])
def test_another_teams_agent_cannot_append_to_the_log(world, agent_b, admin, logged_by):
    session_id = world["session"][logged_by]
    before = admin.request("GET", log_path(session_id)).json()["events"]
    checked = agent_b.request(
        "POST",
        "/api/v1/validation/check",
        json={"session_id": session_id, "field": "case_number", "value": "1"},
    )
    assert checked.status_code == 403, checked.text
    assert checked.headers["Content-Type"] == "application/problem+json"
    assert checked.json()["errors"] == [
        {"field": "session_id", "reason": "Logged for another team than this caller acts for."}
    ]
    reported = agent_b.request(
        "POST",
        "/api/v1/validation/events",
        json={
            "events": [
                {"session_id": str(uuid.uuid4()), "field": "model", "outcome": "valid"},
                {"session_id": session_id, "field": "model", "outcome": "error"},
            ]
        },
    )
    assert reported.status_code == 403, reported.text
    assert reported.json()["errors"] == [
        {
            "field": "events.1.session_id",
            "reason": "Logged for another team than this caller acts for.",
        }
    ]
    assert session_id not in checked.text + reported.text
    assert admin.request("GET", log_path(session_id)).json()["events"] == before


@pytest.mark.parametrize("reader", ["agent-a", "qa-lead", "admin", "unscoped-agent"])
def test_the_own_team_qa_leads_admins_and_the_organisations_agent_read_the_log(
    world, make_caller, admin, agent, reader
):
    callers = {
        "agent-a": world["agent-a"],
        "qa-lead": make_caller("qa_lead"),
        "admin": admin,
        "unscoped-agent": agent,
    }
    answer = callers[reader].request("GET", log_path(world["session"]["team-a"]))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["session_id"], body["case_attempts"]) == (world["session"]["team-a"], 3)
    assert [(event["field"], event["outcome"]) for event in body["events"]] == [
        ("case_number", "invalid"),
        ("case_number", "invalid"),
        ("case_number", "valid"),
        ("model", "error"),
    ]
