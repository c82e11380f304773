"""Names in free text and personal data in labels (issue #21, findings 5 and 6), through the running
platform: once an engineer's session is stored by name, that name is refused (or redacted) in every
free-text field of every later write, in any letter case, although the write names the engineer by
code or not at all; labels and codes have shapes no name or case number fits, and numbers in
attributes are checked like text. Refusals name the field and never repeat the value."""

import re
import subprocess
import sys
import uuid

import pytest
import requests

from shared.config import PROJECT_ROOT
from tests.common.builders import make_session

NAME = "Quintessa Marbleforge"
WRITTEN = "quintessa marbleforge"  # as a leader types it, lower case
CASE = "73915847"
TEAM = "names-1"
QA_EMAIL = "qa.names@example.test"
QA_PASSWORD = "known-names-qa-password-1"
FLASK = [sys.executable, "-m", "flask", "--app", "gateway"]


@pytest.fixture(scope="module")
def engineer_code(agent):
    """The engineer is stored once by name; later writes name them by code only."""
    stored = agent.request(
        "POST", "/api/v1/sessions", json=make_session(engineer=NAME, team=TEAM, case_number=CASE)
    )
    assert stored.status_code == 201, stored.text
    return stored.json()["engineer_code"]


def by_code(engineer_code, **overrides):
    body = make_session(team=TEAM, **overrides)
    body.pop("engineer")
    return {**body, "engineer_code": engineer_code, "session_id": str(uuid.uuid4())}


def stored_count(admin, engineer_code) -> int:
    answer = admin.request(
        "GET", "/api/v1/sessions", params={"engineer_code": engineer_code, "limit": 100}
    )
    assert answer.status_code == 200
    return len(answer.json()["items"])


def refused_fields(response) -> list[str]:
    assert response.status_code == 422, response.text
    assert "marbleforge" not in response.text.lower() and CASE not in response.text
    return sorted(error["field"] for error in response.json()["errors"])


def test_a_known_name_in_notes_is_refused_or_redacted(agent, admin, engineer_code):
    before = stored_count(admin, engineer_code)
    notes = f"{WRITTEN} escalated too late"
    refused = agent.request("POST", "/api/v1/sessions", json=by_code(engineer_code, notes=notes))
    assert refused_fields(refused) == ["notes"]
    assert stored_count(admin, engineer_code) == before  # nothing stored

    redacted = agent.request(
        "POST", "/api/v1/sessions?redact=true", json=by_code(engineer_code, notes=notes)
    )
    assert redacted.status_code == 201, redacted.text
    assert redacted.json()["notes"] == "[redacted:person_name] escalated too late"
    assert stored_count(admin, engineer_code) == before + 1


@pytest.mark.parametrize(
    ("attributes", "field"),
    [
        ({"escalated_by": "QUINTESSA MARBLEFORGE"}, "attributes.escalated_by"),
        ({"quintessa marbleforge": "late"}, "attributes.[redacted:person_name]"),
        ({"case": 73915847.0}, "attributes.case"),
        ({"n": 73915847}, "attributes.n"),
    ],
)
def test_a_known_name_or_a_number_in_attributes_is_refused(agent, engineer_code, attributes, field):
    body = by_code(engineer_code, attributes=attributes)
    assert refused_fields(agent.request("POST", "/api/v1/sessions", json=body)) == [field]


def test_a_known_name_in_a_batch_item_is_refused_there(agent, engineer_code):
    items = [by_code(engineer_code, notes=f"{WRITTEN} again"), by_code(engineer_code)]
    answer = agent.request("POST", "/api/v1/sessions/batch", json={"items": items})
    assert answer.status_code == 200
    assert [item["status"] for item in answer.json()["items"]] == ["invalid", "created"]
    assert [error["field"] for error in answer.json()["items"][0]["errors"]] == ["notes"]
    assert "marbleforge" not in answer.text.lower()


def test_a_known_name_in_an_import_row_is_refused_there(admin, engineer_code):
    rows = [by_code(engineer_code, notes=f"Spoke to {WRITTEN}."), by_code(engineer_code)]
    report = admin.request("POST", "/api/v1/imports", json=rows)
    assert report.status_code == 200, report.text
    assert (report.json()["inserted"], report.json()["rejected"]) == (1, 1)
    assert [(e["row"], e["field"], e["code"]) for e in report.json()["errors"]] == [
        (2, "notes", "personal_data")
    ]
    assert "marbleforge" not in report.text.lower()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("agent_version", "73915847"),
        ("agent_version", "3.7.0-73915847"),
        ("region", "case-73915847"),
        ("team", "c73915847"),
        ("model", "Quintessa.Marbleforge"),
    ],
)
def test_labels_that_could_hold_personal_data_are_refused(agent, engineer_code, field, value):
    body = {**by_code(engineer_code), field: value}
    assert refused_fields(agent.request("POST", "/api/v1/sessions", json=body)) == [field]


def test_a_validation_event_cannot_carry_a_name_or_a_case_number(agent, engineer_code):
    event = {
        "session_id": str(uuid.uuid4()),
        "step": 5,
        "field": "model",
        "outcome": "error",
        "code": "model_timeout",
        "agent_version": "3.7.0",
    }
    answers = [
        agent.request("POST", "/api/v1/validation/events", json={"events": [changed]})
        for changed in (
            {**event, "message": f"{WRITTEN} escalated too late"},
            {**event, "field": "quintessa_marbleforge"},
            {**event, "code": f"case_{CASE}"},
            {**event, "agent_version": CASE},
        )
    ]
    assert [refused_fields(answer) for answer in answers] == [
        ["events.0.message"],
        ["events.0.field"],
        ["events.0.code"],
        ["events.0.agent_version"],
    ]
    fine = agent.request(
        "POST", "/api/v1/validation/events", json={"events": [{**event, "message": "Time-out."}]}
    )
    assert fine.status_code == 201, fine.text


@pytest.fixture(scope="module")
def logged_session(agent):
    """A session of the validation log, for QA to review."""
    session_id = str(uuid.uuid4())
    check = agent.request(
        "POST",
        "/api/v1/validation/check",
        json={"session_id": session_id, "field": "case_number", "value": "1234"},
    )
    assert check.status_code == 200
    return session_id


def test_a_known_name_in_a_review_note_is_refused(make_caller, engineer_code, logged_session):
    qa = make_caller("qa_lead")
    path = f"/api/v1/qa/reviews/{logged_session}"
    refused = qa.request(
        "POST", path, json={"status": "flagged", "notes": f"{WRITTEN} escalated too late"}
    )
    assert refused_fields(refused) == ["notes"]
    assert qa.request("GET", "/api/v1/qa/reviews?status=flagged").json()["items"] == []


@pytest.fixture(scope="module")
def qa_browser(platform):
    """A QA lead signed in at /login through the UI's authorization-code flow (cookies only)."""
    subprocess.run(
        [*FLASK, "create-user", QA_EMAIL, "--role", "qa_lead", "--password-stdin"],
        input=QA_PASSWORD,
        cwd=PROJECT_ROOT,
        env=platform.env,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    browser = requests.Session()
    login = browser.get(f"{platform.gateway}/login", timeout=10)
    landed = browser.post(
        f"{platform.gateway}/login",
        data={
            "email": QA_EMAIL,
            "password": QA_PASSWORD,
            "next": "/qa/",
            "csrf_token": csrf_of(login.text),
        },
        timeout=30,
    )
    assert landed.status_code == 200 and landed.url == f"{platform.gateway}/qa/", landed.url
    return browser


def csrf_of(html: str) -> str:
    """The login form's CSRF token."""
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_a_known_name_in_the_qa_ui_review_form_is_refused(
    platform, qa_browser, engineer_code, logged_session
):
    page_url = f"{platform.gateway}/qa/sessions/{logged_session}"
    form = qa_browser.get(page_url, timeout=10)
    assert form.status_code == 200
    refused = qa_browser.post(  # the form as the page posts it (same origin)
        page_url,
        data={"status": "reviewed", "notes": f"{WRITTEN.upper()} escalated too late"},
        headers={"Origin": platform.gateway, "Sec-Fetch-Site": "same-origin"},
        timeout=30,
    )
    assert refused.status_code == 422
    assert "personal data" in refused.text
    assert "marbleforge" not in refused.text.lower()
    status = re.search(r'id="review-status"[^>]*>([^<]*)<', qa_browser.get(page_url).text)
    assert status.group(1) == "pending"
