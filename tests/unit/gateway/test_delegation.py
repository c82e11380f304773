"""Who may connect an agent client, what its token carries, which redirect URIs and resources
are accepted: the pure rules of gateway/delegation.py, clients.py and resources.py."""

import pytest

from gateway.clients import redirect_uri_problem
from gateway.delegation import NotDelegable, delegated_claims, may_delegate
from gateway.resources import (
    InvalidTargetError,
    audience_for,
    granted_resource,
    requested_resource,
)
from shared.tokens import Principal

ISSUER = "https://cr.example"


@pytest.mark.parametrize(
    ("roles", "teams", "allowed"),
    [
        (["manager"], ["emea-1"], True),
        (["admin"], [], True),
        (["manager"], [], False),  # a delegated token without teams would be unrestricted
        (["qa_lead"], [], False),
        (["qa_lead"], ["emea-1"], False),
    ],
)
def test_only_admins_and_managers_with_teams_may_delegate(roles, teams, allowed):
    assert may_delegate({"roles": roles, "teams": teams}) is allowed


def test_a_managers_delegated_token_is_the_agent_within_their_teams():
    manager = {"roles": ["manager", "qa_lead"], "teams": ["emea-2", "emea-1"]}
    with pytest.raises(NotDelegable):
        delegated_claims({"roles": ["manager"], "teams": []}, "agent")
    claims = delegated_claims({"roles": ["manager"], "teams": ["emea-2", "emea-1"]}, "agent")
    assert claims == {"roles": ["agent"], "teams": ["emea-1", "emea-2"]}
    assert delegated_claims({"roles": ["admin"], "teams": ["x"]}, "agent") == {
        "roles": ["agent"],
        "teams": [],
    }
    assert delegated_claims(manager | {"roles": ["manager"]}, "openid")["roles"] == []


@pytest.mark.parametrize(
    ("roles", "teams", "scoped"),
    [
        ({"agent"}, {"emea-1"}, True),
        ({"agent"}, set(), False),
        ({"manager"}, set(), True),
        ({"agent", "admin"}, {"emea-1"}, False),
        ({"agent", "qa_lead"}, {"emea-1"}, False),
    ],
)
def test_an_agent_with_teams_is_team_scoped(roles, teams, scoped):
    principal = Principal("x", frozenset(roles), frozenset(teams))
    assert principal.team_scoped is scoped
    assert principal.can_see_team("emea-2") is (not scoped)


@pytest.mark.parametrize(
    ("uri", "accepted"),
    [
        ("https://chat.openai.com/aip/g-1/oauth/callback", True),
        ("http://127.0.0.1:8765/cb", True),
        ("http://[::1]:8765/cb", True),
        ("http://localhost/cb", True),
        ("http://chat.openai.com/aip/g-1/oauth/callback", False),
        ("https://chat.openai.com/cb#frag", False),
        ("https:///no-host", False),
        ("javascript:alert(1)", False),
        ("https://a.example:notaport/cb", False),
        ("https://a.example/\ncb", False),
    ],
)
def test_redirect_uris_are_https_or_loopback_http(uri, accepted):
    problem = redirect_uri_problem(uri)
    assert (problem is None) is accepted
    assert problem is None or uri not in problem


def test_a_token_is_for_the_api_or_for_mcp_and_nothing_else():
    assert requested_resource([], ISSUER) is None
    assert requested_resource([ISSUER + "/"], ISSUER) is None
    assert requested_resource([ISSUER + "/mcp"], ISSUER) == ISSUER + "/mcp"
    for values in (["https://other.example/mcp"], [ISSUER + "/mcp", ISSUER + "/api"]):
        with pytest.raises(InvalidTargetError):
            requested_resource(values, ISSUER)
    assert granted_resource([], ISSUER, ISSUER + "/mcp") == ISSUER + "/mcp"
    with pytest.raises(InvalidTargetError):
        granted_resource([ISSUER], ISSUER, ISSUER + "/mcp")
    assert audience_for(None, ISSUER, "cr-assistant-api") == "cr-assistant-api"
    assert audience_for(ISSUER + "/mcp", ISSUER, "cr-assistant-api") == ISSUER + "/mcp"
