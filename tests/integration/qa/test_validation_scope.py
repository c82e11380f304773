"""Team scope of the validation log: a session's log belongs to the teams of the caller that wrote
its first event; an agent acting for teams reads and appends within its teams only."""

import uuid

import psycopg
import pytest

from devstack.testing import internal_headers
from qa_svc.app import create_app

A, B = "team-a", "team-b"
ANOTHER_TEAM = "Logged for another team than this caller acts for."


@pytest.fixture
def client(app_config):
    app = create_app(app_config)
    yield app.test_client()
    app.extensions["db_pool"].close()


def agent(*teams: str) -> dict[str, str]:
    return internal_headers("agent", teams=teams)


def check(client, session_id, headers, value="1"):
    return client.post(
        "/api/v1/validation/check",
        headers=headers,
        json={"session_id": str(session_id), "field": "case_number", "value": value},
    )


def report(client, session_ids, headers):
    return client.post(
        "/api/v1/validation/events",
        headers=headers,
        json={
            "events": [
                {"session_id": str(session_id), "field": "model", "outcome": "error"}
                for session_id in session_ids
            ]
        },
    )


def read(client, session_id, headers):
    return client.get(f"/api/v1/validation/sessions/{session_id}", headers=headers)


def test_another_teams_log_answers_like_a_missing_one(client):
    session = uuid.uuid4()
    assert check(client, session, agent(A)).status_code == 200
    other, missing = read(client, session, agent(B)), read(client, uuid.uuid4(), agent(B))
    assert other.status_code == missing.status_code == 404
    assert other.json == missing.json
    assert read(client, session, agent(A)).status_code == 200


@pytest.mark.parametrize(
    ("writer", "reader", "status"),
    [
        ((A,), (A, B), 200),  # a reader acting for more teams, the writer's among them
        ((A, B), (A,), 404),  # the writer acted for a team the reader does not
        ((A, B), (B, A), 200),
        ((), (A,), 404),  # an organisation-wide agent's log is no one team's
    ],
)
def test_a_scoped_reader_needs_every_team_the_first_writer_acted_for(
    client, writer, reader, status
):
    session = uuid.uuid4()
    assert check(client, session, agent(*writer)).status_code == 200
    assert read(client, session, agent(*reader)).status_code == status


@pytest.mark.parametrize("roles", [("qa_lead",), ("admin",), ("agent",), ("admin", "agent")])
def test_unscoped_callers_read_every_log(client, roles):
    session = uuid.uuid4()
    assert check(client, session, agent(A)).status_code == 200
    answer = read(client, session, internal_headers(*roles, teams=(B,) if "admin" in roles else ()))
    assert answer.status_code == 200
    assert answer.json["case_attempts"] == 1


def test_another_teams_agent_cannot_check_within_the_session_nor_learn_its_attempts(client):
    session = uuid.uuid4()
    for _ in range(2):
        assert check(client, session, agent(A)).status_code == 200
    refused = check(client, session, agent(B))
    assert refused.status_code == 403
    assert refused.json["errors"] == [{"field": "session_id", "reason": ANOTHER_TEAM}]
    assert "attempt" not in refused.json
    assert read(client, session, internal_headers("qa_lead")).json["case_attempts"] == 2


def test_a_batch_touching_another_teams_session_is_refused_whole(client):
    foreign, new = uuid.uuid4(), uuid.uuid4()
    assert report(client, [foreign], agent(A)).status_code == 201
    refused = report(client, [new, foreign, foreign], agent(B))
    assert refused.status_code == 403
    assert refused.json["errors"] == [
        {"field": "events.1.session_id", "reason": ANOTHER_TEAM},
        {"field": "events.2.session_id", "reason": ANOTHER_TEAM},
    ]
    assert str(foreign) not in refused.get_data(as_text=True)
    # nothing of the refused batch stays: not the events, not the claim on the new session
    assert read(client, new, internal_headers("admin")).status_code == 404
    assert check(client, new, agent(A)).status_code == 200
    assert len(read(client, foreign, internal_headers("admin")).json["events"]) == 1


def test_unscoped_writers_append_to_any_log_without_changing_its_team(client):
    session = uuid.uuid4()
    assert check(client, session, agent(A)).status_code == 200
    assert report(client, [session], internal_headers("agent")).status_code == 201
    assert report(client, [session], internal_headers("admin")).status_code == 201
    assert len(read(client, session, agent(A)).json["events"]) == 3
    assert read(client, session, agent(B)).status_code == 404


def test_the_first_writers_teams_are_recorded_once(client, database_url):
    session = uuid.uuid4()
    assert report(client, [session], agent(B, A)).status_code == 201
    assert report(client, [session], agent(A, B)).status_code == 201
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT teams FROM qa.validation_sessions WHERE session_id = %s", [session]
        ).fetchall()
    assert rows == [([A, B],)]
