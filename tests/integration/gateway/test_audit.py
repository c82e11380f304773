"""The audit trail: logins, tokens, denied access, exports, erasures, threshold changes and QA
decisions are appended, readable by admins only, and never changed afterwards."""

import psycopg
import pytest

from gateway import users
from gateway.app import create_app
from shared import db
from tests.common.servers import echo_app, serve
from tests.integration.gateway.test_browser_login import log_in


@pytest.fixture(scope="module")
def upstream():
    with serve(echo_app()) as url:
        yield url


@pytest.fixture
def audited(gateway_config, upstream):
    app = create_app(
        {**gateway_config, "persistence_url": upstream, "trends_url": upstream, "qa_url": upstream}
    )
    yield app
    app.extensions["db_pool"].close()


def events(database_url):
    with psycopg.connect(database_url) as conn:
        return conn.execute(
            "SELECT actor, action, object, outcome, status FROM gateway.audit_events ORDER BY event_id"
        ).fetchall()


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_logins_are_audited_without_the_email(audited, database_url):
    with audited.app_context(), db.connection() as conn:
        user_id = users.create_user(conn, "lead@demo.local", "pw-1234", ["qa_lead"])
    client = audited.test_client()
    log_in(client, "lead@demo.local", "wrong")
    log_in(client, "lead@demo.local", "pw-1234")
    recorded = events(database_url)
    assert recorded == [
        ("anonymous", "login", None, "failure", 401),
        (str(user_id), "login", None, "success", 302),
    ]
    assert "lead@demo.local" not in str(recorded)


def test_token_issuance_is_audited(audited, make_client, database_url):
    client_id, secret = make_client("agent")
    client = audited.test_client()
    client.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret))
    client.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, "bad"))
    client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=("someone@example.com", "x")
    )
    assert events(database_url) == [
        (client_id, "token.issue", "client_credentials", "success", 200),
        (client_id, "token.issue", "client_credentials", "failure", 401),
        ("unknown-client", "token.issue", "client_credentials", "failure", 401),
    ]


@pytest.mark.parametrize(
    ("role", "method", "path", "action", "outcome", "status"),
    [
        ("admin", "GET", "/api/v1/sessions/export", "sessions.export", "success", 200),
        # the echo service answers 201 where an erasure answers 200: recorded as a failed erasure
        ("admin", "DELETE", "/api/v1/engineers/eng_abc", "engineers.erase", "failure", 201),
        ("admin", "PUT", "/api/v1/thresholds/recurring_issue", "thresholds.change", "success", 201),
        ("qa_lead", "POST", "/api/v1/qa/reviews/0b1d", "qa.review", "success", 201),
        ("agent", "POST", "/api/v1/engineers/lookup", "engineers.lookup", "success", 201),
        ("manager", "DELETE", "/api/v1/engineers/eng_abc", "access.denied", "denied", 403),
        ("manager", "GET", "/api/v1/sessions/missing", "access.denied", "denied", 404),
    ],
)
def test_audited_api_calls(
    audited, token_for, database_url, role, method, path, action, outcome, status
):
    client = audited.test_client()
    token = token_for(role, teams=("emea-1",))
    client.open(
        path, method=method, json={} if method in ("PUT", "POST") else None, headers=bearer(token)
    )
    recorded = [event for event in events(database_url) if event[1] != "token.issue"]
    assert [event[1:] for event in recorded] == [(action, f"{method} {path}", outcome, status)]


def test_ordinary_reads_are_not_audited(audited, token_for, database_url):
    audited.test_client().get("/api/v1/sessions", headers=bearer(token_for("admin")))
    assert [event[1] for event in events(database_url)] == ["token.issue"]


def test_audit_log_is_for_admins_and_filterable(audited, token_for):
    client = audited.test_client()
    admin = token_for("admin")
    assert client.get("/api/v1/audit", headers=bearer(token_for("manager"))).status_code == 403
    page = client.get("/api/v1/audit?action=token.issue&limit=1", headers=bearer(admin))
    assert page.status_code == 200, page.json
    assert len(page.json["items"]) == 1 and page.json["items"][0]["action"] == "token.issue"
    following = client.get(
        f"/api/v1/audit?action=token.issue&cursor={page.json['next_cursor']}", headers=bearer(admin)
    )
    assert following.json["items"][0]["event_id"] < page.json["items"][0]["event_id"]


def test_audit_events_cannot_be_changed(audited, make_client, database_url):
    client_id, secret = make_client("agent")
    audited.test_client().post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    )
    with psycopg.connect(database_url) as conn, pytest.raises(psycopg.errors.RaiseException):
        conn.execute("UPDATE gateway.audit_events SET outcome = 'failure'")
    with psycopg.connect(database_url) as conn, pytest.raises(psycopg.errors.RaiseException):
        conn.execute("DELETE FROM gateway.audit_events")
