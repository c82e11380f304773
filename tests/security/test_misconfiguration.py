"""OWASP API8 (security misconfiguration): security headers on every kind of gateway answer, no
CORS unless configured, debug off and no stack trace or exception text in any error body."""

import pytest
import requests

from devstack.testing import internal_headers
from persistence_svc.app import create_app as create_persistence
from qa_svc.app import create_app as create_qa
from trends_svc.app import create_app as create_trends

SERVICES = {"persistence": create_persistence, "trends": create_trends, "qa": create_qa}
SAMPLES = [
    ("GET", "/login"),
    ("GET", "/.well-known/openid-configuration"),
    ("GET", "/oauth/jwks"),
    ("GET", "/api/openapi.json"),
    ("GET", "/api/docs"),
    ("GET", "/api/v1/sessions"),  # 401
    ("POST", "/oauth/token"),  # 400/401
    ("GET", "/no/such/page"),  # 404
    ("GET", "/dashboard/"),  # redirect to sign in
    ("GET", "/healthz"),
]


@pytest.mark.parametrize(("method", "path"), SAMPLES)
def test_security_headers_on_every_kind_of_answer(platform, method, path):
    # behind the TLS-terminating proxy of a deployment: HSTS is only meaningful over HTTPS
    response = requests.request(
        method,
        f"{platform.gateway}{path}",
        headers={"X-Forwarded-Proto": "https"},
        allow_redirects=False,
        timeout=10,
    )
    headers = response.headers
    assert headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert headers["X-Frame-Options"] == "DENY"
    assert "Traceback" not in response.text


def test_no_cors_for_other_origins(platform, make_caller):
    origin = {"Origin": "https://evil.example"}
    preflight = requests.options(
        f"{platform.gateway}/api/v1/sessions",
        headers={**origin, "Access-Control-Request-Method": "POST"},
        timeout=10,
    )
    assert "Access-Control-Allow-Origin" not in preflight.headers
    answer = make_caller("admin").request("GET", "/api/v1/sessions", headers=origin)
    assert answer.status_code == 200
    assert "Access-Control-Allow-Origin" not in answer.headers


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_an_unexpected_error_is_a_bare_problem_without_internals(app_config, service):
    app = SERVICES[service](app_config)
    try:
        assert not app.debug and not app.testing

        @app.get("/api/v1/explode")
        def explode():
            raise RuntimeError("secret internals: password=hunter2 at /srv/app.py line 7")

        response = app.test_client().get("/api/v1/explode", headers=internal_headers("admin"))
        assert response.status_code == 500
        assert response.headers["Content-Type"] == "application/problem+json"
        body = response.get_data(as_text=True)
        for leak in ("Traceback", "RuntimeError", "hunter2", "app.py"):
            assert leak not in body
        assert response.json["request_id"]
    finally:
        app.extensions["db_pool"].close()
