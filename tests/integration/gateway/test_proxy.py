"""Routing: the internal token replaces the caller's, request ids travel, bodies stream both ways."""

import io

import psycopg
import pytest

from devstack.postgres import free_port
from devstack.testing import forwarded_principal
from gateway.app import create_app
from shared.tokens import InvalidToken
from tests.common.servers import echo_app, serve


@pytest.fixture(scope="module")
def upstream():
    """A real HTTP server on 127.0.0.1 that echoes what reached it."""
    with serve(echo_app()) as url:
        yield url


@pytest.fixture
def routed(gateway_config, upstream):
    app = create_app(
        {
            **gateway_config,
            "persistence_url": upstream,
            "trends_url": upstream,
            "qa_url": upstream,
            "max_body_bytes": 4096,
        }
    )
    client = app.test_client()
    client.gateway_app = app
    yield client
    app.extensions["db_pool"].close()


def test_internal_token_replaces_the_callers_token(routed, token_for):
    token = token_for("agent", teams=("emea-1",))
    response = routed.post(
        "/api/v1/sessions?team=emea-1",
        data=b'{"a": 1}',
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}", "X-Request-ID": "abcdef123456"},
    )
    assert response.status_code == 201
    seen = response.json
    assert seen["path"] == "/api/v1/sessions?team=emea-1"
    assert seen["body_length"] == 8
    forwarded = seen["headers"]["Authorization"].removeprefix("Bearer ")
    assert forwarded != token
    principal, request_id = forwarded_principal(routed.gateway_app, forwarded, "persistence")
    for other in ("trends", "qa", "dashboard"):  # the token is for persistence alone
        with pytest.raises(InvalidToken):
            forwarded_principal(routed.gateway_app, forwarded, other)
    assert principal.roles == frozenset({"agent"})
    assert principal.teams == frozenset({"emea-1"})
    assert request_id == ""  # the token serves many calls; the call's id travels beside it
    assert seen["headers"]["X-Request-Id"] == "abcdef123456"
    assert response.headers["X-Request-ID"] == "abcdef123456"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/history/eng_x"),
        ("GET", "/api/v1/alerts"),
        ("POST", "/api/v1/validation/check"),
        ("GET", "/api/v1/qa/reviews"),
        ("POST", "/api/v1/engineers/lookup"),
    ],
)
def test_each_prefix_reaches_its_service(routed, token_for, method, path):
    response = routed.open(
        path,
        method=method,
        json={} if method == "POST" else None,
        headers={"Authorization": f"Bearer {token_for('admin')}"},
    )
    assert response.status_code == 201
    assert response.json["path"].rstrip("?") == path


@pytest.mark.parametrize(
    ("role", "method", "path"),
    [
        ("manager", "POST", "/api/v1/sessions"),
        ("agent", "GET", "/api/v1/sessions"),
        ("qa_lead", "DELETE", "/api/v1/engineers/eng_x"),
        ("manager", "PUT", "/api/v1/thresholds/recurring_issue"),
        ("agent", "POST", "/api/v1/imports"),
    ],
)
def test_role_outside_the_table_is_refused_at_the_gateway(routed, token_for, role, method, path):
    response = routed.open(
        path,
        method=method,
        json={} if method != "GET" else None,
        headers={"Authorization": f"Bearer {token_for(role)}"},
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    "path", ["/api/v1/internal/changes", "/api/v1/unknown", "/api/v1/", "/api/v1/sessions/a/b"]
)
def test_internal_and_unknown_routes_are_404(routed, token_for, path):
    response = routed.get(path, headers={"Authorization": f"Bearer {token_for('admin')}"})
    assert response.status_code == 404


def test_large_response_streams_through(routed, token_for):
    response = routed.get(
        "/api/v1/sessions/export", headers={"Authorization": f"Bearer {token_for('admin')}"}
    )
    assert response.status_code == 200
    assert len(response.get_data()) == 1_000_000
    assert response.headers["Content-Type"].startswith("text/csv")


def test_a_service_cannot_set_cookies_or_hop_by_hop_headers(routed, token_for):
    """The gateway's session cookie is its own: a service's Set-Cookie never reaches the
    browser (nor do hop-by-hop headers); the rest of the answer does."""
    response = routed.get(
        "/api/v1/sessions/cookie", headers={"Authorization": f"Bearer {token_for('admin')}"}
    )
    assert response.status_code == 200 and response.json["path"] == "/api/v1/sessions/cookie?"
    assert "Set-Cookie" not in response.headers
    assert "Proxy-Authenticate" not in response.headers
    assert response.headers["Content-Type"] == "application/json"


def test_body_over_the_limit_gets_413_before_forwarding(routed, token_for):
    response = routed.post(
        "/api/v1/sessions",
        data=b"{" + b" " * 5000 + b"}",
        content_type="application/json",
        headers={"Authorization": f"Bearer {token_for('agent')}"},
    )
    assert response.status_code == 413
    assert response.headers["Content-Type"] == "application/problem+json"


CHUNKED = {"wsgi.input_terminated": True}  # what gunicorn sets for a chunked request


def test_chunked_body_streams_to_the_service(routed, token_for):
    response = routed.post(
        "/api/v1/sessions",
        input_stream=io.BytesIO(b"x" * 3000),
        environ_base=CHUNKED,
        headers={
            "Authorization": f"Bearer {token_for('agent')}",
            "Transfer-Encoding": "chunked",
            "Content-Type": "application/json",
        },
    )
    assert response.status_code == 201
    assert response.json["body_length"] == 3000
    assert response.json["headers"]["Transfer-Encoding"] == "chunked"


def test_chunked_body_over_the_limit_gets_413(routed, token_for):
    response = routed.post(
        "/api/v1/sessions",
        input_stream=io.BytesIO(b"x" * 20_000),
        environ_base=CHUNKED,
        headers={
            "Authorization": f"Bearer {token_for('agent')}",
            "Transfer-Encoding": "chunked",
            "Content-Type": "application/json",
        },
    )
    assert response.status_code == 413
    assert response.headers["Content-Type"] == "application/problem+json"


def test_imports_accept_larger_bodies(routed, token_for):
    response = routed.post(
        "/api/v1/imports",
        data=b"a,b\n" * 2000,
        content_type="text/csv",
        headers={"Authorization": f"Bearer {token_for('admin')}"},
    )
    assert response.status_code == 201
    assert response.json["body_length"] == 8000


def test_service_down_gives_503(gateway_config, token_for):
    app = create_app({**gateway_config, "persistence_url": f"http://127.0.0.1:{free_port()}"})
    try:
        client = app.test_client()
        response = client.get(
            "/api/v1/sessions", headers={"Authorization": f"Bearer {token_for('admin')}"}
        )
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "5"
    finally:
        app.extensions["db_pool"].close()


def test_metrics_only_from_allowed_networks(gateway_config):
    app = create_app({**gateway_config, "metrics_allow_cidrs": ("10.0.0.0/8",)})
    try:
        client = app.test_client()
        assert client.get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"}).status_code == 404
        allowed = client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"})
        assert allowed.status_code == 200
        assert b"cr_http_requests_total" in allowed.data
    finally:
        app.extensions["db_pool"].close()


def test_encoded_characters_in_a_path_segment_stay_data(routed, token_for):
    token = token_for("admin")
    response = routed.get(
        "/api/v1/history/a%23b%3Fc%25d?period_days=7",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 201
    # the service receives the segment `a#b?c%d` and the query, not a path cut at `#`
    assert response.json["path"] == "/api/v1/history/a#b?c%d?period_days=7"


def test_a_compare_body_read_by_the_gateway_still_reaches_the_service(routed, token_for):
    """The gateway reads a Compare History body (is it by name?) and forwards it unchanged."""
    body = '{"engineer": "Anna Müller", "period_days": 30}'.encode()
    response = routed.post(
        "/api/v1/history/compare",
        data=body,
        content_type="application/json",
        headers={"Authorization": f"Bearer {token_for('agent')}"},
    )
    assert response.status_code == 201
    assert response.json["body_length"] == len(body)
    assert response.json["headers"]["Content-Length"] == str(len(body))


@pytest.mark.parametrize("chunked", [False, True])
def test_a_compare_body_over_the_limit_gets_413(routed, token_for, chunked):
    headers = {"Authorization": f"Bearer {token_for('agent')}", "Content-Type": "application/json"}
    body = b'{"engineer": "' + b"a" * 5000 + b'"}'
    if chunked:
        response = routed.post(
            "/api/v1/history/compare",
            input_stream=io.BytesIO(body),
            environ_base=CHUNKED,
            headers={**headers, "Transfer-Encoding": "chunked"},
        )
    else:
        response = routed.post("/api/v1/history/compare", data=body, headers=headers)
    assert response.status_code == 413
    assert response.headers["Content-Type"] == "application/problem+json"


TEAM_FILTERED = [
    "/api/v1/sessions",
    "/api/v1/sessions/export",
    "/api/v1/alerts",
    "/api/v1/alerts/export",
    "/api/v1/trends/weekly",
    "/api/v1/trends/languages",
    "/api/v1/trends/root-causes",
    "/api/v1/trends/engineers",
]


def audit_rows(database_url):
    with psycopg.connect(database_url) as conn:
        return conn.execute(
            "SELECT action, object, outcome, status FROM gateway.audit_events"
            " WHERE action <> 'token.issue' ORDER BY event_id"
        ).fetchall()


@pytest.mark.parametrize("path", TEAM_FILTERED)
def test_a_manager_filtering_on_another_team_gets_403_and_is_audited(
    routed, token_for, database_url, path
):
    """Naming another team is asking for its data: refused at the gateway, never forwarded (the
    echo service would answer 200 or 201), and audited."""
    manager = {"Authorization": f"Bearer {token_for('manager', teams=('emea-1',))}"}
    response = routed.get(f"{path}?team=apac-1&limit=5", headers=manager)
    assert response.status_code == 403
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json["errors"] == [{"field": "team", "reason": "Not one of your teams."}]
    assert audit_rows(database_url) == [("access.denied", f"GET {path}?team=apac-1", "denied", 403)]


def test_a_team_filter_that_is_no_team_id_is_neither_echoed_nor_recorded(
    routed, token_for, database_url
):
    manager = {"Authorization": f"Bearer {token_for('manager', teams=('emea-1',))}"}
    response = routed.get("/api/v1/sessions?team=emea-1&team=Anna%20M%C3%BCller", headers=manager)
    assert response.status_code == 403
    assert "Anna" not in response.get_data(as_text=True)
    assert audit_rows(database_url) == [
        ("access.denied", "GET /api/v1/sessions?team=emea-1&team={redacted}", "denied", 403)
    ]


@pytest.mark.parametrize(
    ("role", "teams", "query"),
    [
        ("manager", ("emea-1", "emea-2"), "team=emea-2"),
        ("manager", ("emea-1",), "team=emea-1&team=emea-1"),
        ("manager", ("emea-1",), ""),
        ("admin", (), "team=apac-1"),
        ("qa_lead", (), "team=apac-1"),
        ("manager", ("emea-1",), "region=apac-1"),
    ],
)
def test_own_teams_and_unscoped_callers_are_forwarded(
    routed, token_for, database_url, role, teams, query
):
    headers = {"Authorization": f"Bearer {token_for(role, teams=teams)}"}
    response = routed.get(f"/api/v1/sessions?{query}", headers=headers)
    assert response.status_code == 201
    assert response.json["path"] == f"/api/v1/sessions?{query}"
    assert audit_rows(database_url) == []
