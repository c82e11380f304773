"""shared/http.py: service-to-service calls carry an internal token and the request id."""

import pytest
import requests
from flask import Flask, g

from shared.http import ServiceClient
from shared.postgres import free_port
from shared.testing import TEST_INTERNAL_SECRET
from shared.tokens import verify_internal_token
from tests.common.servers import echo_app, serve


def test_calls_carry_an_internal_token_and_the_request_id():
    with serve(echo_app()) as url:
        client = ServiceClient(url, TEST_INTERNAL_SECRET)
        outside = client.get_json("/api/v1/internal/changes", params={"after": ""})
        assert outside["path"] == "/api/v1/internal/changes?after="
        principal, _ = verify_internal_token(
            outside["headers"]["Authorization"].removeprefix("Bearer "), TEST_INTERNAL_SECRET
        )
        assert principal.roles == frozenset({"service"})

        app = Flask("caller")
        with app.test_request_context():
            g.request_id = "req-0123456789"
            inside = client.get_json("/api/v1/anything")
        assert inside["headers"]["X-Request-Id"] == "req-0123456789"
        client.close()


def test_unreachable_service_raises_quickly():
    client = ServiceClient(f"http://127.0.0.1:{free_port()}", TEST_INTERNAL_SECRET, timeout=1)
    with pytest.raises(requests.ConnectionError):
        client.get_json("/api/v1/internal/changes")
