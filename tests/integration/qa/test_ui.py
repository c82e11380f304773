"""The QA UI pages (server-rendered) with the test client: queue filters, the validation log with
the review form, the error summary, metrics, roles and HTML errors."""

import re
import uuid

import psycopg
import pytest

from devstack.testing import internal_headers
from qa_svc.app import create_app


def qa():
    """Fresh internal headers (the tokens live a minute; tests may run later than import)."""
    return internal_headers("qa_lead", subject="qa-lead-1")


@pytest.fixture
def client(app_config):
    app = create_app(app_config)
    yield app.test_client()
    app.extensions["db_pool"].close()


def check(client, session_id, field, value):
    response = client.post(
        "/api/v1/validation/check",
        headers=internal_headers("agent"),
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


def page(client, path, headers=None, status=200):
    response = client.get(path, headers=headers or qa())
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
        headers=qa(),
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
        headers=qa(),
        data={"status": "reviewed", "notes": "call her at anna.berg@example.com"},
    )
    assert response.status_code == 422
    assert "personal data" in response.text
    assert "anna.berg@example.com" not in response.text
    assert "status-pending" in page(client, f"/qa/sessions/{sessions['clean']}")
    bad_status = client.post(
        f"/qa/sessions/{sessions['clean']}", headers=qa(), data={"status": "done"}
    )
    assert bad_status.status_code == 422
    assert "Check status" in bad_status.text


def test_error_summary_and_metrics_pages(client, sessions):
    client.post(f"/qa/sessions/{sessions['troubled']}", headers=qa(), data={"status": "reviewed"})
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
    page(client, "/qa/", headers=internal_headers("agent"), status=403)
    assert client.get("/qa/").status_code == 401
    page(client, f"/qa/sessions/{uuid.uuid4()}", status=404)
    assert "There is no such QA page." in page(client, "/qa/no/such/page", status=404)
    page(client, "/qa/static/missing.css", status=404)
    stylesheet = client.get("/qa/static/qa.css", headers=qa())
    assert stylesheet.status_code == 200
    assert stylesheet.mimetype == "text/css"
    stylesheet.close()


@pytest.fixture
def many(client):
    """Five sessions, each with one valid check, in order of activity (oldest first)."""
    ids = [uuid.uuid4() for _ in range(5)]
    for session_id in ids:
        check(client, session_id, "record_type", "single")
    return ids


def test_the_queue_pages_with_a_cursor_and_keeps_the_filters(client, many):
    first = page(client, "/qa/?limit=2&status=pending")
    assert re.findall(r'href="/qa/sessions/([0-9a-f-]{36})"', first) == [
        str(many[4]),
        str(many[3]),
    ]
    following = re.search(r'rel="next" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    assert "status=pending" in following and "limit=2" in following
    second = page(client, following)
    assert listed(second) == {str(many[2]), str(many[1])}
    assert "First page" in second
    third = page(
        client, re.search(r'rel="next" href="([^"]+)"', second).group(1).replace("&amp;", "&")
    )
    assert listed(third) == {str(many[0])}
    assert 'rel="next"' not in third


def test_the_api_queue_pages_the_same_way(client, many):
    seen, cursor = [], None
    while True:
        query = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        response = client.get("/api/v1/qa/reviews", headers=qa(), query_string=query)
        assert response.status_code == 200, response.json
        seen += [item["session_id"] for item in response.json["items"]]
        cursor = response.json["next_cursor"]
        if cursor is None:
            break
    assert seen == [str(session_id) for session_id in reversed(many)]


@pytest.mark.parametrize("cursor", ["not-a-cursor", "WyJ4IiwieSJd", "WzEsMl0"])
def test_a_forged_cursor_is_a_400_naming_it(client, many, cursor):
    api = client.get("/api/v1/qa/reviews", headers=qa(), query_string={"cursor": cursor})
    assert api.status_code == 400
    assert api.json["errors"] == [{"field": "cursor", "reason": "Not a cursor this list issued."}]
    assert "Check cursor." in page(client, f"/qa/?cursor={cursor}", status=400)


def test_low_confidence_follows_the_setting(app_config, sessions):
    app = create_app({**app_config, "qa_low_confidence": 0.2})
    try:
        strict = app.test_client()
        html = page(strict, "/qa/?low_confidence=true")
        assert listed(html) == set()
        assert "Low confidence (below 0.20)" in html
        api = strict.get("/api/v1/qa/reviews?low_confidence=false", headers=qa())
        assert str(sessions["doubtful"]) in {item["session_id"] for item in api.json["items"]}
    finally:
        app.extensions["db_pool"].close()


def test_the_session_page_links_the_next_session_to_review(client, many):
    html = page(client, f"/qa/sessions/{many[3]}")
    assert f'data-key="next" href="/qa/sessions/{many[2]}"' in html
    client.post(f"/qa/sessions/{many[2]}", headers=qa(), data={"status": "reviewed"})
    html = page(client, f"/qa/sessions/{many[3]}")
    assert f'data-key="next" href="/qa/sessions/{many[1]}"' in html
    # from the oldest, it wraps round to the newest pending session
    assert f'data-key="next" href="/qa/sessions/{many[4]}"' in page(
        client, f"/qa/sessions/{many[0]}"
    )


MODEL_TIMEOUT = {
    "field": "model",
    "outcome": "error",
    "code": "model_timeout",
    "agent_version": "=HYPERLINK(1)",
}


def test_the_error_summary_downloads_as_csv(client, sessions, database_url):
    refused = client.post(
        "/api/v1/validation/events",
        headers=internal_headers("agent"),
        json={"events": [{**MODEL_TIMEOUT, "session_id": str(sessions["clean"])}]},
    )
    assert refused.status_code == 422  # versions cannot start like a formula any more …
    with psycopg.connect(database_url) as conn:  # … but rows stored before must still be safe
        conn.execute(
            "INSERT INTO qa.validation_events (session_id, source, field, outcome, code, "
            "agent_version) VALUES (%s, 'agent', 'model', 'error', 'model_timeout', %s)",
            (sessions["clean"], MODEL_TIMEOUT["agent_version"]),
        )
    response = client.get("/qa/errors.csv?days=30", headers=qa())
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    lines = response.text.splitlines()
    assert lines[0] == "code,field,agent_version,events,sessions,first_seen,last_seen,trend"
    assert any(line.startswith("invalid_case_number,case_number,,3,1,") for line in lines)
    assert any(line.startswith("model_timeout,model,'=HYPERLINK(1),1,1,") for line in lines)
    assert "Download CSV" in page(client, "/qa/errors?days=30")
    assert client.get("/qa/errors.csv", headers=internal_headers("agent")).status_code == 403


def test_the_metrics_page_draws_its_charts(client, sessions):
    client.post(f"/qa/sessions/{sessions['troubled']}", headers=qa(), data={"status": "reviewed"})
    html = page(client, "/qa/metrics?days=3")
    chart = re.search(r'id="chart-reviews".*?</figure>', html, flags=re.S).group(0)
    assert chart.count("<span title=") == 3
    assert re.search(r'title="[0-9-]+: 1" style="height: 100%"', chart)
    assert "No review was decided" not in html


def test_empty_pages_say_so(client):
    assert "No session in the validation log yet" in page(client, "/qa/")
    assert "No invalid entries or runtime errors in the last 30 days" in page(client, "/qa/errors")
    assert "No review was decided in the last 7 days" in page(client, "/qa/metrics?days=7")
