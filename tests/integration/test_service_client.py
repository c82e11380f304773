"""shared/http.py: service-to-service calls carry an internal token and the request id."""

import pytest
import requests
from flask import Flask, g

from devstack.postgres import free_port
from devstack.testing import TEST_FEED_KEY
from shared.http import ServiceClient
from shared.tokens import GatewayKeys, InternalTokenVerifier, InvalidToken, Principal
from tests.common.servers import echo_app, serve


def feed_client(url: str, **kwargs) -> ServiceClient:
    return ServiceClient(url, caller="trends", target="persistence", key=TEST_FEED_KEY, **kwargs)


def test_calls_carry_an_internal_token_and_the_request_id(tmp_path):
    with serve(echo_app()) as url:
        client = feed_client(url)
        outside = client.get_json("/api/v1/internal/changes", params={"after": ""})
        assert outside["path"] == "/api/v1/internal/changes?after="
        token = outside["headers"]["Authorization"].removeprefix("Bearer ")
        no_gateway = GatewayKeys(str(tmp_path / "none.json"))
        persistence = InternalTokenVerifier("persistence", no_gateway, {"trends": TEST_FEED_KEY})
        principal, _ = persistence.verify(token)
        assert principal == Principal("trends", frozenset({"changes_reader"}), kind="service")
        trends = InternalTokenVerifier("trends", no_gateway)
        with pytest.raises(InvalidToken):
            trends.verify(token)

        app = Flask("caller")
        with app.test_request_context():
            g.request_id = "req-0123456789"
            inside = client.get_json("/api/v1/anything")
        assert inside["headers"]["X-Request-Id"] == "req-0123456789"
        client.close()


def test_unreachable_service_raises_quickly():
    client = feed_client(f"http://127.0.0.1:{free_port()}", timeout=1)
    with pytest.raises(requests.ConnectionError):
        client.get_json("/api/v1/internal/changes")
