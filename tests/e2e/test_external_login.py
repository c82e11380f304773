"""External identity end to end: the gateway process trusts a company's OpenID provider (a real
oidc-provider process). People sign in there through the browser and land on their pages; the
dashboard reads the API with their provider-issued token; the company's agent stores sessions with
a client-credentials token from the same provider; nothing of the provider's user ids (e-mail
addresses here) reaches the audit table or a log line."""

import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests

from devstack.processes import start_platform
from devstack.stack import PROCESSES
from devstack.testing import clone_database, create_client, drop_database
from shared.db import url_with_database
from tests.common.oidc_provider import gateway_settings, start_oidc_provider
from tests.common.platform import Caller

TEAM, OTHER_TEAM = "corp-1", "corp-2"
PASSWORD = "a company password 4 tests"
ACCOUNTS = {
    "mara.manager@corp.test": {"password": PASSWORD, "roles": ["manager"], "teams": [TEAM]},
    "quinn.qa@corp.test": {"password": PASSWORD, "roles": ["qa_lead"], "teams": []},
    "vic.viewer@corp.test": {"password": PASSWORD, "roles": ["viewer"], "teams": [TEAM]},
}
AGENT = {
    "client_id": "corp-agent",
    "client_secret": "corp-agent-secret-for-e2e-0123456789",
    "grant_types": ["client_credentials"],
    "response_types": [],
    "redirect_uris": [],
    "roles": ["agent"],
    "teams": [],
}
GATEWAY_CLIENT = ("cr-gateway", "cr-gateway-secret-for-e2e-0123456789")


@pytest.fixture(scope="module")
def corp(pg_server, template_database, tmp_path_factory):
    """The platform with its gateway configured for the company's provider."""
    work = tmp_path_factory.mktemp("external-identity")
    database = clone_database(pg_server, template_database)
    # the gateway starts once the provider runs; the MCP server is ready only behind a gateway
    later = ("gateway", "mcp")
    others = [process.name for process in PROCESSES if process.name not in later]
    platform = start_platform(url_with_database(pg_server, database), work, others)
    provider = None
    try:
        provider = start_oidc_provider(
            work / "idp",
            clients=[
                {
                    "client_id": GATEWAY_CLIENT[0],
                    "client_secret": GATEWAY_CLIENT[1],
                    "grant_types": ["authorization_code", "refresh_token"],
                    "response_types": ["code"],
                    "redirect_uris": [f"{platform.gateway}/ui/callback"],
                },
                AGENT,
            ],
            accounts=ACCOUNTS,
        )
        platform.env.update(gateway_settings(provider, *GATEWAY_CLIENT))
        for name in later:
            platform.start(name)
        yield platform, provider
    finally:
        if provider is not None:
            provider.stop()
        platform.stop()
        drop_database(pg_server, database)


@pytest.fixture(scope="module")
def stored(corp):
    """The company's agent stores 4 sessions of TEAM and 3 of OTHER_TEAM with a provider token."""
    platform, provider = corp
    token = provider.client_credentials_token(AGENT["client_id"], AGENT["client_secret"])
    items = [session(TEAM, days) for days in (1, 2, 3, 4)] + [
        session(OTHER_TEAM, days) for days in (1, 2, 3)
    ]
    response = requests.post(
        f"{platform.gateway}/api/v1/sessions/batch",
        json={"items": items},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    assert response.json()["created"] == 7
    admin = Caller(platform.gateway, *create_client(platform.env, "ext-admin", "admin"))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        rows = admin.request("GET", "/api/v1/trends/engineers").json()["items"]
        if sum(row["sessions"] for row in rows) >= 7:
            return admin
        time.sleep(0.3)
    pytest.fail("the trends projection did not catch up")


def session(team: str, days_ago: int) -> dict:
    ended = datetime.now(UTC) - timedelta(days=days_ago)
    return {
        "session_id": str(uuid.uuid4()),
        "engineer": "Ida External" if team == TEAM else "Olaf Other",
        "case_number": "87654321",
        "team": team,
        "region": "EMEA",
        "record_type": "single",
        "parts": 1,
        "languages": ["EN"],
        "sentiment_score": 0.3,
        "root_cause": "knowledge_gap",
        "confidence_analysis": 0.8,
        "confidence_translation": 0.9,
        "started_at": (ended - timedelta(minutes=15)).isoformat(),
        "ended_at": ended.isoformat(),
        "agent_version": "3.7.0",
    }


def sign_in_at_provider(page, provider, login: str, password: str = PASSWORD) -> None:
    page.wait_for_url(f"{provider.issuer}/interaction/**")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def test_manager_signs_in_at_the_company_and_sees_only_their_team(corp, stored, new_page):
    platform, provider = corp
    page = new_page()
    page.goto(f"{platform.gateway}/dashboard/")
    sign_in_at_provider(page, provider, "mara.manager@corp.test")
    page.wait_for_url(f"{platform.gateway}/dashboard/**")
    page.wait_for_function(
        "() => document.querySelector('#kpi-sessions-value')?.innerText === '4'"
    )  # the dashboard read the API with the provider's token: TEAM's 4, none of OTHER_TEAM's 3
    assert "Olaf" not in page.content()


def test_qa_lead_lands_on_the_qa_ui(corp, new_page):
    platform, provider = corp
    page = new_page()
    page.goto(f"{platform.gateway}/login")  # the built-in form hands over to the company
    sign_in_at_provider(page, provider, "quinn.qa@corp.test")
    page.wait_for_url(f"{platform.gateway}/qa/**")
    assert page.locator("h1").first.inner_text()


def test_a_role_the_platform_does_not_know_opens_nothing(corp, new_page):
    platform, provider = corp
    page = new_page()
    page.goto(f"{platform.gateway}/login")
    sign_in_at_provider(page, provider, "vic.viewer@corp.test")
    page.wait_for_url(f"{platform.gateway}/ui/no-access")
    assert "no role" in page.content()
    response = page.goto(f"{platform.gateway}/dashboard/")
    assert response.status == 403
    assert "Your role does not open this page." in page.content()


def test_a_wrong_password_stays_at_the_provider(corp, new_page):
    platform, provider = corp
    page = new_page()
    page.goto(f"{platform.gateway}/dashboard/")
    sign_in_at_provider(page, provider, "mara.manager@corp.test", "wrong password")
    page.wait_for_load_state()
    assert page.url.startswith(provider.issuer)
    assert "Invalid login or password" in page.content()


def test_a_forged_callback_is_answered_with_a_clear_400_page(corp):
    platform, _ = corp
    response = requests.get(
        f"{platform.gateway}/ui/callback", params={"code": "x", "state": "forged"}, timeout=10
    )
    assert response.status_code == 400
    assert "sign-in could not be completed" in response.text


def test_sign_out_ends_the_platform_session(corp, new_page):
    platform, provider = corp
    page = new_page()
    page.goto(f"{platform.gateway}/dashboard/")
    sign_in_at_provider(page, provider, "mara.manager@corp.test")
    page.wait_for_url(f"{platform.gateway}/dashboard/**")
    page.click("button:has-text('Sign out')")
    page.wait_for_load_state()
    assert "You are signed out" in page.content()
    cookies = {cookie["name"] for cookie in page.context.cookies(platform.gateway)}
    assert "cr_session" not in cookies


def test_logins_are_audited_under_pseudonyms_and_no_email_is_kept(corp, stored, new_page):
    platform, provider = corp
    page = new_page()
    page.goto(f"{platform.gateway}/dashboard/")
    sign_in_at_provider(page, provider, "mara.manager@corp.test")
    page.wait_for_url(f"{platform.gateway}/dashboard/**")
    events = stored.request("GET", "/api/v1/audit", params={"action": "login.ui"}).json()["items"]
    logins = [event for event in events if event["outcome"] == "success"]
    assert logins and all(event["actor"].startswith("ext_") for event in logins)
    everything = stored.request("GET", "/api/v1/audit", params={"limit": 500}).text
    for login in ACCOUNTS:
        assert login not in everything
        assert login not in platform.logs()
