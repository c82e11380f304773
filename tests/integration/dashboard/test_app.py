"""The dashboard's Flask server: only the gateway's internal token gets in, only dashboard roles see
pages, Bootstrap's CSS is served locally, downloads pass problems on without leaking, a 401 of the
API becomes the page's 401 (the browser then signs in again), and the roster's look-up turns names
into pseudonyms without keeping or echoing them."""

import json

import pytest
from flask import Flask, request

from dashboard_svc.app import create_app
from dashboard_svc.pages import alerts
from devstack.testing import internal_headers
from shared import domain
from tests.common.servers import serve

TOKEN = {"X-Forwarded-Access-Token": "a-token"}


def manager():
    return internal_headers("manager", teams=("emea-1",))


@pytest.fixture
def client(app_config):
    return create_app({**app_config, "gateway_url": "http://127.0.0.1:9"}).test_client()


RESOLVED = "2b0c1d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e"


def fake_api(seen: list) -> Flask:
    """An API that answers batch look-ups (one with `Limit Reached` is refused whole with 429) and
    alert decisions (all or none: 409 naming RESOLVED when it is one of them), and answers 401 to
    every other call, as the gateway does once the user's token is revoked."""
    api = Flask("fake-api")

    @api.post("/api/v1/engineers/lookup/batch")
    def lookup():
        names = request.get_json()["engineers"]
        seen.append(names)
        if "Limit Reached" in names:
            return {"title": "Too Many Requests", "status": 429}, 429
        return {
            "items": [
                {"engineer": index, "engineer_code": "eng_" + name.lower().replace(" ", "")}
                for index, name in enumerate(names)
            ]
        }

    @api.post("/api/v1/alerts/decisions")
    def decide():
        body = request.get_json()
        seen.append(body)
        if RESOLVED in body["ids"]:
            index = body["ids"].index(RESOLVED)
            error = {"field": f"ids.{index}", "id": RESOLVED, "reason": "Resolved already."}
            return {"title": "Conflict", "status": 409, "errors": [error]}, 409
        return {"items": [{"id": alert_id, "status": body["status"]} for alert_id in body["ids"]]}

    @api.route("/api/v1/<path:path>", methods=["GET", "POST"])
    def signed_out(path):
        return {"title": "Unauthorized", "status": 401}, 401

    return api


@pytest.fixture
def with_api(app_config):
    seen: list[str] = []
    with serve(fake_api(seen)) as base:
        yield create_app({**app_config, "gateway_url": base}).test_client(), seen


def test_pages_need_the_internal_token_and_a_dashboard_role(client):
    assert client.get("/dashboard/").status_code == 401
    assert client.get("/dashboard/", headers=internal_headers("agent")).status_code == 403
    page = client.get("/dashboard/", headers=manager())
    assert page.status_code == 200
    assert "<title>CR Assistant — Dashboard</title>" in page.text
    assert client.get("/healthz").status_code == 200


def test_bootstrap_css_and_the_favicon_are_served_locally(client):
    css = client.get("/dashboard/vendor/bootstrap.min.css", headers=manager())
    assert css.status_code == 200
    assert css.mimetype == "text/css"
    assert b"Bootstrap" in css.data[:400]
    css.close()
    page = client.get("/dashboard/", headers=manager()).text
    assert 'rel="icon"' in page and "favicon.ico" in page
    icon = client.get("/dashboard/_favicon.ico", headers=manager())
    assert icon.status_code == 200 and icon.data[:4] == b"\x00\x00\x01\x00"
    icon.close()


def test_a_download_without_the_users_token_answers_401(client):
    response = client.get("/dashboard/download/sessions?format=csv", headers=manager())
    assert response.status_code == 401
    assert "sign in again" in response.json["detail"]


def test_a_download_while_the_api_is_down_is_a_503(client):
    response = client.get("/dashboard/download/sessions?format=csv", headers={**manager(), **TOKEN})
    assert response.status_code == 503
    assert "not reachable" in response.json["detail"]


def test_a_callback_whose_api_call_gets_401_answers_401(with_api):
    client, _seen = with_api
    body = {
        "output": "..engineer-rows.data...engineer-message.children..",
        "outputs": [
            {"id": "engineer-rows", "property": "data"},
            {"id": "engineer-message", "property": "children"},
        ],
        "inputs": [{"id": "filters", "property": "data", "value": {"preset": "30d"}}],
        "changedPropIds": ["filters.data"],
        "state": [],
    }
    response = client.post(
        "/dashboard/_dash-update-component",
        json=body,
        headers={**manager(), **TOKEN},
    )
    assert response.status_code == 401, response.text
    assert response.json["status"] == 401


def roster_look_up(client, names):
    return client.post(
        "/dashboard/roster/lookup", json={"names": names}, headers={**manager(), **TOKEN}
    )


def test_the_roster_look_up_is_one_batch_call_answering_pseudonyms_in_order(with_api):
    client, seen = with_api
    names = ["Greta Dashwood", "Not4Name", "  Bo   Dashwood "]
    response = roster_look_up(client, names)
    assert response.status_code == 200
    items = response.json["items"]
    assert items[0] == {"engineer_code": "eng_gretadashwood"}
    assert items[1] == {"error": domain.MESSAGES["invalid_engineer_name"]}
    assert items[2] == {"engineer_code": "eng_bodashwood"}
    assert seen == [["Greta Dashwood", "Bo Dashwood"]], "one call; a line that is no name unsent"
    assert not any(name.strip() in json.dumps(items) for name in names), "names are never echoed"


def test_a_roster_look_up_over_the_limit_adds_no_name(with_api):
    client, seen = with_api
    names = ["Greta Dashwood", "Limit Reached", "Bo Dashwood"]
    items = roster_look_up(client, names).json["items"]
    assert all("Too many requests" in item["error"] for item in items)
    assert seen == [names], "one call, refused whole"


@pytest.mark.parametrize(
    "body",
    [
        {"names": []},
        {"names": ["x" * 201]},
        {"names": ["Greta"] * 101},
        {"names": ["Greta Dashwood"], "extra": 1},
        {"name": "Greta Dashwood"},
        ["Greta Dashwood"],
    ],
)
def test_a_bad_roster_look_up_is_refused_without_echoing_a_name(with_api, body):
    client, seen = with_api
    response = client.post("/dashboard/roster/lookup", json=body, headers={**manager(), **TOKEN})
    assert response.status_code in (400, 422)
    assert "Greta" not in response.text and "xxxx" not in response.text
    assert seen == []


SELECTED = [
    {
        "id": "0a0c1d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e",
        "rule": "recurring_issue",
        "engineer_code": "eng_a",
    },
    {"id": RESOLVED, "rule": "recurring_issue", "engineer_code": "eng_b"},
    {"id": "1a0c1d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e", "rule": "team_frequent_issue", "team": "emea-1"},
]


def test_bulk_acknowledge_is_one_call_and_says_what_was_done(with_api):
    client, seen = with_api
    chosen = [SELECTED[0], SELECTED[2]]
    with client.application.test_request_context(headers={**manager(), **TOKEN}):
        result = alerts.decide_all(chosen, "acknowledged")
    assert seen == [{"ids": [SELECTED[0]["id"], SELECTED[2]["id"]], "status": "acknowledged"}]
    assert result == {
        "done": [
            {"rule": "recurring_issue", "engineer_code": "eng_a", "team": None},
            {"rule": "team_frequent_issue", "engineer_code": None, "team": "emea-1"},
        ],
        "refused": [],
    }


def test_a_refused_bulk_decision_changes_none_and_says_which_alert_was_at_fault(with_api):
    client, seen = with_api
    with client.application.test_request_context(headers={**manager(), **TOKEN}):
        result = alerts.decide_all(SELECTED, "resolved")
    assert len(seen) == 1 and seen[0]["status"] == "resolved"
    assert result["done"] == []
    reasons = [item["reason"] for item in result["refused"]]
    assert reasons == [alerts.ALL_OR_NONE, "Resolved already.", alerts.ALL_OR_NONE]
