"""The agent's path end to end: token from the gateway, sessions stored through it, nothing personal
kept in the database or the logs, and no way around the gateway."""

import subprocess
import uuid

import requests

from devstack.postgres import pg_binary
from tests.common.builders import make_session

CANARY_NAME = "Quirinus Vanderpoel"
CANARY_CASE = "98123457"


def test_agent_stores_and_repeats_a_session_through_the_gateway(agent, admin):
    body = make_session(team="e2e-team")
    created = agent.request("POST", "/api/v1/sessions", json=body)
    assert created.status_code == 201, created.text
    assert created.headers["X-Request-ID"]
    assert agent.request("POST", "/api/v1/sessions", json=body).status_code == 200

    read = admin.request("GET", f"/api/v1/sessions/{body['session_id']}")
    assert read.status_code == 200
    assert read.json()["engineer_code"] == created.json()["engineer_code"]


def test_request_without_a_token_is_refused_by_the_gateway(platform):
    response = requests.post(f"{platform.gateway}/api/v1/sessions", json=make_session(), timeout=10)
    assert response.status_code == 401
    assert response.headers["Content-Type"] == "application/problem+json"


def test_service_port_without_the_gateway_token_gets_401(platform, agent):
    token = agent.session.headers["Authorization"]  # a valid *public* token is not enough either
    for headers in ({}, {"Authorization": token}):
        response = requests.post(
            f"{platform.urls['persistence']}/api/v1/sessions",
            json=make_session(),
            headers=headers,
            timeout=10,
        )
        assert response.status_code == 401


def test_no_name_or_case_number_in_database_dump_or_logs(platform, platform_db, agent):
    body = make_session(engineer=CANARY_NAME, case_number=CANARY_CASE, session_id=str(uuid.uuid4()))
    assert agent.request("POST", "/api/v1/sessions", json=body).status_code == 201
    rejected = make_session(
        engineer=CANARY_NAME, case_number=CANARY_CASE, notes=f"{CANARY_NAME} was rude"
    )
    assert agent.request("POST", "/api/v1/sessions", json=rejected).status_code == 422
    lookup = agent.request("POST", "/api/v1/engineers/lookup", json={"engineer": CANARY_NAME})
    assert lookup.status_code == 200

    dump = subprocess.run(
        [pg_binary("pg_dump"), "--data-only", platform_db],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert body["session_id"] in dump  # the dump really holds the stored session
    logs = platform.logs()
    assert "/api/v1/sessions" in logs  # the access log really ran
    for canary in (CANARY_NAME, CANARY_NAME.split()[1], CANARY_CASE):
        assert canary.lower() not in dump.lower()
        assert canary.lower() not in logs.lower()


def test_erasure_reaches_every_service(agent, admin):
    name = "Erika Loeschmann"
    bodies = [make_session(engineer=name, team="erase-team", root_cause="other") for _ in range(3)]
    for body in bodies:
        assert agent.request("POST", "/api/v1/sessions", json=body).status_code == 201
    code = agent.request("POST", "/api/v1/engineers/lookup", json={"engineer": name}).json()[
        "engineer_code"
    ]
    assert admin.request("POST", "/api/v1/trends/evaluate").status_code == 200
    assert admin.request("GET", f"/api/v1/alerts?engineer_code={code}").json()["items"]
    assert agent.request("DELETE", f"/api/v1/engineers/{code}").status_code == 403

    erased = admin.request("DELETE", f"/api/v1/engineers/{code}")
    assert erased.status_code == 200, erased.text
    assert erased.json() == {
        "engineer_code": code,
        "sessions_deleted": 3,
        "services": {"persistence": "erased", "trends": "erased"},
    }
    assert admin.request("GET", f"/api/v1/sessions?engineer_code={code}").json()["items"] == []
    assert admin.request("GET", f"/api/v1/alerts?engineer_code={code}").json()["items"] == []
    history = admin.request("POST", "/api/v1/history/compare", json={"engineer_code": code}).json()
    assert history["current"]["sessions"] == 0 and history["previous"]["sessions"] == 0
