"""The QA UI pages (server-rendered) with the test client: queue filters, the validation log with
the review form, the error summary, metrics, roles and HTML errors."""

import re
import uuid

import pytest

from qa_svc.app import create_app
from shared.testing import internal_headers

QA = internal_headers("qa_lead", subject="qa-lead-1")
AGENT = internal_headers("agent")


@pytest.fixture
def client(app_config):
    app = create_app(app_config)
    yield app.test_client()
    app.extensions["db_pool"].close()


def check(client, session_id, field, value):
    response = client.post(
        "/api/v1/validation/check",
        headers=AGENT,
        json={"session_id": str(session_id), "field": field, "value": value},
    )
    assert response.status_code == 200, response.json


@pytest.fixture
def sessions(client):
    clean, troubled, doubtful = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    check(client, clean, "engineer", "Anna Berg")
    for attempt in ("123", "1234", "12345"):
        check(client, troubled, "case_number", attempt)
    draft = {
        "engineer": "Ben Ode",
        "case_number": "12345678",
        "languages": ["EN"],
        "record_type": "Single",
        "parts": 1,
        "confidence_analysis": 0.3,
    }
    check(client, doubtful, "review", draft)
    return {"clean": clean, "troubled": troubled, "doubtful": doubtful}


def page(client, path, headers=QA, status=200):
    response = client.get(path, headers=headers)
    assert response.status_code == status, response.text
    assert response.mimetype == "text/html"
    return response.text


def listed(html):
    return set(re.findall(r'href="/qa/sessions/([0-9a-f-]{36})"', html))


def test_the_queue_lists_sessions_and_filters_them(client, sessions):
    html = page(client, "/qa/")
    assert "<title>CR Assistant — QA" in html
    assert listed(html) == {str(s) for s in sessions.values()}
    assert listed(page(client, "/qa/?has_errors=true")) == {str(sessions["troubled"])}
    assert listed(page(client, "/qa/?restart_offered=true")) == {str(sessions["troubled"])}
    assert listed(page(client, "/qa/?low_confidence=true")) == {str(sessions["doubtful"])}
    assert listed(page(client, "/qa/?status=reviewed")) == set()
    assert "No session matches these filters" in page(client, "/qa/?status=reviewed")


def test_a_bad_filter_is_a_400_page_naming_the_field(client, sessions):
    html = page(client, "/qa/?has_errors=perhaps&agent_version=x", status=400)
    assert "has_errors" in html
    assert "perhaps" not in html


def test_the_session_page_shows_the_log_and_saves_a_review(client, sessions):
    troubled = sessions["troubled"]
    html = page(client, f"/qa/sessions/{troubled}")
    assert "Case number attempts</dt><dd>3" in html
    assert "Restart offered</dt><dd>yes" in html
    assert html.count("invalid_case_number") == 3
    saved = client.post(
        f"/qa/sessions/{troubled}",
        headers=QA,
        data={"status": "flagged", "notes": "Restart offered too late; retrain on step 2."},
    )
    assert saved.status_code == 302
    html = page(client, saved.headers["Location"])
    assert "Review saved." in html
    assert 'id="review-status" class="status status-flagged"' in html
    assert "retrain on step 2" in html
    assert listed(page(client, "/qa/?status=flagged")) == {str(troubled)}


def test_notes_with_personal_data_are_refused_and_not_echoed(client, sessions):
    response = client.post(
        f"/qa/sessions/{sessions['clean']}",
        headers=QA,
        data={"status": "reviewed", "notes": "call her at anna.berg@example.com"},
    )
    assert response.status_code == 422
    assert "personal data" in response.text
    assert "anna.berg@example.com" not in response.text
    assert "status-pending" in page(client, f"/qa/sessions/{sessions['clean']}")
    bad_status = client.post(
        f"/qa/sessions/{sessions['clean']}", headers=QA, data={"status": "done"}
    )
    assert bad_status.status_code == 422
    assert "Check status" in bad_status.text


def test_error_summary_and_metrics_pages(client, sessions):
    client.post(f"/qa/sessions/{sessions['troubled']}", headers=QA, data={"status": "reviewed"})
    errors = page(client, "/qa/errors?days=30")
    assert "invalid_case_number" in errors
    assert re.search(r"<td class=\"num\">3</td><td class=\"num\">1</td>", errors)
    metrics = page(client, "/qa/metrics?days=7")
    assert '<strong id="reviews-total">1</strong>' in metrics
    page(client, "/qa/metrics?days=0", status=400)


def test_roles_and_missing_sessions(client, sessions):
    assert "does not open the QA UI" in page(
        client, "/qa/", headers=internal_headers("manager", teams=("emea-1",)), status=403
    )
    page(client, "/qa/", headers=AGENT, status=403)
    assert client.get("/qa/").status_code == 401
    page(client, f"/qa/sessions/{uuid.uuid4()}", status=404)
    stylesheet = client.get("/qa/static/qa.css", headers=QA)
    assert stylesheet.status_code == 200
    assert stylesheet.mimetype == "text/css"
    stylesheet.close()
