"""POST /validation/check, POST /validation/events and Show Validation Log."""

import json
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from devstack.testing import internal_headers
from qa_svc.app import create_app

SPEC = {
    "engineer": "Invalid Engineer Name format — please enter only letters, spaces, hyphens, or "
    "apostrophes.",
    "case_number": "Invalid Case Number — please enter exactly 8 digits.",
    "languages": "Unsupported language code entered. Supported codes: EN, DE, FR, IT, ES, TR, CS, PL.",
    "record_type": "Invalid record type — please enter 'Single' or 'Series' only.",
    "parts": "Invalid entry — please enter a number between 2 and 5.",
    "review": "Incomplete or invalid data detected — please update the highlighted field(s).",
}


@pytest.fixture
def client(app_config):
    app = create_app(app_config)
    yield app.test_client()
    app.extensions["db_pool"].close()


def check(client, session_id, field, value, **extra):
    response = client.post(
        "/api/v1/validation/check",
        headers=internal_headers("agent"),
        json={"session_id": str(session_id), "field": field, "value": value, **extra},
    )
    assert response.status_code == 200, response.json
    return response.json


@pytest.mark.parametrize(
    ("field", "value", "valid", "normalized", "message"),
    [
        ("engineer", "José  Núñez", True, "José Núñez", None),
        ("engineer", "R2-D2", False, None, SPEC["engineer"]),
        ("case_number", "12345678", True, "12345678", None),
        ("case_number", "1234567", False, None, SPEC["case_number"]),
        ("languages", "EN, XX, de", True, ["EN", "DE"], SPEC["languages"]),
        ("languages", "xx", True, ["EN"], SPEC["languages"]),
        ("languages", ["fr", "PL"], True, ["FR", "PL"], None),
        ("record_type", "series", True, "Series", None),
        ("record_type", "double", False, None, SPEC["record_type"]),
        ("parts", 3, True, 3, None),
        ("parts", 6, False, None, SPEC["parts"]),
        (
            "review",
            {
                "engineer": "Anna Berg",
                "case_number": "12345678",
                "languages": ["EN"],
                "record_type": "Series",
                "parts": 9,
            },
            False,
            ["parts"],
            SPEC["review"],
        ),
        (
            "review",
            {"engineer": "Anna Berg", "languages": ["EN"]},
            False,
            ["case_number", "record_type"],
            SPEC["review"],
        ),
        (
            "review",
            {
                "engineer": "Anna Berg",
                "case_number": "12345678",
                "languages": ["EN"],
                "record_type": "Single",
            },
            True,
            [],
            None,
        ),
    ],
)
def test_each_rule_answers_with_the_spec(client, field, value, valid, normalized, message):
    answer = check(client, uuid.uuid4(), field, value)
    assert (answer["valid"], answer["normalized"], answer["message"]) == (
        valid,
        normalized,
        message,
    )
    assert answer["restart_offered"] is False


def test_third_invalid_entry_offers_a_restart_with_defaults(client):
    session = uuid.uuid4()
    first = check(client, session, "case_number", "1")
    second = check(client, session, "case_number", "12")
    third = check(client, session, "case_number", "123")
    assert [first["attempt"], second["attempt"], third["attempt"]] == [1, 2, 3]
    assert [first["restart_offered"], second["restart_offered"]] == [False, False]
    assert third["restart_offered"] is True
    assert third["defaults"] == {"languages": ["EN"], "record_type": "Single"}


def test_show_validation_log_summarises_the_session(client):
    session = uuid.uuid4()
    # the agent's clock a minute ahead of ours: within the allowed skew, and the latest event
    later = (datetime.now(UTC) + timedelta(minutes=1)).replace(microsecond=0).isoformat()
    check(client, session, "engineer", "Anna Berg")
    for value in ("1", "12345678"):
        check(client, session, "case_number", value)
    check(client, session, "languages", "EN, XX, YY")
    check(client, session, "record_type", "SERIES")
    events = client.post(
        "/api/v1/validation/events",
        headers=internal_headers("agent"),
        json={
            "events": [
                {
                    "session_id": str(session),
                    "step": 7,
                    "field": "model",
                    "outcome": "error",
                    "code": "model_timeout",
                    "message": "Model did not answer within 60 s.",
                    "agent_version": "3.7.0",
                    "time": later,
                }
            ]
        },
    )
    assert events.status_code == 201 and events.json == {"recorded": 1}

    log = client.get(f"/api/v1/validation/sessions/{session}", headers=internal_headers("qa_lead"))
    assert log.status_code == 200
    body = log.json
    assert (
        body["engineer_validity"],
        body["case_attempts"],
        body["language_warnings"],
        body["record_type_status"],
        body["restart_offered"],
    ) == (True, 2, 1, "Series", False)
    assert body["timestamp"] == later
    assert body["events"][-1] == {
        "occurred_at": later,  # ISO 8601, as every time the API gives
        "source": "agent",
        "step": 7,
        "field": "model",
        "outcome": "error",
        "code": "model_timeout",
        "attempt": 1,
        "message": "Model did not answer within 60 s.",
        "agent_version": "3.7.0",
    }
    assert [event["field"] for event in body["events"]] == [
        "engineer",
        "case_number",
        "case_number",
        "languages",
        "record_type",
        "model",
    ]
    assert body["text"].splitlines()[:3] == [
        "Validation log",
        "- Engineer name valid: yes",
        "- Case number attempts: 2",
    ]


def test_raw_values_are_never_stored(client, database_url):
    session = uuid.uuid4()
    check(client, session, "engineer", "Quirinus Vanderpoel")
    check(client, session, "case_number", "98123457")
    check(client, session, "engineer", "Quirinus V4nderpoel")
    with psycopg.connect(database_url) as conn:
        dump = json.dumps(conn.execute("SELECT to_jsonb(e) FROM qa.validation_events e").fetchall())
    assert "vanderpoel" not in dump.lower() and "98123457" not in dump
    assert dump.count("invalid_engineer_name") == 1


def test_agent_messages_with_personal_data_are_refused(client):
    response = client.post(
        "/api/v1/validation/events",
        headers=internal_headers("agent"),
        json={
            "events": [
                {
                    "session_id": str(uuid.uuid4()),
                    "field": "model",
                    "outcome": "error",
                    "message": "Timeout while asking about jane.doe@example.com",
                }
            ]
        },
    )
    assert response.status_code == 422
    assert response.json["errors"] == [
        {"field": "events.0.message", "reason": "Personal data is not stored."}
    ]


def test_unknown_session_log_is_404_and_roles_apply(client):
    assert (
        client.get(
            f"/api/v1/validation/sessions/{uuid.uuid4()}", headers=internal_headers("admin")
        ).status_code
        == 404
    )
    denied = client.post(
        "/api/v1/validation/check",
        headers=internal_headers("manager"),
        json={"session_id": str(uuid.uuid4()), "field": "engineer", "value": "A"},
    )
    assert denied.status_code == 403


def test_low_confidence_sessions_are_found_from_review_checks_and_agent_events(client):
    low, high, reported, unknown = (uuid.uuid4() for _ in range(4))
    draft = {
        "engineer": "Anna Berg",
        "case_number": "12345678",
        "languages": ["EN", "DE"],
        "record_type": "Single",
        "parts": 1,
    }
    # 0.7 × 0.5 + 0.3 × 0.4 = 0.47: Low. 0.7 × 0.9 + 0.3 × 0.8 = 0.87: High.
    check(
        client, low, "review", {**draft, "confidence_analysis": 0.5, "confidence_translation": 0.4}
    )
    check(
        client, high, "review", {**draft, "confidence_analysis": 0.9, "confidence_translation": 0.8}
    )
    check(client, unknown, "engineer", "Anna Berg")
    recorded = client.post(
        "/api/v1/validation/events",
        headers=internal_headers("agent"),
        json={
            "events": [
                {
                    "session_id": str(reported),
                    "field": "model",
                    "outcome": "error",
                    "code": "model_timeout",
                    "confidence_overall": 0.49,
                }
            ]
        },
    )
    assert recorded.status_code == 201, recorded.json
    headers = internal_headers("qa_lead")
    queue = client.get("/api/v1/qa/reviews?low_confidence=true", headers=headers).json["items"]
    assert {item["session_id"] for item in queue} == {str(low), str(reported)}
    assert {item["confidence_overall"] for item in queue} == {0.47, 0.49}
    rest = client.get("/api/v1/qa/reviews?low_confidence=false", headers=headers).json["items"]
    assert {item["session_id"] for item in rest} == {str(high), str(unknown)}
    out_of_range = client.post(
        "/api/v1/validation/events",
        headers=internal_headers("agent"),
        json={
            "events": [
                {
                    "session_id": str(low),
                    "field": "model",
                    "outcome": "error",
                    "confidence_overall": 1.5,
                }
            ]
        },
    )
    assert out_of_range.status_code == 422
    assert "events.0.confidence_overall" in json.dumps(out_of_range.json)
