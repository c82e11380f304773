"""The QA UI in a real headless Chromium against a real qa_svc process: the browser carries a
qa_lead's internal token as the gateway would, and a QA lead filters the queue, opens a session's
validation log, reviews it with the form and with the keyboard, and sees the queue and the metrics
change."""

import re
import uuid

import pytest
import requests
from playwright.sync_api import expect

from devstack.processes import start_platform
from devstack.testing import (
    TEST_GATEWAY_KEY,
    clone_database,
    drop_database,
    internal_token_settings,
)
from shared.db import url_with_database
from shared.tokens import Principal, sign_internal_token
from tests.common.browser import save_screenshot


def bearer(*roles: str, subject: str) -> dict[str, str]:
    principal = Principal(subject=subject, roles=frozenset(roles), teams=frozenset(), kind="user")
    token = sign_internal_token(principal, TEST_GATEWAY_KEY, audience="qa", ttl=900)
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def qa_url(pg_server, template_database, tmp_path_factory):
    """qa_svc alone, as gunicorn, on its own database, trusting the test gateway key."""
    name = clone_database(pg_server, template_database)
    work = tmp_path_factory.mktemp("qa-ui")
    jwks = internal_token_settings(work / "keys")["internal_token_jwks"]
    running = start_platform(
        url_with_database(pg_server, name),
        work,
        names=["qa", "persistence"],  # QA free text goes to persistence's PII guard
        extra_env={"INTERNAL_TOKEN_JWKS": jwks},
    )
    yield running.urls["qa"]
    running.stop()
    drop_database(pg_server, name)


@pytest.fixture(scope="module")
def sessions(qa_url):
    """Sessions the agent reported: clean ones, one with a restart offered, one low-confidence
    draft, one with a model time-out."""
    agent = requests.Session()
    agent.headers.update(bearer("agent", subject="demo-agent"))

    def check(session_id, field, value, **extra):
        response = agent.post(
            f"{qa_url}/api/v1/validation/check",
            json={"session_id": str(session_id), "field": field, "value": value, **extra},
            timeout=10,
        )
        assert response.status_code == 200, response.text

    ids = {
        name: uuid.uuid4()
        for name in ("clean-1", "clean-2", "troubled", "doubtful", "timed-out", "clean-3")
    }
    for name in ("clean-1", "clean-2"):
        check(ids[name], "engineer", "Anna Berg", agent_version="3.6.0")
        check(ids[name], "languages", "EN, de", agent_version="3.6.0")
    for attempt, value in enumerate(("123", "1234", "12345"), start=1):
        check(ids["troubled"], "case_number", value, attempt=attempt, agent_version="3.7.0")
    check(
        ids["doubtful"],
        "review",
        {
            "engineer": "Ben Ode",
            "case_number": "12345678",
            "languages": ["EN"],
            "record_type": "Single",
            "parts": 1,
            "confidence_analysis": 0.31,
        },
        agent_version="3.7.0",
    )
    reported = agent.post(
        f"{qa_url}/api/v1/validation/events",
        json={
            "events": [
                {
                    "session_id": str(ids["timed-out"]),
                    "step": 5,
                    "field": "model",
                    "outcome": "error",
                    "code": "model_timeout",
                    "message": "The model did not answer within 60 s.",
                    "agent_version": "3.7.0",
                }
            ]
        },
        timeout=10,
    )
    assert reported.status_code == 201, reported.text
    check(ids["clean-3"], "record_type", "series", agent_version="3.7.0")
    return ids


def press_shortcut(page, key: str) -> None:
    """Press a QA UI shortcut once the page has loaded: the shortcuts live in qa.js, a deferred
    script, and a key pressed right after a form's navigation commits can reach the new page before
    the script does (CI saw `j` lost that way)."""
    page.wait_for_load_state("load")
    page.keyboard.press(key)


def session_links(page) -> list[str]:
    hrefs = page.locator("a.session-link").evaluate_all("links => links.map(a => a.pathname)")
    return [href.rsplit("/", 1)[1] for href in hrefs]


def test_a_qa_lead_filters_opens_reviews_and_sees_the_metrics(new_page, qa_url, sessions):
    page = new_page(extra_http_headers=bearer("qa_lead", subject="qa-lead-e2e"))
    page.goto(f"{qa_url}/qa/")
    assert page.title().startswith("CR Assistant — QA")
    assert set(session_links(page)) == {str(s) for s in sessions.values()}
    assert page.locator("link[rel=stylesheet]").evaluate("l => l.sheet.cssRules.length") > 10
    save_screenshot(page, "qa-ui-queue")

    # the filters, through their labelled controls
    page.get_by_label("Low confidence (below 0.50)").select_option("true")
    page.get_by_role("button", name="Apply").click()
    assert "low_confidence=true" in page.url
    assert session_links(page) == [str(sessions["doubtful"])]
    assert page.locator("#queue .tag").inner_text() == "Low"
    page.get_by_role("link", name="Reset").click()
    page.get_by_label("Has errors").select_option("true")
    page.get_by_label("Agent version").fill("3.7.0")
    page.get_by_role("button", name="Apply").click()
    assert set(session_links(page)) == {str(sessions["troubled"]), str(sessions["timed-out"])}
    page.get_by_label("Restart offered").select_option("true")
    page.get_by_role("button", name="Apply").click()
    assert session_links(page) == [str(sessions["troubled"])]

    # keyboard: j focuses the first session, Enter opens its validation log
    press_shortcut(page, "j")
    expect(page.locator("a.session-link").first).to_be_focused()
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/qa/sessions/{sessions['troubled']}")
    summary = page.locator("dl.summary").inner_text()
    assert re.search(r"Case number attempts\s+3", summary)
    assert re.search(r"Restart offered\s+yes", summary)
    assert page.locator("#timeline tbody tr").count() == 3
    assert page.locator("#review-status").inner_text() == "pending"

    # notes with personal data are refused and not shown back
    page.get_by_label("Status").select_option("reviewed")
    page.get_by_label("Notes").fill("Ask anna.berg@example.com about it")
    page.get_by_role("button", name="Save review").click()
    assert "personal data" in page.get_by_role("alert").inner_text()
    assert "anna.berg@example.com" not in page.content()
    assert page.locator("#review-status").inner_text() == "pending"

    page.get_by_label("Status").select_option("reviewed")
    page.get_by_label("Notes").fill("Restart came at the third attempt, as the spec says.")
    page.get_by_role("button", name="Save review").click()
    assert page.get_by_role("status").inner_text() == "Review saved."
    assert page.locator("#review-status").inner_text() == "reviewed"
    save_screenshot(page, "qa-ui-session")

    # the next pending session opens with n and is marked reviewed with r
    press_shortcut(page, "n")
    page.wait_for_url(re.compile(r".*/qa/sessions/[0-9a-f-]{36}$"))
    second = page.url.rsplit("/", 1)[1]
    assert second not in (str(sessions["troubled"]), "")
    press_shortcut(page, "r")
    page.wait_for_url("**?saved=1")
    assert page.locator("#review-status").inner_text() == "reviewed"

    page.goto(f"{qa_url}/qa/?status=reviewed")
    assert set(session_links(page)) == {str(sessions["troubled"]), second}
    assert page.locator("#queue .status-reviewed").count() == 2

    page.get_by_role("link", name="Metrics").click()
    assert page.title() == "CR Assistant — QA · QA metrics"
    assert page.locator("#reviews-total").inner_text() == "2"
    today = page.locator("#metrics tbody tr").first.locator("td").all_inner_texts()
    assert today[1] == "2"

    page.get_by_role("link", name="Error summary").click()
    rows = page.locator("#errors tbody tr").all_inner_texts()
    assert any("invalid_case_number" in row and "3.7.0" in row for row in rows)
    assert any("model_timeout" in row and "new" in row for row in rows)
    export = page.get_by_role("link", name="Download CSV")
    csv_file = page.request.get(export.evaluate("link => link.href"))
    assert csv_file.status == 200
    assert csv_file.headers["content-disposition"].endswith('"qa-error-summary-30d.csv"')
    assert "invalid_case_number,case_number,3.7.0,3,1," in csv_file.text()

    # the queue, with its mix of statuses, as the README shows it
    page.goto(f"{qa_url}/qa/")
    save_screenshot(page, "qa-ui-queue")


def test_other_roles_get_an_html_403_page(new_page, qa_url, sessions):
    page = new_page(extra_http_headers=bearer("manager", subject="manager-e2e"))
    response = page.goto(f"{qa_url}/qa/")
    assert response.status == 403
    assert page.title().startswith("CR Assistant — QA")
    assert "does not open the QA UI" in page.get_by_role("alert").inner_text()


def test_every_page_answers(qa_url, sessions):
    """Each page answers 200 with its content type; how fast at scale is `make bench`'s
    (`--only qa-ui`), not a timed test."""
    lead = requests.Session()
    lead.headers.update(bearer("qa_lead", subject="qa-lead-e2e"))
    for path in (
        "/qa/",
        "/qa/?has_errors=true&low_confidence=false",
        f"/qa/sessions/{sessions['troubled']}",
        "/qa/errors",
        "/qa/errors.csv",
        "/qa/metrics",
    ):
        response = lead.get(f"{qa_url}{path}", timeout=10)
        assert response.status_code == 200, path
        kind = "text/csv" if path.endswith(".csv") else "text/html"
        assert response.headers["content-type"].startswith(kind), path
