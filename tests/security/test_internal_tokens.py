"""Issue #21 finding 9, on real processes: an internal token is good for one service only, and no
process but the gateway holds a key that signs tokens the services accept.

- A token the gateway really minted for persistence (caught by an echo server standing in for
  persistence behind a second gateway of the same platform) works on persistence and is refused by
  trends, qa and the dashboard.
- "What a process can sign" is found out, not assumed: the process's app is built with an empty
  DATA_DIR, and every secret it generates there is a secret it reads; the platform's values of
  those secrets are then tried as signing keys in every header and claim combination either
  release used. The dashboard's (and the gateway's published public keys, tried as HMAC keys)
  sign nothing any service accepts; the trends credential reads the change feed and nothing else.
"""

import contextlib
import itertools
import json
import subprocess
import time

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import OctKey

from dashboard_svc.app import create_app as create_dashboard
from devstack.postgres import free_port
from devstack.processes import wait_ready
from devstack.stack import PROCESSES, Process
from gateway.keys import keys_path, read_keys
from shared.config import PROJECT_ROOT, load_settings, secret_value
from shared.tokens import Principal, sign_internal_token
from tests.common.servers import echo_app, serve
from trends_svc.app import create_app as create_trends

SERVICES = ("persistence", "trends", "qa", "dashboard")
# One request per service that any accepted token answers with 2xx (given the roles).
PROBES = {
    "persistence": ("GET", "/api/v1/sessions?limit=1"),
    "trends": ("GET", "/api/v1/alerts?limit=1"),
    "qa": ("GET", "/api/v1/qa/reviews?limit=1"),
    "dashboard": ("GET", "/dashboard/_dash-layout"),
}
FEED = ("GET", "/api/v1/internal/changes?after=&limit=1")
HTTP = requests.Session()  # keep-alive: the tests below send a few thousand requests


def secrets_read_by(factory, tmp_path, config: dict) -> list[str]:
    """The names of the secrets an app reads at start (the files it generates in an empty
    DATA_DIR)."""
    data_dir = tmp_path / factory.__module__
    app = factory({"cr_env": "test", "data_dir": str(data_dir), **config})
    with contextlib.suppress(KeyError):
        app.extensions["db_pool"].close()
    folder = data_dir / "secrets"
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []


def hmac_tokens(secret: str, audience: str):
    """Every token an HS256 key can make in the header and claim forms of either release: without
    `kid` (issuer the gateway) or with a caller's `kid` (issuer the gateway or that caller), each
    `typ`, the service's name or the old shared audience, and roles that would open the probes."""
    now = int(time.time())
    key = OctKey.import_key(secret.encode())
    signers = [(None, "cr-gateway")] + [
        (caller, issuer)
        for caller in ("trends", "reporting")
        for issuer in ("cr-gateway", f"cr-{caller}")
    ]
    for (kid, issuer), typ, aud, roles in itertools.product(
        signers,
        ("JWT", "cr-internal+jwt"),
        (audience, "cr-internal"),
        (["admin"], ["changes_reader"], ["service"]),
    ):
        header = {"alg": "HS256", "typ": typ, **({"kid": kid} if kid else {})}
        claims = {
            "iss": issuer,
            "aud": aud,
            "iat": now,
            "nbf": now - 5,
            "exp": now + 60,
            "sub": "forged",
            "kind": "client",
            "roles": roles,
            "teams": [],
            "rid": "",
        }
        yield jwt.encode(header, claims, key, algorithms=["HS256"])


def call(platform, service: str, token: str, probe=None) -> int:
    method, path = probe or PROBES[service]
    response = HTTP.request(
        method,
        platform.urls[service] + path,
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    return response.status_code


@pytest.fixture(scope="module")
def token_for_persistence(platform, admin, tmp_path_factory):
    """An internal token the platform's gateway minted for persistence: a second gateway process
    of the same platform (same database, keys and secrets) routes persistence to an echo server,
    which answers with the headers that reached it."""
    with serve(echo_app()) as echo:
        port = free_port()
        gateway = next(p for p in PROCESSES if p.name == "gateway")
        log = (tmp_path_factory.mktemp("second-gateway") / "gateway.log").open("w")
        child = subprocess.Popen(
            Process("gateway", gateway.app, port).command(),
            cwd=PROJECT_ROOT,
            env={**platform.env, "PERSISTENCE_URL": echo},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_ready(f"http://127.0.0.1:{port}", child)
            seen = requests.get(
                f"http://127.0.0.1:{port}/api/v1/sessions?limit=1",
                headers={"Authorization": admin.session.headers["Authorization"]},
                timeout=10,
            )
        finally:
            child.terminate()
            child.wait(10)
            log.close()
    assert seen.status_code == 201, seen.text
    return seen.json()["headers"]["Authorization"].removeprefix("Bearer ")


def test_a_token_minted_for_persistence_works_there_only(platform, token_for_persistence):
    assert call(platform, "persistence", token_for_persistence) == 200
    refused = {
        service: call(platform, service, token_for_persistence)
        for service in ("trends", "qa", "dashboard")
    }
    assert refused == {"trends": 401, "qa": 401, "dashboard": 401}


def test_nothing_the_dashboard_holds_signs_a_token_any_service_accepts(
    platform, tmp_path, platform_db
):
    settings = load_settings(platform.env)
    names = secrets_read_by(create_dashboard, tmp_path, {"database_url": platform_db})
    keys = [secret_value(settings, name) for name in names]
    # what every process can read: the gateway's published keys, tried as HMAC secrets
    published = requests.get(f"{platform.gateway}/oauth/jwks", timeout=10).text
    keys += [published, *(key["n"] for key in json.loads(published)["keys"])]
    accepted = []
    for key, service in itertools.product(keys, ("persistence", "trends", "qa")):
        for token in hmac_tokens(key, service):
            for probe in (PROBES[service], FEED if service == "persistence" else None):
                if probe and call(platform, service, token, probe) < 400:
                    accepted.append((service, probe[1]))
    assert accepted == []


def test_the_trends_credential_reads_the_change_feed_and_nothing_else(
    platform, tmp_path, platform_db
):
    settings = load_settings(platform.env)
    names = secrets_read_by(create_trends, tmp_path, {"database_url": platform_db})
    reads_feed, elsewhere = False, []
    for name in names:
        for service in SERVICES:
            for token in hmac_tokens(secret_value(settings, name), service):
                if service == "persistence":
                    reads_feed |= call(platform, service, token, FEED) == 200
                    write = ("POST", "/api/v1/sessions")
                    for probe in (PROBES[service], write, ("GET", "/openapi.json")):
                        status = call(platform, service, token, probe)
                        if status not in (401, 403):
                            elsewhere.append((service, probe[1], status))
                elif (status := call(platform, service, token)) != 401:
                    elsewhere.append((service, PROBES[service][1], status))
    assert reads_feed, "the trends service reads the change feed with one of its secrets"
    assert elsewhere == []


def test_an_expired_token_of_the_gateway_key_is_refused(platform):
    """The gateway's own key, the right audience, but past `exp` (the control: not yet)."""
    key = read_keys(keys_path(load_settings(platform.env)))[-1]
    admin = Principal("expiry-test", frozenset({"admin"}))
    fresh = sign_internal_token(admin, key, audience="persistence")
    expired = sign_internal_token(admin, key, audience="persistence", ttl=-60)
    assert call(platform, "persistence", fresh) == 200
    assert call(platform, "persistence", expired) == 401
