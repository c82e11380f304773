"""POST/GET /sessions: the stored record, idempotency, validation of every field, team scope."""

import json
import uuid

import psycopg
import pytest

from devstack.testing import TEST_PSEUDONYM_KEY
from shared.pseudonyms import engineer_code
from tests.common.builders import make_session

KEY = TEST_PSEUDONYM_KEY.encode()


def test_session_story_create_read_repeat_conflict(api):
    body = make_session(engineer="Anna Müller", confidence_analysis=0.9, confidence_translation=0.8)

    created = api.as_agent("POST", "/api/v1/sessions", json=body)
    assert created.status_code == 201, created.json
    record = created.json
    assert record["session_id"] == body["session_id"]
    assert record["engineer_code"] == engineer_code("anna  müller", KEY)
    assert record["case_ref"].startswith("case_")
    assert record["confidence_overall"] == pytest.approx(0.87)
    assert record["confidence_rating"] == "High"
    assert record["duration_seconds"] == 1200
    assert record["languages"] == ["EN", "DE"]
    assert created.headers["Location"] == f"/api/v1/sessions/{body['session_id']}"
    assert "engineer" not in record and "case_number" not in record

    repeated = api.as_agent("POST", "/api/v1/sessions", json=body)
    assert repeated.status_code == 200
    assert repeated.json == record

    changed = api.as_agent("POST", "/api/v1/sessions", json={**body, "sentiment_score": 0.9})
    assert changed.status_code == 409
    assert changed.json["errors"] == [
        {"field": "session_id", "reason": "Stored with different content."}
    ]

    read = api.as_admin("GET", f"/api/v1/sessions/{body['session_id']}")
    assert read.status_code == 200
    assert read.json == record


def test_name_and_case_number_are_never_stored(api, database_url):
    body = make_session(engineer="Zacharias Quellhorst", case_number="87654321")
    assert api.as_agent("POST", "/api/v1/sessions", json=body).status_code == 201

    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT to_jsonb(s)::text FROM persistence.sessions s").fetchall()
        log = conn.execute("SELECT to_jsonb(c)::text FROM persistence.change_log c").fetchall()
    dumped = json.dumps([rows, log]).lower()
    assert "quellhorst" not in dumped
    assert "87654321" not in dumped


def test_generated_session_id_when_the_agent_sends_none(api):
    body = make_session(session_id=...)
    response = api.as_agent("POST", "/api/v1/sessions", json=body)
    assert response.status_code == 201
    assert uuid.UUID(response.json["session_id"])


def test_spec_labels_are_normalised(api):
    body = make_session(
        root_cause="Knowledge Gap",
        record_type="Series",
        parts=3,
        languages="de; en",
        tone_label="Negative",
    )
    response = api.as_agent("POST", "/api/v1/sessions", json=body)
    assert response.status_code == 201, response.json
    assert response.json["root_cause"] == "knowledge_gap"
    assert response.json["record_type"] == "series"
    assert response.json["languages"] == ["DE", "EN"]
    assert response.json["tone_label"] == "negative"


def test_english_only_output_takes_analysis_confidence(api):
    body = make_session(languages=["EN"], confidence_analysis=0.45, confidence_translation=None)
    response = api.as_agent("POST", "/api/v1/sessions", json=body)
    assert response.json["confidence_overall"] == pytest.approx(0.45)
    assert response.json["confidence_rating"] == "Low"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("engineer", "R2-D2"),
        ("engineer", ""),
        ("case_number", "1234567"),
        ("case_number", "12345678a"),
        ("team", ""),
        ("team", "emea 1"),
        ("record_type", "double"),
        ("parts", 7),
        ("languages", ["EN", "XX"]),
        ("languages", 5),
        ("sentiment_score", 1.5),
        ("sentiment_score", "high"),
        ("tone_label", "angry"),
        ("root_cause", "bad luck"),
        ("confidence_analysis", -0.1),
        ("confidence_translation", 2),
        ("started_at", "2026-01-01T10:00:00"),
        ("ended_at", "yesterday"),
        ("agent_version", "x" * 65),
        ("notes", "x" * 2001),
        ("attributes", ["not", "an", "object"]),
        ("session_id", "not-a-uuid"),
        ("engineer_code", "eng_not-a-real-code"),
        ("unknown_field", 1),
    ],
)
def test_bad_value_is_rejected_naming_the_field(api, field, value):
    body = make_session(**{field: value})
    if field == "engineer_code":
        body.pop("engineer")
    response = api.as_agent("POST", "/api/v1/sessions", json=body)
    assert response.status_code == 422, response.json
    assert response.headers["Content-Type"] == "application/problem+json"
    assert field in [error["field"] for error in response.json["errors"]]
    if isinstance(value, str) and len(value) > 3:
        assert value not in json.dumps(response.json)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"record_type": "series", "parts": 1}, "parts"),
        ({"record_type": "series", "parts": ...}, "parts"),
        ({"record_type": "single", "parts": 2}, "parts"),
        ({"engineer": ...}, "engineer"),
        ({"case_number": ...}, "case_number"),
        (
            {"started_at": "2026-01-01T10:00:00+00:00", "ended_at": "2026-01-01T09:00:00+00:00"},
            "ended_at",
        ),
    ],
)
def test_inconsistent_fields_are_rejected(api, overrides, field):
    response = api.as_agent("POST", "/api/v1/sessions", json=make_session(**overrides))
    assert response.status_code == 422
    assert field in [error["field"] for error in response.json["errors"]]


def test_personal_data_in_notes_is_rejected_without_echo(api, database_url):
    body = make_session(notes="Call her at +49 170 1234567 or mail anna.berg@example.com")
    response = api.as_agent("POST", "/api/v1/sessions", json=body)
    assert response.status_code == 422
    assert response.json["errors"][0]["field"] == "notes"
    text = json.dumps(response.json)
    assert "example.com" not in text and "1234567" not in text
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM persistence.sessions").fetchone()[0] == 0


def test_engineer_name_in_attributes_is_rejected(api):
    body = make_session(engineer="Anna Berg", attributes={"comment": "anna berg was late"})
    response = api.as_agent("POST", "/api/v1/sessions", json=body)
    assert response.status_code == 422
    assert response.json["errors"][0]["field"] == "attributes.comment"


def test_redact_stores_text_without_personal_data(api):
    body = make_session(notes="Mail anna.berg@example.com today")
    response = api.as_agent("POST", "/api/v1/sessions?redact=true", json=body)
    assert response.status_code == 201
    assert "example.com" not in response.json["notes"]
    assert "[redacted:email]" in response.json["notes"]


def test_unknown_query_argument_is_rejected(api):
    response = api.as_admin("GET", "/api/v1/sessions?colour=blue")
    assert response.status_code == 422
    assert response.json["errors"][0]["field"] == "colour"


def test_body_that_is_not_json_gets_415(api):
    response = api.as_agent("POST", "/api/v1/sessions", data="a,b", content_type="text/csv")
    assert response.status_code == 415


def test_malformed_json_gets_400(api):
    response = api.as_agent(
        "POST", "/api/v1/sessions", data="{nope", content_type="application/json"
    )
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/problem+json"


def test_body_over_the_limit_gets_413(app_config):
    from devstack.testing import internal_headers
    from persistence_svc.app import create_app

    app = create_app({**app_config, "max_body_bytes": 2048})
    try:
        body = make_session(notes="x" * 1900, attributes={"a": "y" * 1000})
        response = app.test_client().post(
            "/api/v1/sessions", json=body, headers=internal_headers("agent")
        )
        assert response.status_code == 413
        assert response.json["status"] == 413
    finally:
        app.extensions["db_pool"].close()


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer garbage"},
        {"Authorization": "Basic ZGVtbzpkZW1v"},
    ],
)
def test_call_without_the_gateway_token_gets_401(app, headers):
    client = app.test_client()
    response = client.post("/api/v1/sessions", json=make_session(), headers=headers)
    assert response.status_code == 401
    assert client.get("/api/v1/sessions", headers=headers).status_code == 401


def test_probes_need_no_token(app):
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").json == {"status": "ready", "service": "persistence"}
    assert b"cr_http_requests_total" in client.get("/metrics").data


@pytest.mark.parametrize(
    ("method", "path", "role"),
    [
        ("POST", "/api/v1/sessions", "manager"),
        ("POST", "/api/v1/sessions", "qa_lead"),
        ("POST", "/api/v1/sessions/batch", "manager"),
        ("GET", "/api/v1/sessions", "agent"),
        ("DELETE", "/api/v1/engineers/eng_aaaaaaaaaaaaaaaaaaaaaaaa", "manager"),
        ("GET", "/api/v1/internal/changes", "admin"),
        ("GET", "/api/v1/internal/changes?format=rows", "admin"),
        ("GET", "/api/v1/internal/changes?format=rows", "manager"),
    ],
)
def test_role_without_the_right_gets_403(api, method, path, role):
    kwargs = {"json": make_session()} if method == "POST" else {}
    response = api.call(method, path, role, teams=("emea-1",), **kwargs)
    assert response.status_code == 403


def test_manager_sees_only_own_team(api):
    own = make_session(team="emea-1")
    other = make_session(team="apac-2")
    for body in (own, other):
        assert api.as_agent("POST", "/api/v1/sessions", json=body).status_code == 201

    listed = api.as_manager("GET", "/api/v1/sessions", team="emea-1")
    assert [item["session_id"] for item in listed.json["items"]] == [own["session_id"]]
    assert api.as_manager("GET", f"/api/v1/sessions/{other['session_id']}").status_code == 404
    asked = api.as_manager("GET", "/api/v1/sessions?team=apac-2", team="emea-1")
    assert asked.json["items"] == []


def test_list_filters_and_keyset_pagination(api):
    ids = []
    for hours in range(5):
        body = make_session(
            ended_at=f"2026-03-0{hours + 1}T10:00:00+00:00",
            started_at=f"2026-03-0{hours + 1}T09:40:00+00:00",
            root_cause="process_issue" if hours % 2 else "other",
        )
        ids.append(api.as_agent("POST", "/api/v1/sessions", json=body).json["session_id"])
    newest_first = list(reversed(ids))

    first = api.as_admin("GET", "/api/v1/sessions?limit=2").json
    second = api.as_admin("GET", f"/api/v1/sessions?limit=2&cursor={first['next_cursor']}").json
    third = api.as_admin("GET", f"/api/v1/sessions?limit=2&cursor={second['next_cursor']}").json
    paged = [item["session_id"] for page in (first, second, third) for item in page["items"]]
    assert paged == newest_first
    assert third["next_cursor"] is None

    filtered = api.as_admin("GET", "/api/v1/sessions?root_cause=process_issue").json
    assert {item["session_id"] for item in filtered["items"]} == {ids[1], ids[3]}
    window = api.as_admin(
        "GET", "/api/v1/sessions?from=2026-03-02T00:00:00%2B00:00&to=2026-03-04T00:00:00%2B00:00"
    )
    assert {item["session_id"] for item in window.json["items"]} == {ids[1], ids[2]}
    assert api.as_admin("GET", "/api/v1/sessions?cursor=bogus").status_code == 400


def test_lookup_gives_the_stored_pseudonym(api):
    stored = api.as_agent("POST", "/api/v1/sessions", json=make_session(engineer="Jonas Weber"))
    lookup = api.as_manager("POST", "/api/v1/engineers/lookup", json={"engineer": "JONAS  weber"})
    assert lookup.status_code == 200
    assert lookup.json == {"engineer_code": stored.json["engineer_code"]}
    bad = api.as_manager("POST", "/api/v1/engineers/lookup", json={"engineer": "J0nas"})
    assert bad.status_code == 422


def test_erasure_deletes_every_session_of_the_engineer(api):
    mine = [make_session(engineer="Clara Novak") for _ in range(3)]
    theirs = make_session(engineer="Luca Rossi")
    for body in [*mine, theirs]:
        api.as_agent("POST", "/api/v1/sessions", json=body)
    code = engineer_code("Clara Novak", KEY)

    erased = api.as_admin("DELETE", f"/api/v1/engineers/{code}")
    assert erased.json == {"engineer_code": code, "sessions_deleted": 3}
    remaining = api.as_admin("GET", "/api/v1/sessions").json["items"]
    assert [item["session_id"] for item in remaining] == [theirs["session_id"]]
    assert api.as_admin("DELETE", "/api/v1/engineers/not-a-code").status_code == 422
