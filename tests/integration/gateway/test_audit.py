"""The audit trail: logins, tokens, denied access, exports, erasures, threshold changes and QA
decisions are appended, readable by admins only, and never changed afterwards."""

import re
import time

import psycopg
import pytest
from flask import Flask

from gateway import audit, ui, users
from gateway.app import create_app
from gateway.policy import RULES, SEGMENT
from shared import db
from tests.common.servers import echo_app, serve
from tests.integration.gateway.test_browser_login import log_in
from trends_svc import thresholds


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
        user_id = users.create_user(conn, "lead@demo.local", "a-lead-password-1", ["qa_lead"])
    client = audited.test_client()
    log_in(client, "lead@demo.local", "wrong")
    log_in(client, "lead@demo.local", "a-lead-password-1")
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


CODE = "eng_" + "a" * 24
REVIEWED = "0b1d2e3f-4a5b-4c6d-8e7f-8091a2b3c4d5"


@pytest.mark.parametrize(
    ("role", "method", "path", "action", "outcome", "status"),
    [
        ("admin", "GET", "/api/v1/sessions/export", "sessions.export", "success", 200),
        # the echo service answers 201 where an erasure answers 200: not erased, so the request
        # is recorded (202, left to the retrier) and no erasure is audited as done
        (
            "admin",
            "DELETE",
            f"/api/v1/engineers/{CODE}",
            "engineers.erase.requested",
            "success",
            202,
        ),
        ("admin", "PUT", "/api/v1/thresholds/recurring_issue", "thresholds.change", "success", 201),
        ("qa_lead", "POST", f"/api/v1/qa/reviews/{REVIEWED}", "qa.review", "success", 201),
        ("agent", "POST", "/api/v1/engineers/lookup", "engineers.lookup", "success", 201),
        ("manager", "DELETE", f"/api/v1/engineers/{CODE}", "access.denied", "denied", 403),
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


def not_found_app() -> Flask:
    """A service that knows nothing: every API call answers 404."""
    app = Flask("not-found")

    @app.route("/api/v1/<path:path>", methods=["GET", "POST", "DELETE"])
    def answer(path):
        return {"status": 404, "detail": "Not found."}, 404

    return app


@pytest.fixture
def finds_nothing(gateway_config):
    with serve(not_found_app()) as url:
        app = create_app(
            {**gateway_config, "persistence_url": url, "trends_url": url, "qa_url": url}
        )
        yield app
        app.extensions["db_pool"].close()


NAME_IN_URL = "Anna%20M%C3%BCller"


@pytest.mark.parametrize(
    ("role", "method", "path", "action", "outcome", "status"),
    [
        # the gateway refuses what is not an engineer code before recording an erasure
        ("admin", "DELETE", "/api/v1/engineers/{name}", "engineers.erase", "failure", 422),
        ("manager", "DELETE", "/api/v1/engineers/{name}", "access.denied", "denied", 403),
        ("manager", "GET", "/api/v1/history/{name}", "access.denied", "denied", 404),
        ("manager", "GET", "/api/v1/sessions/{name}", "access.denied", "denied", 404),
        ("manager", "POST", "/api/v1/alerts/{name}/ack", "alerts.decide", "failure", 404),
    ],
)
def test_a_name_in_a_url_is_recorded_redacted(
    finds_nothing, token_for, database_url, role, method, path, action, outcome, status
):
    """Text where an id belongs that is not shaped like one (a name typed into the URL) never
    reaches the audit table; the row still names the route."""
    client = finds_nothing.test_client()
    answer = client.open(
        path.format(name=NAME_IN_URL),
        method=method,
        json={} if method == "POST" else None,
        headers=bearer(token_for(role, teams=("emea-1",))),
    )
    assert answer.status_code == status
    recorded = [event for event in events(database_url) if event[1] != "token.issue"]
    assert [event[1:] for event in recorded] == [
        (action, f"{method} {path.format(name='{redacted}')}", outcome, status)
    ]
    assert "Anna" not in str(recorded) and "ller" not in str(recorded)


@pytest.mark.parametrize(
    ("role", "path", "recorded_as"),
    [
        ("manager", "/qa/anna-mueller-12345678", "/qa/{path}"),
        ("manager", "/qa/errors/Anna%20M%C3%BCller", "/qa/{path}"),
        ("manager", "/qa/sessions/12345678", "/qa/sessions/{redacted}"),
        ("agent", "/dashboard/engineers/anna-mueller/12345678", "/dashboard/{path}"),
    ],
)
def test_a_name_typed_into_a_ui_url_is_recorded_by_route(
    audited, token_for, database_url, role, path, recorded_as
):
    """A UI request is audited by its route: what someone typed into the address bar (a name, a
    case number) never reaches the audit table."""
    client = audited.test_client()
    with client.session_transaction() as session:  # a browser signed in to the UIs
        session[ui.TOKENS_KEY] = {
            "access_token": token_for(role, teams=("emea-1",)),
            "refresh_token": None,
            "expires_at": int(time.time()) + 3600,
        }
    assert client.get(path).status_code == 403  # the role does not open this UI
    recorded = [event for event in events(database_url) if event[1] != "token.issue"]
    assert [event[1:] for event in recorded] == [
        ("access.denied", f"GET {recorded_as}", "denied", 403)
    ]
    assert not any(word in str(recorded) for word in ("anna", "Anna", "ller", "12345678"))


@pytest.mark.parametrize("path", [f"/api/v1/sessions/{REVIEWED}", f"/api/v1/history/{CODE}"])
def test_a_managers_miss_on_an_object_is_audited_with_its_id(
    finds_nothing, token_for, database_url, path
):
    """A team-scoped caller's 404 on an object may be another team's data: audited as denied."""
    headers = bearer(token_for("manager", teams=("emea-1",)))
    assert finds_nothing.test_client().get(path, headers=headers).status_code == 404
    recorded = [event for event in events(database_url) if event[1] != "token.issue"]
    assert [event[1:] for event in recorded] == [("access.denied", f"GET {path}", "denied", 404)]


def _example_path(pattern: str, segment: str) -> str:
    """A path for a policy pattern: `segment` where an id belongs, the first of each choice."""
    return "/api/v1/" + re.sub(r"\(([^|()]+)\|[^()]*\)", r"\1", pattern.replace(SEGMENT, segment))


def _well_formed_id(pattern: str) -> str:
    if pattern.startswith(("engineers/", "history/")):
        return CODE
    if pattern.startswith("notifications/deliveries/"):
        return "42"  # a notification message's id is a number
    return "recurring_issue" if pattern.startswith("thresholds/") else REVIEWED


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: f"{rule.method} {rule.pattern}")
def test_every_route_keeps_its_ids_and_redacts_anything_else(rule):
    """A new route with an id and no form for it in audit.ID_PATHS fails here."""
    if SEGMENT not in rule.pattern:
        path = _example_path(rule.pattern, "")
        assert audit.audited_path(path) == path
        return
    well_formed = _example_path(rule.pattern, _well_formed_id(rule.pattern))
    assert audit.audited_path(well_formed) == well_formed
    named = audit.audited_path(_example_path(rule.pattern, "Anna Müller"))
    assert named == _example_path(rule.pattern, "{redacted}")
    for not_an_id in ("anna", "eng_anna", "anna_mueller", "x" * 36, CODE + "x"):
        redacted = audit.audited_path(_example_path(rule.pattern, not_an_id))
        assert redacted == _example_path(rule.pattern, "{redacted}"), not_an_id


def test_the_threshold_rules_are_the_trend_services_rules():
    assert set(thresholds.RULES) == audit.THRESHOLD_RULES


def test_compare_by_name_is_audited_as_a_look_up_without_the_name(audited, token_for, database_url):
    client = audited.test_client()
    headers = bearer(token_for("agent"))
    by_name = client.post(
        "/api/v1/history/compare", json={"engineer": "Anna Müller"}, headers=headers
    )
    by_code = client.post("/api/v1/history/compare", json={"engineer_code": CODE}, headers=headers)
    assert by_name.status_code == by_code.status_code == 201
    recorded = [event for event in events(database_url) if event[1] != "token.issue"]
    assert [event[1:] for event in recorded] == [
        ("engineers.lookup", "POST /api/v1/history/compare", "success", 201)
    ]  # by code: an ordinary read, not audited
    assert "Anna" not in str(recorded) and "ller" not in str(recorded)


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
