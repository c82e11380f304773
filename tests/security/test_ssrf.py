"""OWASP API7 (server-side request forgery): no API input names a place the platform would
call. The alert webhook URL comes from configuration only, and URLs in a token's header (`jku`,
`x5u`) are never fetched, whoever signed the token. (For a company provider's tokens:
tests/security/test_external_token_attacks.py.)"""

import re
import time
from collections import Counter

import pytest
import requests
from flask import Flask
from joserfc import jwt
from joserfc.jwk import RSAKey

from gateway.app import create_app
from tests.common.ports import refusing_url, unreachable_services
from tests.common.servers import serve

URL_LIKE = re.compile(r"url|uri|href|link|webhook|callback|endpoint|host", re.IGNORECASE)


def property_names(schema: dict, components: dict, seen: set) -> set[str]:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        if name in seen:
            return set()
        seen.add(name)
        return property_names(components[name], components, seen)
    names = set(schema.get("properties", {}))
    children = [*schema.get("properties", {}).values()]
    if isinstance(schema.get("items"), dict):
        children.append(schema["items"])
    for child in children:
        if isinstance(child, dict):
            names |= property_names(child, components, seen)
    return names


def test_no_api_input_takes_a_url(platform):
    document = requests.get(f"{platform.gateway}/api/openapi.json", timeout=10).json()
    components = document["components"]["schemas"]
    inputs = set()
    for item in document["paths"].values():
        inputs |= {parameter["name"] for parameter in item.get("parameters", [])}
        for method, operation in item.items():
            if method == "parameters":
                continue
            inputs |= {parameter["name"] for parameter in operation.get("parameters", [])}
            for media in operation.get("requestBody", {}).get("content", {}).values():
                inputs |= property_names(media.get("schema", {}), components, set())
    assert len(inputs) > 20
    assert sorted(name for name in inputs if URL_LIKE.search(name)) == []


@pytest.fixture
def gateway(app_config, tmp_path):
    with refusing_url() as no_service_here:
        app = create_app(
            {
                **app_config,
                **unreachable_services(no_service_here),
                "gateway_signing_keys": str(tmp_path / "jwks.json"),
            }
        )
        yield app
        app.extensions["db_pool"].close()


def claims(issuer: str) -> dict:
    now = int(time.time())
    return {
        "iss": issuer,
        "aud": "cr-assistant-api",
        "sub": "c1",
        "client_id": "c1",
        "exp": now + 300,
        "nbf": now,
        "iat": now,
        "roles": ["admin"],
    }


@pytest.mark.parametrize("parameter", ["jku", "x5u"])
@pytest.mark.parametrize("signer", ["attacker", "gateway"])
def test_key_urls_in_token_headers_are_never_fetched(gateway, parameter, signer):
    hits = Counter()
    attacker = RSAKey.generate_key(2048, {"kid": "attacker"}, private=True)
    keys = Flask("keys")

    @keys.get("/keys")
    def published():
        hits["fetched"] += 1
        return {"keys": [attacker.as_dict(private=False)]}

    settings = gateway.extensions["settings"]
    key = attacker if signer == "attacker" else gateway.extensions["key_ring"].keys[-1]
    with serve(keys) as url:
        header = {"alg": "RS256", "typ": "at+jwt", "kid": key.kid, parameter: f"{url}/keys"}
        token = jwt.encode(header, claims(settings.gateway_issuer), key)
        response = gateway.test_client().get(
            "/api/v1/sessions", headers={"Authorization": f"Bearer {token}"}
        )
    # the attacker's token is refused; the gateway's own passes the gate (503: no service here)
    assert response.status_code == (401 if signer == "attacker" else 503)
    assert hits["fetched"] == 0
