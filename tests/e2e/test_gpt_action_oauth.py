"""A GPT Action with the "OAuth" option, played end to end against the running platform: ChatGPT
registered as a third-party agent client with its callback URI; the demo manager (team emea-1)
signs in, consents, and the GPT's delegated token acts as the agent within emea-1 only."""

import time

import pytest
import requests

from tests.common.builders import make_session
from tests.common.delegation import (
    CHATGPT_CALLBACK,
    Browser,
    authorization_url,
    claims_of,
    create_agent_client,
    csrf_of,
    pkce,
    redirect_query,
)
from tests.common.platform import gateway_command

MANAGER, QA_LEAD, ADMIN = "manager@demo.local", "qa@demo.local", "admin@demo.local"
OWN_ENGINEER, OTHER_ENGINEER = "Greta Gptowner", "Oskar Otherteam"


@pytest.fixture(scope="module")
def gpt(platform):
    """The demo identities, and ChatGPT as a confidential client that sends no PKCE."""
    seeded = gateway_command(platform.env, "seed-demo")
    assert seeded.returncode == 0, seeded.stderr
    client_id, secret = create_agent_client(
        platform.env, "CR Assistant GPT", CHATGPT_CALLBACK, pkce="optional"
    )
    return {"client_id": client_id, "secret": secret}


@pytest.fixture(scope="module")
def other_team_engineer(platform, admin):
    """An engineer of emea-2, stored by an organisation-wide agent and visible to the admin."""
    stored = admin.request(
        "POST", "/api/v1/sessions", json=make_session(engineer=OTHER_ENGINEER, team="emea-2")
    )
    assert stored.status_code == 201, stored.text
    code = stored.json()["engineer_code"]
    wait_for(lambda: admin.request("GET", f"/api/v1/history/{code}").json().get("team"))
    return code


def wait_for(condition, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError("the condition was not met in time")


def token_request(platform, gpt, basic: bool, **form) -> requests.Response:
    """The token endpoint as the GPT editor's two Token Exchange Methods call it."""
    if basic:  # "Basic authorization header"
        auth, body = (gpt["client_id"], gpt["secret"]), form
    else:  # "Default (POST request)": the client's id and secret in the body
        auth, body = None, {**form, "client_id": gpt["client_id"], "client_secret": gpt["secret"]}
    return requests.post(f"{platform.gateway}/oauth/token", data=body, auth=auth, timeout=30)


def connect(platform, gpt, email: str, *, basic: bool = False, browser: Browser | None = None):
    """The whole ChatGPT sign-in: authorize (no scope, no PKCE) -> sign in -> consent -> code ->
    token. Returns the token answer's JSON and the browser."""
    browser = browser or Browser(platform.gateway, email)
    url = authorization_url(platform.gateway, gpt["client_id"], CHATGPT_CALLBACK, state="gpt-1")
    query = browser.approve(url)
    assert query["state"] == "gpt-1"
    answer = token_request(
        platform,
        gpt,
        basic,
        grant_type="authorization_code",
        code=query["code"],
        redirect_uri=CHATGPT_CALLBACK,
    )
    assert answer.status_code == 200, answer.text
    return answer.json(), browser


def api(platform, token: str, method: str, path: str, **kwargs) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"}
    return requests.request(
        method, f"{platform.gateway}{path}", headers=headers, timeout=30, **kwargs
    )


def test_chatgpt_journey_acts_as_the_agent_within_the_managers_team(
    platform, gpt, other_team_engineer
):
    browser = Browser(platform.gateway, MANAGER)
    url = authorization_url(platform.gateway, gpt["client_id"], CHATGPT_CALLBACK, state="s-42")
    consent = browser.authorize(url)
    assert consent.status_code == 200
    assert "CR Assistant GPT" in consent.text and "store analyses" in consent.text
    assert "chat.openai.com" in consent.text and "emea-1" in consent.text
    query = redirect_query(browser.decide(consent, "allow"))
    assert query["state"] == "s-42" and query["code"]

    answer = token_request(
        platform,
        gpt,
        False,
        grant_type="authorization_code",
        code=query["code"],
        redirect_uri=CHATGPT_CALLBACK,
    )
    assert answer.status_code == 200, answer.text
    tokens = answer.json()
    assert tokens["scope"] == "agent"  # the GPT editor's Scope field left empty
    claims = claims_of(platform.gateway, tokens["access_token"])
    assert claims["roles"] == ["agent"] and claims["teams"] == ["emea-1"]
    assert claims["aud"] == "cr-assistant-api" and claims["act"] == {"sub": gpt["client_id"]}
    token = tokens["access_token"]

    stored = api(
        platform, token, "POST", "/api/v1/sessions", json=make_session(engineer=OWN_ENGINEER)
    )
    assert stored.status_code == 201, stored.text
    refused = api(platform, token, "POST", "/api/v1/sessions", json=make_session(team="emea-2"))
    assert refused.status_code == 403
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert refused.json()["errors"] == [
        {"field": "team", "reason": "Outside the teams this caller acts for."}
    ]
    assert "emea-2" not in refused.text

    compare = {"engineer": OWN_ENGINEER}
    wait_for(
        lambda: (
            api(platform, token, "POST", "/api/v1/history/compare", json=compare).status_code == 200
        )
    )
    compared = api(platform, token, "POST", "/api/v1/history/compare", json=compare).json()
    assert compared["engineer_code"] == stored.json()["engineer_code"]
    assert compared["team"] == "emea-1"
    other = api(
        platform, token, "POST", "/api/v1/history/compare", json={"engineer": OTHER_ENGINEER}
    )
    assert other.status_code == 404
    assert api(platform, token, "GET", f"/api/v1/history/{other_team_engineer}").status_code == 404
    # the agent, not the manager: no reading of sessions or trends
    assert api(platform, token, "GET", "/api/v1/sessions").status_code == 403
    assert api(platform, token, "GET", "/api/v1/trends/weekly").status_code == 403


def test_basic_auth_exchange_and_the_consent_is_remembered(platform, gpt):
    first, browser = connect(platform, gpt, MANAGER, basic=True)
    assert claims_of(platform.gateway, first["access_token"])["teams"] == ["emea-1"]
    # the second authorization of the same person: no consent page, straight back with a code
    url = authorization_url(platform.gateway, gpt["client_id"], CHATGPT_CALLBACK, state="again")
    answer = browser.authorize(url)
    assert answer.status_code == 302
    assert redirect_query(answer)["state"] == "again"
    # prompt=consent asks again
    asked = browser.authorize(url + "&prompt=consent")
    assert asked.status_code == 200 and "Allow access?" in asked.text


def test_refresh_tokens_rotate_and_a_reused_one_ends_the_family(platform, gpt):
    tokens, _ = connect(platform, gpt, MANAGER)
    rotated = token_request(
        platform, gpt, False, grant_type="refresh_token", refresh_token=tokens["refresh_token"]
    )
    assert rotated.status_code == 200, rotated.text
    newer = rotated.json()
    assert newer["refresh_token"] != tokens["refresh_token"]
    assert claims_of(platform.gateway, newer["access_token"])["roles"] == ["agent"]
    reused = token_request(
        platform, gpt, True, grant_type="refresh_token", refresh_token=tokens["refresh_token"]
    )
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    after = token_request(
        platform, gpt, True, grant_type="refresh_token", refresh_token=newer["refresh_token"]
    )
    assert after.status_code == 400 and after.json()["error"] == "invalid_grant"


def test_deny_redirects_with_access_denied_and_issues_nothing(platform, gpt):
    browser = Browser(platform.gateway, MANAGER)
    url = authorization_url(
        platform.gateway, gpt["client_id"], CHATGPT_CALLBACK, state="no", prompt="consent"
    )
    denied = browser.decide(browser.authorize(url), "deny")
    query = redirect_query(denied)
    assert denied.headers["Location"].startswith(CHATGPT_CALLBACK + "?")
    assert (query["error"], query["state"]) == ("access_denied", "no")
    assert "code" not in query


def test_a_qa_lead_cannot_connect_the_agent(platform, gpt):
    browser = Browser(platform.gateway, QA_LEAD)
    url = authorization_url(platform.gateway, gpt["client_id"], CHATGPT_CALLBACK, state="qa")
    refused = browser.authorize(url)
    assert refused.status_code == 403
    assert "This account cannot connect an agent" in refused.text
    assert "Location" not in refused.headers


def test_an_admins_delegation_is_unrestricted_but_only_the_agent(platform, gpt):
    tokens, _ = connect(platform, gpt, ADMIN)
    claims = claims_of(platform.gateway, tokens["access_token"])
    assert claims["roles"] == ["agent"] and claims["teams"] == []
    token = tokens["access_token"]
    stored = api(platform, token, "POST", "/api/v1/sessions", json=make_session(team="emea-2"))
    assert stored.status_code == 201, stored.text
    assert api(platform, token, "GET", "/api/v1/audit").status_code == 403
    assert api(platform, token, "POST", "/api/v1/trends/evaluate").status_code == 403


def test_the_person_revokes_the_connection_and_its_refresh_token_ends(platform, gpt):
    tokens, browser = connect(platform, gpt, MANAGER)
    page = browser.get("/oauth/connections")
    assert page.status_code == 200 and "CR Assistant GPT" in page.text
    without_csrf = browser.http.post(
        f"{platform.gateway}/oauth/connections",
        data={"client_id": gpt["client_id"]},
        allow_redirects=False,
        timeout=30,
    )
    assert without_csrf.status_code == 400
    revoked = browser.http.post(
        f"{platform.gateway}/oauth/connections",
        data={"client_id": gpt["client_id"], "csrf_token": csrf_of(page)},
        allow_redirects=False,
        timeout=30,
    )
    assert revoked.status_code == 303
    assert "CR Assistant GPT" not in browser.get("/oauth/connections").text
    refreshed = token_request(
        platform, gpt, False, grant_type="refresh_token", refresh_token=tokens["refresh_token"]
    )
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"
    url = authorization_url(platform.gateway, gpt["client_id"], CHATGPT_CALLBACK)
    assert "Allow access?" in browser.authorize(url).text  # asked again


def test_an_admin_revokes_a_persons_consent_with_the_cli(platform, gpt):
    tokens, _ = connect(platform, gpt, MANAGER)
    done = gateway_command(
        platform.env, "revoke-consent", "--user", MANAGER, "--client", gpt["client_id"]
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"revoked: {gpt['client_id']}"
    refreshed = token_request(
        platform, gpt, True, grant_type="refresh_token", refresh_token=tokens["refresh_token"]
    )
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"
    again = gateway_command(
        platform.env, "revoke-consent", "--user", MANAGER, "--client", gpt["client_id"]
    )
    assert again.returncode != 0 and "has not connected" in again.stderr


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://chat.openai.com/aip/g-0123456789abcdef/oauth/callback/",
        "https://chatgpt.com/aip/g-0123456789abcdef/oauth/callback",
        "https://evil.test/aip/g-0123456789abcdef/oauth/callback",
    ],
)
def test_a_redirect_uri_not_registered_exactly_is_refused_without_redirecting(
    platform, gpt, redirect_uri
):
    browser = Browser(platform.gateway, MANAGER)
    refused = browser.authorize(authorization_url(platform.gateway, gpt["client_id"], redirect_uri))
    assert refused.status_code == 400
    assert "Location" not in refused.headers
    assert "evil.test" not in refused.text


def test_pkce_stays_required_for_a_client_registered_without_pkce_optional(platform):
    callback = "https://chatgpt.com/aip/g-fedcba9876543210/oauth/callback"
    client_id, secret = create_agent_client(platform.env, "Strict GPT", callback)
    browser = Browser(platform.gateway, MANAGER)
    refused = browser.authorize(authorization_url(platform.gateway, client_id, callback))
    assert refused.status_code == 400 and "Location" not in refused.headers
    verifier, challenge = pkce()
    query = browser.approve(
        authorization_url(
            platform.gateway,
            client_id,
            callback,
            code_challenge=challenge,
            code_challenge_method="S256",
        )
    )
    form = {"grant_type": "authorization_code", "code": query["code"], "redirect_uri": callback}
    url = f"{platform.gateway}/oauth/token"
    wrong = requests.post(
        url, data={**form, "code_verifier": pkce()[0]}, auth=(client_id, secret), timeout=30
    )
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    right = requests.post(
        url, data={**form, "code_verifier": verifier}, auth=(client_id, secret), timeout=30
    )
    assert right.status_code == 200, right.text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--redirect-uri", "http://gpt.example/callback"], "must use https"),
        (["--redirect-uri", "https://gpt.example/cb#x"], "fragment"),
        (["--redirect-uri", "https://gpt.example/cb", "--team", "emea-1"], "--role agent only"),
        (["--pkce", "optional"], "--redirect-uri only"),
    ],
)
def test_create_client_refuses_what_a_delegated_client_cannot_be(platform, args, message):
    done = gateway_command(platform.env, "create-client", "bad-gpt", "--role", "agent", *args)
    assert done.returncode != 0
    assert message in done.stderr


def test_a_loopback_http_redirect_uri_is_accepted_for_development(platform):
    client_id, _ = create_agent_client(platform.env, "Local agent", "http://127.0.0.1:8765/cb")
    listed = gateway_command(platform.env, "list-clients")
    line = next(row for row in listed.stdout.splitlines() if row.startswith(client_id))
    assert line.split("\t")[1:] == [
        "Local agent",
        "agent",
        "confidential",
        "active",
        "http://127.0.0.1:8765/cb",
    ]
