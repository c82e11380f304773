"""OWASP API1 for scoped agents, through the gateway on real processes: an agent that carries teams
(a manager's delegated OAuth token, an API key made with `--team`) stores and compares within those
teams only. Writing for another team is a 403 naming `team` (its value not echoed; per item in a
batch), and another team's engineer answers 404 exactly like an unknown one."""

import time

import psycopg
import pytest
import requests
from psycopg.rows import dict_row

from gateway import users
from tests.common.builders import make_session
from tests.common.delegation import Browser, authorization_url, claims_of, create_agent_client

OWN, OTHER = "scope-own", "scope-other"
NAMES = {OWN: "Sina Scopeown", OTHER: "Theo Scopeother"}
MANAGER, PASSWORD = "lead@scope.test", "a-long-scope-test-password"
CALLBACK = "https://chatgpt.com/aip/g-5c09e0000000000a/oauth/callback"
OUTSIDE = {"field": "team", "reason": "Outside the teams this caller acts for."}


class Bearer:
    def __init__(self, base_url: str, token: str) -> None:
        self.base_url = base_url
        self.headers = {"Authorization": f"Bearer {token}"}

    def request(self, method: str, path: str, **kwargs):
        return requests.request(
            method, f"{self.base_url}{path}", headers=self.headers, timeout=30, **kwargs
        )


def delegated_token(platform, platform_db) -> str:
    """A manager of OWN connects a GPT-like client: its access token."""
    with psycopg.connect(
        platform_db, row_factory=dict_row, options="-c search_path=gateway"
    ) as conn:
        users.create_user(conn, MANAGER, PASSWORD, ["manager"], [OWN])
    client_id, secret = create_agent_client(platform.env, "Scope GPT", CALLBACK, pkce="optional")
    browser = Browser(platform.gateway, MANAGER, PASSWORD)
    code = browser.approve(authorization_url(platform.gateway, client_id, CALLBACK))["code"]
    answer = requests.post(
        f"{platform.gateway}/oauth/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK},
        auth=(client_id, secret),
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    token = answer.json()["access_token"]
    claims = claims_of(platform.gateway, token)
    assert (claims["roles"], claims["teams"]) == (["agent"], [OWN])
    return token


@pytest.fixture(scope="module")
def world(platform, admin):
    """One engineer in each team, stored by the organisation-wide admin and projected."""
    codes = {}
    for team, name in NAMES.items():
        stored = admin.request(
            "POST", "/api/v1/sessions", json=make_session(engineer=name, team=team)
        )
        assert stored.status_code == 201, stored.text
        codes[team] = stored.json()["engineer_code"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if all(  # projected: the history knows the engineer's team
            admin.request("GET", f"/api/v1/history/{code}").json().get("team") is not None
            for code in codes.values()
        ):
            break
        time.sleep(0.2)
    return codes


@pytest.fixture(scope="module", params=["delegated-token", "api-key-with-team"])
def scoped_agent(request, platform, platform_db, make_api_key):
    if request.param == "delegated-token":
        return Bearer(platform.gateway, delegated_token(platform, platform_db))
    return make_api_key("scope-agent-key", "agent", teams=(OWN,))


def test_a_scoped_agent_stores_for_its_own_team_and_gets_403_for_another(scoped_agent, world):
    own = scoped_agent.request("POST", "/api/v1/sessions", json=make_session(team=OWN))
    assert own.status_code == 201, own.text
    other = scoped_agent.request("POST", "/api/v1/sessions", json=make_session(team=OTHER))
    assert other.status_code == 403
    assert other.headers["Content-Type"] == "application/problem+json"
    assert other.json()["errors"] == [OUTSIDE]
    assert OTHER not in other.text


def test_a_scoped_agents_batch_refuses_each_item_of_another_team(scoped_agent, world):
    items = [make_session(team=OWN), make_session(team=OTHER)]
    answer = scoped_agent.request("POST", "/api/v1/sessions/batch", json={"items": items})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["created"], body["invalid"]) == (1, 1)
    assert [item["status"] for item in body["items"]] == ["created", "invalid"]
    assert body["items"][1]["errors"] == [OUTSIDE]
    assert OTHER not in answer.text


def test_a_scoped_agent_gets_404_for_another_teams_engineer(scoped_agent, world):
    own = scoped_agent.request("GET", f"/api/v1/history/{world[OWN]}")
    assert own.status_code == 200, own.text
    assert own.json()["team"] == OWN
    unknown = scoped_agent.request(
        "POST", "/api/v1/history/compare", json={"engineer": "Nobody Atall"}
    )
    assert unknown.status_code == 404
    by_code = scoped_agent.request("GET", f"/api/v1/history/{world[OTHER]}")
    by_name = scoped_agent.request(
        "POST", "/api/v1/history/compare", json={"engineer": NAMES[OTHER]}
    )
    for answer in (by_code, by_name):
        assert answer.status_code == 404
        assert answer.json()["detail"] == unknown.json()["detail"]  # no existence oracle


def test_a_scoped_agent_still_reads_nothing_in_bulk(scoped_agent, world):
    for path in ("/api/v1/sessions", "/api/v1/trends/weekly", "/api/v1/alerts"):
        assert scoped_agent.request("GET", path).status_code == 403, path
