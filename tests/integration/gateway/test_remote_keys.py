"""An external issuer's keys: fetched through discovery, cached for a TTL, one rate-limited refetch
for an unknown `kid`, kept while the provider is down, 503 when there are none at all."""

import time
from collections import Counter

import pytest
from flask import Flask, jsonify
from joserfc import jwt
from joserfc.jwk import RSAKey

from gateway.bearer import BearerVerifier, RemoteKeySet
from shared.errors import ServiceUnavailable, Unauthorized
from tests.common.servers import serve


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def rsa(kid: str) -> RSAKey:
    return RSAKey.generate_key(2048, {"kid": kid, "use": "sig", "alg": "RS256"}, private=True)


@pytest.fixture(scope="module")
def keys():
    return {"k1": rsa("k1"), "k2": rsa("k2")}


@pytest.fixture
def idp(keys):
    """A real HTTP server publishing a discovery document and a JWKS; counts what is fetched."""
    app = Flask("idp")
    state = {"published": ["k1"], "extra": [], "up": True, "issuer": None, "hits": Counter()}

    @app.get("/.well-known/openid-configuration")
    def discovery():
        state["hits"]["discovery"] += 1
        if not state["up"]:
            return "down", 503
        return {"issuer": state["issuer"], "jwks_uri": f"{state['issuer']}/jwks"}

    @app.get("/jwks")
    def jwks():
        state["hits"]["jwks"] += 1
        if not state["up"]:
            return "down", 503
        published = [keys[kid].as_dict(private=False) for kid in state["published"]]
        return jsonify({"keys": published + state["extra"]})

    with serve(app) as url:
        state["issuer"] = url
        state["url"] = url
        yield state


def token(key: RSAKey, issuer: str, **claims) -> str:
    now = int(time.time())
    payload = {"iss": issuer, "aud": "api", "sub": "u1", "exp": now + 300, "iat": now, **claims}
    return jwt.encode({"alg": "RS256", "typ": "at+jwt", "kid": key.kid}, payload, key)


def verifier_for(idp, clock, **options) -> BearerVerifier:
    remote = RemoteKeySet(idp["url"], ttl=300, refetch_interval=30, clock=clock, **options)
    return BearerVerifier(
        remote, issuer=idp["url"], audience="api", require_nbf=False, algorithms=("RS256",)
    )


def test_keys_are_fetched_once_and_reused(idp, keys):
    clock = FakeClock()
    verifier = verifier_for(idp, clock)
    for _ in range(50):
        assert verifier.verify(token(keys["k1"], idp["url"])).subject == "u1"
    assert idp["hits"] == {"discovery": 1, "jwks": 1}


def test_an_unknown_kid_refetches_once_then_waits(idp, keys):
    clock = FakeClock()
    verifier = verifier_for(idp, clock)
    verifier.verify(token(keys["k1"], idp["url"]))
    clock.now += 31
    idp["published"] = ["k1", "k2"]  # the provider rotated its keys
    assert verifier.verify(token(keys["k2"], idp["url"])).subject == "u1"
    assert idp["hits"]["jwks"] == 2
    for _ in range(20):  # random kids must not make the gateway hammer the provider
        with pytest.raises(Unauthorized):
            verifier.verify(token(rsa(f"random-{_}"), idp["url"]))
    assert idp["hits"]["jwks"] == 2
    assert idp["hits"]["discovery"] == 1  # the jwks_uri is remembered


def test_keys_expire_after_the_ttl(idp, keys):
    clock = FakeClock()
    verifier = verifier_for(idp, clock)
    verifier.verify(token(keys["k1"], idp["url"]))
    idp["published"] = ["k2"]  # k1 withdrawn
    clock.now += 299
    verifier.verify(token(keys["k1"], idp["url"]))  # still cached
    clock.now += 2
    with pytest.raises(Unauthorized):
        verifier.verify(token(keys["k1"], idp["url"]))
    assert idp["hits"]["jwks"] == 2


def test_known_keys_are_kept_while_the_provider_is_down(idp, keys):
    clock = FakeClock()
    verifier = verifier_for(idp, clock)
    verifier.verify(token(keys["k1"], idp["url"]))
    idp["up"] = False
    clock.now += 400
    assert verifier.verify(token(keys["k1"], idp["url"])).subject == "u1"


def test_no_keys_at_all_is_503_and_retried_only_after_the_interval(idp, keys):
    clock = FakeClock()
    idp["up"] = False
    verifier = verifier_for(idp, clock)
    for _ in range(5):
        with pytest.raises(ServiceUnavailable):
            verifier.verify(token(keys["k1"], idp["url"]))
    assert idp["hits"]["discovery"] == 1
    idp["up"] = True
    clock.now += 31
    assert verifier.verify(token(keys["k1"], idp["url"])).subject == "u1"


def test_a_discovery_document_naming_another_issuer_is_not_trusted(idp, keys):
    clock = FakeClock()
    idp["issuer"] = "http://evil.test"
    verifier = verifier_for(idp, clock)
    with pytest.raises(ServiceUnavailable):
        verifier.verify(token(keys["k1"], idp["url"]))
    assert idp["hits"]["jwks"] == 0


def test_private_and_symmetric_keys_in_the_published_set_are_ignored(idp, keys):
    clock = FakeClock()
    idp["published"] = []
    idp["extra"] = [keys["k1"].as_dict(private=True), {"kty": "oct", "k": "c2VjcmV0", "kid": "s"}]
    verifier = verifier_for(idp, clock)
    with pytest.raises(Unauthorized):  # the only RSA key carried "d": not taken
        verifier.verify(token(keys["k1"], idp["url"]))
    assert idp["hits"]["jwks"] == 1
