"""The token attack matrix against a company's identity provider: a real OpenID provider process
(panva/oidc-provider on Node.js, see tests/oidc_provider/) issues JWT access tokens; the gateway
accepts exactly those, maps roles and teams by allow-list, and answers 401 to everything forged,
stale or misdirected."""

import base64
import json
import time
from collections import Counter

import pytest
from flask import Flask
from joserfc import jws, jwt
from joserfc.jwk import OctKey, RSAKey

from devstack.testing import forwarded_principal as verified_by_service
from gateway.app import create_app
from tests.common.oidc_provider import (
    AUDIENCE,
    ROLES_CLAIM,
    TEAMS_CLAIM,
    authorization_code_tokens,
    gateway_settings,
    signing_key,
    start_oidc_provider,
)
from tests.common.servers import echo_app, serve
from tests.common.tokens import issue_token

GATEWAY = "http://gateway.test"
GATEWAY_CLIENT = {
    "client_id": "cr-gateway",
    "client_secret": "cr-gateway-secret-for-tests-0123456789",
    "grant_types": ["authorization_code", "refresh_token"],
    "response_types": ["code"],
    "redirect_uris": [f"{GATEWAY}/ui/callback"],
}
AGENT_CLIENT = {
    "client_id": "corp-agent",
    "client_secret": "corp-agent-secret-for-tests-0123456789",
    "grant_types": ["client_credentials"],
    "response_types": [],
    "redirect_uris": [],
    "roles": ["agent"],
    "teams": [],
}
MANAGER = {"login": "lena.manager@corp.test", "password": "correct horse battery staple"}
ACCOUNTS = {
    MANAGER["login"]: {
        "password": MANAGER["password"],
        "roles": ["manager"],
        "teams": ["emea-1"],
    }
}


@pytest.fixture(scope="module")
def corp_idp(tmp_path_factory):
    provider = start_oidc_provider(
        tmp_path_factory.mktemp("corp-idp"),
        clients=[GATEWAY_CLIENT, AGENT_CLIENT],
        accounts=ACCOUNTS,
    )
    yield provider
    provider.stop()


@pytest.fixture(scope="module")
def second_idp(tmp_path_factory):
    """Another company's provider: same client names, same key id, different keys and issuer."""
    provider = start_oidc_provider(tmp_path_factory.mktemp("second-idp"), clients=[AGENT_CLIENT])
    yield provider
    provider.stop()


@pytest.fixture(scope="module")
def upstream():
    with serve(echo_app()) as url:
        yield url


def external_gateway(app_config, tmp_path, provider, upstream):
    settings = gateway_settings(
        provider, GATEWAY_CLIENT["client_id"], GATEWAY_CLIENT["client_secret"]
    )
    return create_app(
        {
            **app_config,
            **{name.lower(): value for name, value in settings.items()},
            "gateway_issuer": GATEWAY,
            "gateway_signing_keys": str(tmp_path / "gateway_jwks.json"),
            "persistence_url": upstream,
            "trends_url": upstream,
            "qa_url": upstream,
        }
    )


@pytest.fixture
def gateway_app(app_config, tmp_path, corp_idp, upstream):
    app = external_gateway(app_config, tmp_path, corp_idp, upstream)
    yield app
    app.extensions["db_pool"].close()


@pytest.fixture
def client(gateway_app):
    return gateway_app.test_client()


@pytest.fixture(scope="module")
def manager_tokens(corp_idp):
    """A real sign-in at the provider: its access, ID and refresh tokens."""
    return authorization_code_tokens(
        corp_idp,
        client_id=GATEWAY_CLIENT["client_id"],
        client_secret=GATEWAY_CLIENT["client_secret"],
        redirect_uri=f"{GATEWAY}/ui/callback",
        **MANAGER,
    )


def agent_token(provider) -> str:
    return provider.client_credentials_token(
        AGENT_CLIENT["client_id"], AGENT_CLIENT["client_secret"]
    )


def forwarded_principal(client, response):
    """The caller as the service behind the gateway sees it (the echo server returns it)."""
    assert response.status_code == 201, response.get_data(as_text=True)
    internal = response.json["headers"]["Authorization"].removeprefix("Bearer ")
    return verified_by_service(client.application, internal, "persistence")[0]


def get(client, token):
    return client.get("/api/v1/sessions", headers={"Authorization": f"Bearer {token}"})


def post(client, token):
    """What the agent does: store a session (the echo server stands in for persistence)."""
    return client.post("/api/v1/sessions", json={}, headers={"Authorization": f"Bearer {token}"})


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def payload_of(token: str) -> dict:
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def header_of(token: str) -> dict:
    part = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def claims(provider, **overrides):
    now = int(time.time())
    base = {
        "iss": provider.issuer,
        "aud": AUDIENCE,
        "sub": "intruder",
        "client_id": "intruder",
        "exp": now + 300,
        "iat": now,
        ROLES_CLAIM: ["admin"],
        TEAMS_CLAIM: [],
    }
    base.update(overrides)
    return {key: value for key, value in base.items() if value is not None}


def sign(key, payload, **header):
    return jwt.encode({"alg": "RS256", "typ": "at+jwt", "kid": key.kid, **header}, payload, key)


def tampered(token: str) -> str:
    header, _, signature = token.split(".")
    data = payload_of(token)
    data[ROLES_CLAIM] = ["admin"]
    return ".".join([header, b64(data), signature])


def hs256_with_public_key(provider) -> str:
    public = OctKey.import_key(json.dumps(provider.key.as_dict(private=False)).encode())
    header = {"alg": "HS256", "typ": "at+jwt", "kid": provider.key.kid}
    return jws.serialize_compact(
        header, json.dumps(claims(provider)).encode(), public, algorithms=["HS256"]
    )


ATTACKS = {
    "garbage": lambda idp, other, tokens: "not.a.token",
    "alg_none": lambda idp, other, tokens: (
        f"{b64({'alg': 'none', 'typ': 'at+jwt'})}.{b64(claims(idp))}."
    ),
    "hs256_with_the_providers_public_key": lambda idp, other, tokens: hs256_with_public_key(idp),
    "payload_tampered": lambda idp, other, tokens: tampered(agent_token(idp)),
    "foreign_key_with_the_real_kid": lambda idp, other, tokens: sign(
        RSAKey.generate_key(2048, {"kid": idp.key.kid}, private=True), claims(idp)
    ),
    "unknown_kid": lambda idp, other, tokens: sign(signing_key("not-published"), claims(idp)),
    "expired": lambda idp, other, tokens: sign(
        idp.key, claims(idp, exp=int(time.time()) - 120, iat=int(time.time()) - 600)
    ),
    "nbf_in_the_future": lambda idp, other, tokens: sign(
        idp.key, claims(idp, nbf=int(time.time()) + 600)
    ),
    "wrong_iss": lambda idp, other, tokens: sign(idp.key, claims(idp, iss="http://evil.test")),
    "wrong_aud": lambda idp, other, tokens: sign(idp.key, claims(idp, aud="another-api")),
    "missing_exp": lambda idp, other, tokens: sign(idp.key, claims(idp, exp=None)),
    "id_token_as_access_token": lambda idp, other, tokens: tokens["id_token"],
    "id_token_claims_with_api_audience": lambda idp, other, tokens: jwt.encode(
        {"alg": "RS256", "kid": idp.key.kid}, claims(idp), idp.key
    ),
    "token_from_a_second_provider": lambda idp, other, tokens: agent_token(other),
    "second_provider_claiming_our_issuer": lambda idp, other, tokens: sign(other.key, claims(idp)),
}


def test_a_real_client_credentials_token_passes_with_its_mapped_roles(client, corp_idp):
    principal = forwarded_principal(client, post(client, agent_token(corp_idp)))
    assert principal.roles == {"agent"}
    assert principal.kind == "client"
    assert principal.subject.startswith("ext_")  # the provider's ids stay at the gateway


def test_a_signed_in_managers_token_carries_team_scope_and_no_email(client, manager_tokens):
    response = get(client, manager_tokens["access_token"])
    principal = forwarded_principal(client, response)
    assert (principal.roles, principal.teams, principal.kind) == ({"manager"}, {"emea-1"}, "user")
    assert MANAGER["login"] not in json.dumps(response.json["headers"])
    assert MANAGER["login"] not in principal.subject


def test_the_same_user_keeps_one_pseudonym(client, corp_idp, manager_tokens):
    again = authorization_code_tokens(
        corp_idp,
        client_id=GATEWAY_CLIENT["client_id"],
        client_secret=GATEWAY_CLIENT["client_secret"],
        redirect_uri=f"{GATEWAY}/ui/callback",
        **MANAGER,
    )
    first = forwarded_principal(client, get(client, manager_tokens["access_token"])).subject
    assert forwarded_principal(client, get(client, again["access_token"])).subject == first


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_attack_token_gets_401(client, corp_idp, second_idp, manager_tokens, attack):
    token = ATTACKS[attack](corp_idp, second_idp, manager_tokens)
    response = get(client, token)
    assert response.status_code == 401, response.json
    assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert response.json["detail"] == "A valid bearer access token is required."


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer ", "Basic abc"])
def test_no_token_gets_401(client, header):
    response = client.get("/api/v1/sessions", headers={"Authorization": header} if header else {})
    assert response.status_code == 401


@pytest.mark.parametrize("parameter", ["jku", "x5u"])
def test_key_urls_in_a_token_header_are_never_fetched(client, corp_idp, parameter):
    hits = Counter()
    attacker_key = signing_key("attacker")
    keys = Flask("attacker-keys")

    @keys.get("/keys")
    def published():
        hits["keys"] += 1
        return {"keys": [attacker_key.as_dict(private=False)]}

    with serve(keys) as url:
        token = sign(attacker_key, claims(corp_idp), **{parameter: f"{url}/keys"})
        assert get(client, token).status_code == 401
    assert hits["keys"] == 0


@pytest.mark.parametrize(
    ("roles", "teams", "expected_roles", "expected_teams"),
    [
        (["root", "ADMIN", "admin ", "superuser"], ["emea-1"], set(), {"emea-1"}),
        ("manager qa_lead", "emea-1 apac-2", {"manager", "qa_lead"}, {"emea-1", "apac-2"}),
        (
            ["manager", 7, {"role": "admin"}],
            ["emea-1", "../etc", "", "x" * 80],
            {"manager"},
            {"emea-1"},
        ),
        ({"admin": True}, {"emea-1": True}, set(), set()),
    ],
)
def test_claims_are_mapped_by_allow_list(
    client, corp_idp, roles, teams, expected_roles, expected_teams
):
    token = sign(corp_idp.key, claims(corp_idp, **{ROLES_CLAIM: roles, TEAMS_CLAIM: teams}))
    response = get(client, token)
    if not expected_roles:
        assert response.status_code == 403  # a valid token with no known role opens nothing
        return
    principal = forwarded_principal(client, response)
    assert (principal.roles, principal.teams) == (expected_roles, expected_teams)


def test_the_default_claim_names_are_not_read_when_others_are_configured(client, corp_idp):
    token = sign(corp_idp.key, claims(corp_idp, roles=["admin"], **{ROLES_CLAIM: []}))
    assert get(client, token).status_code == 403


def test_built_in_tokens_stay_valid_beside_the_external_provider(client, gateway_app):
    token = issue_token(gateway_app, "admin")
    assert forwarded_principal(client, get(client, token)).roles == {"admin"}


def test_a_key_rotated_at_the_provider_is_picked_up_with_one_refetch(
    app_config, tmp_path, upstream
):
    provider = start_oidc_provider(tmp_path / "rotating-idp", clients=[AGENT_CLIENT])
    app = external_gateway(app_config, tmp_path, provider, upstream)
    try:
        client = app.test_client()
        remote = app.extensions["bearer_verifier"].by_issuer[provider.issuer].keys
        for _ in range(5):
            assert post(client, agent_token(provider)).status_code == 201
        assert remote.fetches == 1  # discovery and JWKS once for five requests

        new_key = signing_key("corp-key-2")
        provider.restart_with_keys([new_key, provider.key])
        token = agent_token(provider)
        assert header_of(token)["kid"] == "corp-key-2"
        remote.clock = lambda: time.monotonic() + remote.refetch_interval  # past the refetch pause
        assert post(client, token).status_code == 201
        assert remote.fetches == 2
    finally:
        app.extensions["db_pool"].close()
        provider.stop()
