"""OWASP API3 (object property level authorisation): fields the server owns cannot be set by a
client. Each is refused with a 422 that names it, and nothing is written."""

import uuid

import pytest

from tests.common.builders import make_session

SESSION_OWNED = (
    "confidence_overall",
    "confidence_rating",
    "duration_seconds",
    "analysed_at",
    "created_at",
    "updated_at",
    "content_hash",
)


@pytest.mark.parametrize("field", SESSION_OWNED)
def test_server_owned_session_fields_are_refused(make_caller, field):
    agent, admin = make_caller("agent"), make_caller("admin")
    body = make_session(team="api3-team", **{field: "2026-01-01T00:00:00+00:00"})
    response = agent.request("POST", "/api/v1/sessions", json=body)
    assert response.status_code == 422, response.text
    assert {"field": field, "reason": "Unknown field."} in response.json()["errors"]
    assert admin.request("GET", f"/api/v1/sessions/{body['session_id']}").status_code == 404
    batch = agent.request("POST", "/api/v1/sessions/batch", json={"items": [body]})
    assert batch.json()["items"][0]["status"] == "invalid"


@pytest.mark.parametrize("field", ["reviewer", "decided_at", "first_seen_at", "session_id"])
def test_review_decisions_cannot_claim_a_reviewer_or_a_time(make_caller, field):
    qa = make_caller("qa_lead")
    response = qa.request(
        "POST",
        f"/api/v1/qa/reviews/{uuid.uuid4()}",
        json={"status": "reviewed", field: "someone-else"},
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field


@pytest.mark.parametrize("field", ["rule", "updated_at", "updated_by"])
def test_thresholds_cannot_be_renamed_or_backdated(make_caller, field):
    admin = make_caller("admin")
    current = admin.request("GET", "/api/v1/thresholds/recurring_issue")
    body = {"params": current.json()["params"], "enabled": True, field: "x"}
    response = admin.request(
        "PUT",
        "/api/v1/thresholds/recurring_issue",
        json=body,
        headers={"If-Match": current.headers["ETag"]},
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field
    after = admin.request("GET", "/api/v1/thresholds/recurring_issue")
    assert after.headers["ETag"] == current.headers["ETag"]  # nothing changed
