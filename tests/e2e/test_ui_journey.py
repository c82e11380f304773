"""The browser journey through the gateway in real headless Chromium: the demo users sign in at
/login, the gateway runs the authorization-code + PKCE flow for its UIs, and each user lands on
their page; roles, logout and the same-origin rule of UI posts hold."""

import subprocess
import sys
import uuid

import pytest
import requests

from shared.config import PROJECT_ROOT
from tests.common.browser import save_screenshot

PASSWORD = "demo"


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


@pytest.fixture(scope="module")
def validation_log(platform, agent, demo_identities):
    """One session in the validation log, so the QA queue has a row to open."""
    session_id = str(uuid.uuid4())
    for value in ("1234", "12345678"):
        response = agent.request(
            "POST",
            "/api/v1/validation/check",
            json={"session_id": session_id, "field": "case_number", "value": value},
        )
        assert response.status_code == 200, response.text
    return session_id


def sign_in(page, base_url, email, path="/"):
    page.goto(f"{base_url}{path}")
    if "/login" not in page.url:
        page.goto(f"{base_url}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def test_qa_lead_lands_on_the_qa_ui_and_reviews_a_session(
    platform, new_page, demo_identities, validation_log, admin
):
    page = new_page()
    sign_in(page, platform.gateway, "qa@demo.local")
    assert page.url == f"{platform.gateway}/qa/"
    assert page.title().startswith("CR Assistant — QA")
    cookies = {cookie["name"]: cookie for cookie in page.context.cookies()}
    assert set(cookies) == {"cr_session"}, "tokens never travel in cookies"
    assert cookies["cr_session"]["httpOnly"] and cookies["cr_session"]["sameSite"] == "Lax"
    page.click(f"a[href='/qa/sessions/{validation_log}']")
    page.select_option("select[name=status]", "reviewed")
    page.fill("textarea[name=notes]", "Second attempt fine; no coaching needed.")
    page.click("text=Save review")
    assert page.inner_text("#review-status") == "reviewed"
    save_screenshot(page, "qa-session")
    decisions = admin.request("GET", "/api/v1/audit?action=qa.review").json()["items"]
    assert any(
        event["object"] == f"POST /qa/sessions/{validation_log}"
        and event["outcome"] == "success"
        and event["actor_roles"] == ["qa_lead"]
        for event in decisions
    ), "the decision taken in the QA UI is audited"
    page.goto(f"{platform.gateway}/qa/metrics?days=7")
    assert int(page.inner_text("#reviews-total")) >= 1, "the decision shows in the metrics"
    page.goto(f"{platform.gateway}/qa/?status=reviewed")
    assert page.locator(f"a[href='/qa/sessions/{validation_log}']").count() == 1
    save_screenshot(page, "qa-queue")


def test_manager_lands_on_the_dashboard_and_may_not_open_the_qa_ui(
    platform, new_page, demo_identities
):
    page = new_page()
    sign_in(page, platform.gateway, "manager@demo.local")
    assert page.url.startswith(f"{platform.gateway}/dashboard/")
    assert page.title().startswith("CR Assistant — Dashboard")
    response = page.goto(f"{platform.gateway}/qa/")
    assert response.status == 403
    assert "Your role does not open this page." in page.content()


def test_admin_lands_on_the_dashboard_and_a_deep_link_survives_sign_in(
    platform, new_page, demo_identities, validation_log
):
    page = new_page()
    sign_in(page, platform.gateway, "admin@demo.local", path=f"/qa/sessions/{validation_log}")
    assert page.url == f"{platform.gateway}/qa/sessions/{validation_log}"
    page.goto(f"{platform.gateway}/login")
    page.goto(f"{platform.gateway}/dashboard/")
    assert page.title().startswith("CR Assistant — Dashboard")


@pytest.mark.parametrize(
    ("email", "landing"), [("qa@demo.local", "/qa/"), ("manager@demo.local", "/dashboard/")]
)
def test_signing_out_in_the_ui_ends_the_session_and_shows_login(
    platform, new_page, demo_identities, email, landing
):
    page = new_page()
    sign_in(page, platform.gateway, email)
    assert page.url.startswith(f"{platform.gateway}{landing}")
    page.click("button:has-text('Sign out')")  # a form post with the session's CSRF token
    page.wait_for_url(f"{platform.gateway}/login")
    assert page.locator("input[name=password]").count() == 1
    page.goto(f"{platform.gateway}{landing}")
    assert "/login" in page.url, "after sign-out the UI asks for a sign-in again"


def test_a_link_to_logout_from_another_site_signs_nobody_out(platform, new_page, demo_identities):
    page = new_page()
    sign_in(page, platform.gateway, "qa@demo.local")
    page.goto(f"{platform.gateway}/logout", referer="https://evil.example/")
    assert page.locator("button:has-text('Sign out')").count() == 1  # a button, nothing done
    page.goto(f"{platform.gateway}/qa/")
    assert page.url == f"{platform.gateway}/qa/", "still signed in"


def test_ui_posts_from_another_site_are_refused(platform, new_page, demo_identities):
    page = new_page()
    sign_in(page, platform.gateway, "qa@demo.local")
    cookie = next(c for c in page.context.cookies() if c["name"] == "cr_session")
    session_cookie = {"cr_session": cookie["value"]}
    target = f"{platform.gateway}/qa/sessions/{uuid.uuid4()}"
    forged = requests.post(
        target,
        cookies=session_cookie,
        headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
        data={"status": "reviewed"},
        allow_redirects=False,
        timeout=10,
    )
    assert forged.status_code == 403
    no_origin = requests.post(
        target,
        cookies=session_cookie,
        data={"status": "reviewed"},
        allow_redirects=False,
        timeout=10,
    )
    assert no_origin.status_code == 403
    same_site = requests.post(
        target,
        cookies=session_cookie,
        headers={"Origin": platform.gateway},
        data={"status": "reviewed"},
        allow_redirects=False,
        timeout=10,
    )
    assert same_site.status_code == 404, "same-origin posts reach the QA UI (unknown session: 404)"
