"""shared/tokens.py: an internal token is good for its one service; a service call's token gets the
roles of its row in SERVICE_CALLS whatever it claims; production needs the call keys."""

import json

import pytest
from joserfc.jwk import OctKey, RSAKey

from shared.config import ConfigError, load_settings
from shared.tokens import (
    SERVICE_CALLS,
    GatewayKeys,
    InternalTokenVerifier,
    InvalidToken,
    Principal,
    call_key,
    sign_internal_token,
)
from shared.web import internal_token_verifier

GATEWAY = RSAKey.generate_key(2048, parameters={"kid": "unit-gateway"})
OTHER = RSAKey.generate_key(2048, parameters={"kid": "unit-gateway"})
FEED_KEY = "unit-feed-key-0123456789abcdef0123456789abcdef"
ADMIN = Principal("someone", frozenset({"admin"}))


@pytest.fixture
def keys(tmp_path):
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [GATEWAY.as_dict(private=False)]}))
    return GatewayKeys(str(path))


def verifier(keys, service, call_secrets=None):
    return InternalTokenVerifier(service, keys, call_secrets)


@pytest.mark.parametrize("service", ["persistence", "trends", "qa", "dashboard"])
def test_a_gateway_token_is_accepted_by_its_service_only(keys, service):
    token = sign_internal_token(ADMIN, GATEWAY, audience=service, request_id="rid-12345678")
    assert verifier(keys, service).verify(token) == (ADMIN, "rid-12345678")
    for other in {"persistence", "trends", "qa", "dashboard"} - {service}:
        with pytest.raises(InvalidToken):
            verifier(keys, other).verify(token)


@pytest.mark.parametrize(
    "forge",
    [
        lambda: sign_internal_token(ADMIN, OTHER, audience="persistence"),  # another key, same kid
        lambda: sign_internal_token(ADMIN, GATEWAY, audience="persistence", ttl=-60),  # expired
        lambda: sign_internal_token(ADMIN, GATEWAY, audience="persistence", issuer="cr-trends"),
        # the gateway's public key used as an HMAC secret (algorithm confusion)
        lambda: sign_internal_token(
            ADMIN,
            OctKey.import_key(json.dumps(GATEWAY.as_dict(private=False)).encode(), {"kid": "x"}),
            audience="persistence",
        ),
        # the trends feed key claiming to be the gateway (no kid of a caller)
        lambda: sign_internal_token(
            ADMIN, OctKey.import_key(FEED_KEY.encode()), audience="persistence"
        ),
    ],
)
def test_forged_and_expired_tokens_are_refused(keys, forge):
    with pytest.raises(InvalidToken):
        verifier(keys, "persistence", {"trends": FEED_KEY}).verify(forge())


def test_a_service_call_gets_the_roles_of_its_row_whatever_it_claims(keys):
    token = sign_internal_token(
        ADMIN, call_key("trends", FEED_KEY), audience="persistence", issuer="cr-trends"
    )
    principal, _ = verifier(keys, "persistence", {"trends": FEED_KEY}).verify(token)
    assert principal == Principal("trends", frozenset({"changes_reader"}), kind="service")
    for service in ("trends", "qa", "dashboard"):  # the key opens nothing elsewhere
        with pytest.raises(InvalidToken):
            verifier(keys, service).verify(token)


def test_a_call_that_the_table_does_not_list_cannot_be_configured(keys):
    with pytest.raises(KeyError):
        verifier(keys, "qa", {"trends": FEED_KEY})


def production(**env):
    return load_settings({"CR_ENV": "production", **env})


def test_production_needs_the_feed_key_where_the_call_is_made_and_checked():
    required = {call.key_setting.upper(): FEED_KEY for call in SERVICE_CALLS if call.required}
    without = {name: value for name, value in required.items() if name != "TRENDS_FEED_KEY"}
    with pytest.raises(ConfigError, match="TRENDS_FEED_KEY"):
        internal_token_verifier(production(**without), "persistence")
    persistence = internal_token_verifier(production(**required), "persistence")
    assert "trends" in persistence.callers
    assert "reporting" not in persistence.callers, "no reporting connector unless its key is set"
    dashboard = internal_token_verifier(production(), "dashboard")
    assert dashboard.callers == {}, "the dashboard holds no key: it only verifies"
