"""The scorecard review form in a real headless Chromium against real qa_svc and persistence
processes, driven by the keyboard only: a QA lead rates a session 1-5, p/f and N/A, saves with
Enter, and sees the quality score and the Quality page."""

import subprocess
import sys
import uuid

import pytest
import requests

from devstack.processes import start_platform
from devstack.testing import (
    TEST_GATEWAY_KEY,
    clone_database,
    drop_database,
    internal_token_settings,
)
from shared.config import PROJECT_ROOT
from shared.db import url_with_database
from shared.tokens import Principal, sign_internal_token
from tests.common.browser import save_screenshot

CARD = {
    "name": "Agent QA",
    "criteria": [
        {"key": "root_cause", "label": "Root cause correct", "weight": 3, "scale": "1-5"},
        {
            "key": "sentiment",
            "label": "Sentiment plausible",
            "weight": 1,
            "scale": "na_allowed_1-5",
        },
        {"key": "spec", "label": "Spec messages followed", "weight": 2, "scale": "pass_fail"},
    ],
}


def bearer(*roles: str, subject: str, name: str = "") -> dict[str, str]:
    principal = Principal(subject=subject, roles=frozenset(roles), kind="user", name=name)
    token = sign_internal_token(principal, TEST_GATEWAY_KEY, audience="qa", ttl=900)
    return {"Authorization": f"Bearer {token}"}


def lead() -> dict[str, str]:
    """The QA lead's headers, signed when used: a token signed at import expires before a
    test that runs late in a long suite reaches it."""
    return bearer("qa_lead", subject="3f1c0d6e-lead", name="Quinn QA")


@pytest.fixture(scope="module")
def qa_url(pg_server, template_database, tmp_path_factory):
    """qa_svc and persistence (the PII guard of comments) as processes on their own database."""
    name = clone_database(pg_server, template_database)
    work = tmp_path_factory.mktemp("qa-scorecards")
    jwks = internal_token_settings(work / "keys")["internal_token_jwks"]
    running = start_platform(
        url_with_database(pg_server, name),
        work,
        names=["qa", "persistence"],
        extra_env={"INTERNAL_TOKEN_JWKS": jwks},
    )
    yield running.urls["qa"]
    running.stop()
    drop_database(pg_server, name)


@pytest.fixture(scope="module")
def session_id(qa_url):
    session = uuid.uuid4()
    reported = requests.post(
        f"{qa_url}/api/v1/validation/events",
        headers=bearer("agent", subject="demo-agent"),
        json={
            "events": [
                {
                    "session_id": str(session),
                    "field": "model",
                    "outcome": "error",
                    "code": "model_timeout",
                    "agent_version": "3.7.1",
                }
            ]
        },
        timeout=10,
    )
    assert reported.status_code == 201, reported.text
    card = requests.post(f"{qa_url}/api/v1/qa/scorecards", json=CARD, headers=lead(), timeout=10)
    assert card.status_code == 201, card.text
    return session


def press_tab_until(page, name: str, limit: int = 40) -> None:
    """Tab through the page until the element named `name` has the focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.name") == name:
            return
    raise AssertionError(f"{name} never took the focus")


def test_a_qa_lead_scores_a_session_with_the_keyboard_only(new_page, qa_url, session_id):
    page = new_page(extra_http_headers=lead())
    page.goto(f"{qa_url}/qa/sessions/{session_id}")
    criteria = page.locator("#scorecard fieldset.criterion legend").all_inner_texts()
    assert [text.split(" weight")[0] for text in criteria] == [c["label"] for c in CARD["criteria"]]
    assert page.locator("#timeline tbody tr").count() == 1  # the log beside the scorecard

    press_tab_until(page, "rating-root_cause")
    page.keyboard.press("4")  # root cause 4 of 5, and the focus moves on to sentiment
    assert page.evaluate("document.activeElement.name") == "rating-sentiment"
    page.keyboard.press("p")  # no pass on a 1-5 scale: nothing happens
    assert page.evaluate("document.activeElement.name") == "rating-sentiment"
    page.keyboard.press("a")  # N/A
    assert page.evaluate("document.activeElement.name") == "rating-spec"
    page.keyboard.press("f")
    assert page.evaluate("document.activeElement.name") == "status"
    press_tab_until(page, "notes")
    page.keyboard.type("Root cause right; the spec message was missing.")
    press_tab_until(page, "save")
    page.keyboard.press("Enter")
    page.wait_for_url("**?saved=1")

    assert page.get_by_role("status").inner_text() == "Review saved."
    # (3 x 75 + 2 x 0) / 5: sentiment is N/A and its weight is left out
    assert page.locator("#quality-score").inner_text() == "45.0"
    assert page.locator("#review-status").inner_text() == "reviewed"
    assert "Quinn QA" in page.locator("main").inner_text()
    assert "3f1c0d6e-lead" not in page.content()
    checked = page.locator("#scorecard input:checked").evaluate_all("els => els.map(e => e.value)")
    assert checked == ["4", "na", "fail"]
    save_screenshot(page, "qa-ui-scorecard")

    report = requests.get(f"{qa_url}/api/v1/qa/quality", headers=lead(), timeout=10).json()
    assert report["items"] == [
        {
            "agent_version": "3.7.1",
            "reviews": 1,
            "quality_score": 45.0,
            "criteria": {"root_cause": 75.0, "spec": 0.0},
            "change": None,
        }
    ]

    page.goto(f"{qa_url}/qa/quality")
    chart = page.locator("#chart-versions").inner_text()
    assert "3.7.1" in chart and "45.0" in chart and "1 review" in chart
    criteria_chart = page.locator("#chart-criteria").inner_text()
    assert "root_cause" in criteria_chart and "75.0" in criteria_chart
    assert page.locator("#reviewers tbody").inner_text().startswith("Quinn QA")
    save_screenshot(page, "qa-ui-quality")


@pytest.fixture(scope="module")
def demo_identities(platform):
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "gateway", "seed-demo"],
        cwd=PROJECT_ROOT,
        env=platform.env,
        check=True,
        capture_output=True,
        timeout=60,
    )


def test_through_the_gateway_reviewers_go_by_name_and_reassignment_is_audited(
    platform, new_page, demo_identities, agent, admin
):
    session_id = str(uuid.uuid4())
    checked = agent.request(
        "POST",
        "/api/v1/validation/check",
        json={"session_id": session_id, "field": "case_number", "value": "12345678"},
    )
    assert checked.status_code == 200, checked.text
    page = new_page()
    page.goto(f"{platform.gateway}/login")
    page.fill("input[name=email]", "qa@demo.local")
    page.fill("input[name=password]", "demo")
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    page.goto(f"{platform.gateway}/qa/sessions/{session_id}")
    page.select_option("select[name=status]", "reviewed")
    page.click("text=Save review")
    # the display name from the gateway's directory (qa@demo.local -> "qa"), never a subject id
    assert page.inner_text("#review-status + .muted") == "by qa"

    reviewers = admin.request("GET", "/api/v1/qa/reviewers").json()["items"]
    reviewer_id = next(r["reviewer_id"] for r in reviewers if r["display_name"] == "qa")
    moved = admin.request(
        "POST", f"/api/v1/qa/assignments/{session_id}", json={"reviewer_id": reviewer_id}
    )
    assert moved.status_code == 200, moved.text
    assert [(h["reviewer"], h["reason"]) for h in moved.json()["history"]] == [
        ("qa", "reassignment")
    ]
    again = admin.request(
        "POST", f"/api/v1/qa/assignments/{session_id}", json={"reviewer_id": reviewer_id}
    )
    assert again.status_code == 409
    audited = admin.request("GET", "/api/v1/audit?action=qa.reassign").json()["items"]
    assert sorted(
        event["outcome"]
        for event in audited
        if event["object"] == f"POST /api/v1/qa/assignments/{session_id}"
    ) == ["failure", "success"]
