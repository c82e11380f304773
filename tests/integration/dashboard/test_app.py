"""The dashboard's Flask server: only the gateway's internal token gets in, only dashboard roles see
pages, Bootstrap's CSS is served locally, downloads pass problems on without leaking, a 401 of the
API becomes the page's 401 (the browser then signs in again), and the roster's look-up turns names
into pseudonyms without keeping or echoing them."""

import json

import pytest
from flask import Flask, request

from dashboard_svc.app import create_app
from devstack.testing import internal_headers
from tests.common.servers import serve

TOKEN = {"X-Forwarded-Access-Token": "a-token"}


def manager():
    return internal_headers("manager", teams=("emea-1",))


@pytest.fixture
def client(app_config):
    return create_app({**app_config, "gateway_url": "http://127.0.0.1:9"}).test_client()


def fake_api(seen: list) -> Flask:
    """An API that answers look-ups (`Nobody` is refused with 422, `Limit` with 429) and answers
    401 to every other call, as the gateway does once the user's token is revoked."""
    api = Flask("fake-api")

    @api.post("/api/v1/engineers/lookup")
    def lookup():
        name = request.get_json()["engineer"]
        seen.append(name)
        if name == "Limit Reached":
            return {"title": "Too Many Requests", "status": 429}, 429
        if name == "Nobody Valid":
            return {"title": "Unprocessable", "status": 422, "detail": "Invalid name."}, 422
        return {"engineer_code": "eng_" + name.lower().replace(" ", "")}

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


def test_the_roster_look_up_answers_pseudonyms_in_order_and_stops_at_the_limit(with_api):
    client, seen = with_api
    names = ["Greta Dashwood", "Nobody Valid", "Bo Dashwood", "Limit Reached", "Never Asked"]
    response = client.post(
        "/dashboard/roster/lookup", json={"names": names}, headers={**manager(), **TOKEN}
    )
    assert response.status_code == 200
    items = response.json["items"]
    assert items[0] == {"engineer_code": "eng_gretadashwood"}
    assert "error" in items[1] and items[2] == {"engineer_code": "eng_bodashwood"}
    assert "Too many requests" in items[3]["error"] and items[4] == items[3]
    assert seen == names[:4], "one look-up per name (each counts), none after the limit"
    assert not any(name in json.dumps(items) for name in names), "names are never echoed"


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
