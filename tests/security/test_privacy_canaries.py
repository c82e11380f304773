"""Privacy canaries: a made-up engineer name, case number, e-mail address and phone number go
through every write path of the platform, as the agent, an admin and a QA lead would send them
(accepted where the product pseudonymises, refused where it must), and then a full `pg_dump` of the
database, every log line of every process, every export and every answer collected on the way are
searched for them. The count must be zero everywhere."""

import json
import subprocess
import uuid
from urllib.parse import urlencode

import pytest

from devstack.postgres import pg_binary
from tests.common.builders import make_session

NAME = "Zebulon Quixotewright"
CASE = "73918264"
EMAIL = "zebulon.q@canary-mail.test"
PHONE = "+49 171 5550199"
CANARIES = (NAME, NAME.split()[1], CASE, EMAIL, PHONE, PHONE.replace(" ", ""))
TEAM = "canary-1"


def canary_session(**overrides):
    return make_session(engineer=NAME, case_number=CASE, team=TEAM, **overrides)


def csv_file(rows: list[dict]) -> bytes:
    columns = sorted({key for row in rows for key in row})
    lines = [",".join(columns)]
    for row in rows:
        lines.append(",".join(_cell(row.get(column, "")) for column in columns))
    return ("\r\n".join(lines) + "\r\n").encode()


def _cell(value) -> str:
    text = (
        ";".join(value)
        if isinstance(value, list)
        else json.dumps(value)
        if isinstance(value, dict)
        else str(value)
    )
    return '"' + text.replace('"', '""') + '"'


@pytest.fixture(scope="module")
def answers(platform, make_caller):
    """Send the canaries through every write path; returns every answer body received."""
    agent, admin = make_caller("agent"), make_caller("admin")
    qa = make_caller("qa_lead")
    manager = make_caller("manager", teams=(TEAM,))
    bodies: list[str] = []

    def send(caller, method, path, expect, **kwargs):
        response = caller.request(method, path, **kwargs)
        if not (path == "/api/v1/validation/check" and response.status_code == 200):
            # a successful check hands the agent its own input back, normalised (its purpose);
            # every other answer, error bodies above all, must not repeat personal data
            bodies.append(response.text)
        assert response.status_code in expect, (method, path, response.status_code, response.text)
        return response

    # the agent: sessions (name and case number are pseudonymised; personal data in notes refused)
    stored = send(agent, "POST", "/api/v1/sessions", {201}, json=canary_session())
    send(agent, "POST", "/api/v1/sessions", {422}, json=canary_session(notes=f"mail {EMAIL}"))
    send(agent, "POST", "/api/v1/sessions", {422}, json=canary_session(notes=f"call {PHONE}"))
    send(agent, "POST", "/api/v1/sessions", {422}, json=canary_session(notes=f"{NAME} was rude"))
    send(
        agent,
        "POST",
        "/api/v1/sessions?redact=true",
        {201},
        json=canary_session(notes=f"reach {EMAIL} or {PHONE}"),
    )
    send(agent, "POST", "/api/v1/sessions", {422}, json=canary_session(attributes={"who": NAME}))
    # the engineer is known now: their name is refused in any case in sessions written by code,
    # and labels or numbers cannot carry the case number
    code = stored.json()["engineer_code"]

    def by_code(**overrides):
        body = {**canary_session(), **overrides, "engineer_code": code}
        del body["engineer"]
        return body

    send(agent, "POST", "/api/v1/sessions", {422}, json=by_code(notes=f"{NAME.lower()} was late"))
    send(
        agent,
        "POST",
        "/api/v1/sessions?redact=true",
        {201},
        json=by_code(notes=f"{NAME.upper()} was late"),
    )
    send(agent, "POST", "/api/v1/sessions", {422}, json=by_code(attributes={NAME.lower(): 1}))
    send(agent, "POST", "/api/v1/sessions", {422}, json=by_code(attributes={"c": float(CASE)}))
    for label, value in (
        ("region", f"case-{CASE}"),
        ("team", f"c{CASE}"),
        ("agent_version", CASE),
        ("model", NAME.replace(" ", ".")),
    ):
        send(agent, "POST", "/api/v1/sessions", {422}, json=by_code(**{label: value}))
    # keys are the client's too: a name or an address as a key is refused without repeating it
    send(agent, "POST", "/api/v1/sessions", {422}, json={**canary_session(), NAME: 1})
    send(agent, "POST", "/api/v1/sessions", {422}, json=canary_session(attributes={EMAIL: 1}))
    send(admin, "GET", "/api/v1/sessions?" + urlencode({PHONE: "1"}), {422})
    send(
        agent,
        "POST",
        "/api/v1/sessions/batch",
        {200},
        json={
            "items": [
                canary_session(),
                canary_session(notes=f"see {EMAIL}"),
                {"engineer": NAME},
                {**canary_session(), EMAIL: NAME},
            ]
        },
    )
    # the agent's Compare History by name and engineer lookup (pseudonymised on the fly)
    send(agent, "POST", "/api/v1/history/compare", {200}, json={"engineer": NAME})
    send(admin, "POST", "/api/v1/engineers/lookup", {200}, json={"engineer": NAME})
    # the agent's validation checks: the values are checked, never logged
    session_id = str(uuid.uuid4())
    for field, value in (
        ("engineer", NAME),
        ("engineer", f"{NAME} 2"),
        ("case_number", CASE),
        ("case_number", f"{CASE}9"),
        ("review", canary_session()),
    ):
        send(
            agent,
            "POST",
            "/api/v1/validation/check",
            {200},
            json={"session_id": session_id, "field": field, "value": value},
        )
    event = {
        "session_id": session_id,
        "step": 2,
        "field": "case_number",
        "outcome": "error",
        "code": "model_timeout",
        "time": "2026-11-24T10:00:00+00:00",
        "agent_version": "3.7.0",
    }
    send(agent, "POST", "/api/v1/validation/events", {201, 200}, json={"events": [event]})
    send(
        agent,
        "POST",
        "/api/v1/validation/events",
        {422},
        json={"events": [{**event, "message": f"{NAME} {EMAIL} {PHONE}"}]},
    )
    for changed in (
        {"message": f"{NAME.lower()} escalated too late"},
        {"field": NAME.lower().replace(" ", "_")},
        {"code": f"case_{CASE}"},
    ):
        send(
            agent,
            "POST",
            "/api/v1/validation/events",
            {422},
            json={"events": [{**event, **changed}]},
        )
    # an admin's imports: CSV and JSON, with names pseudonymised and bad rows reported
    rows = [canary_session(), canary_session(notes=f"phone {PHONE}"), canary_session()]
    for row in rows:
        row["session_id"] = str(uuid.uuid4())
    send(
        admin,
        "POST",
        "/api/v1/imports",
        {200},
        data=csv_file(rows),
        headers={"Content-Type": "text/csv"},
    )
    send(
        admin,
        "POST",
        "/api/v1/imports",
        {200},
        json=[canary_session(), {"engineer": NAME, "notes": EMAIL}],
    )
    # a QA lead's review notes: personal data refused
    send(
        qa,
        "POST",
        f"/api/v1/qa/reviews/{session_id}",
        {422},
        json={"status": "reviewed", "notes": f"talked to {NAME}, {EMAIL}"},
    )
    send(
        qa,
        "POST",
        f"/api/v1/qa/reviews/{session_id}",
        {422},
        json={"status": "flagged", "notes": f"{NAME.lower()} escalated too late"},
    )
    send(
        qa,
        "POST",
        f"/api/v1/qa/reviews/{session_id}",
        {200},
        json={"status": "reviewed", "notes": "fine"},
    )
    # reads and exports of everything written
    send(admin, "POST", "/api/v1/trends/evaluate", {200})
    for path in (
        f"/api/v1/sessions/{stored.json()['session_id']}",
        f"/api/v1/sessions?team={TEAM}",
        f"/api/v1/sessions/export?team={TEAM}&format=csv",
        f"/api/v1/sessions/export?team={TEAM}&format=json",
        f"/api/v1/sessions/export?team={TEAM}&format=ndjson",
        f"/api/v1/validation/sessions/{session_id}",
        "/api/v1/alerts/export?format=csv",
        "/api/v1/validation/summary",
        "/api/v1/qa/reviews",
        "/api/v1/audit?limit=500",
    ):
        send(admin, "GET", path, {200})
    send(manager, "GET", f"/api/v1/sessions/export?team={TEAM}&format=csv", {200})
    return bodies


def found_in(text: str) -> list[str]:
    lowered = text.lower()
    return [canary for canary in CANARIES if canary.lower() in lowered]


def test_no_canary_in_any_answer(answers):
    assert len(answers) > 25
    leaks = {i: found_in(body) for i, body in enumerate(answers) if found_in(body)}
    assert not leaks, {i: (leaks[i], answers[i][:300]) for i in leaks}


def test_no_canary_in_a_full_database_dump(answers, platform, platform_db):
    dump = subprocess.run(
        [pg_binary("pg_dump"), "--no-owner", platform_db],
        capture_output=True,
        check=True,
        timeout=120,
    ).stdout.decode()
    assert "CREATE TABLE" in dump and TEAM in dump  # the dump holds the schemas and our rows
    assert found_in(dump) == []


def test_no_canary_in_any_log_line(answers, platform):
    logs = platform.logs()
    assert TEAM in logs or "/api/v1/imports" in logs  # the requests were logged
    assert found_in(logs) == []
