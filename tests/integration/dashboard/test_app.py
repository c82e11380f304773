"""The dashboard's Flask server: only the gateway's internal token gets in, only dashboard roles see
pages, Bootstrap's CSS is served locally, and downloads pass problems on without leaking."""

import pytest

from dashboard_svc.app import create_app
from devstack.testing import internal_headers


def manager():
    return internal_headers("manager", teams=("emea-1",))


@pytest.fixture
def client(app_config):
    return create_app({**app_config, "gateway_url": "http://127.0.0.1:9"}).test_client()


def test_pages_need_the_internal_token_and_a_dashboard_role(client):
    assert client.get("/dashboard/").status_code == 401
    assert client.get("/dashboard/", headers=internal_headers("agent")).status_code == 403
    page = client.get("/dashboard/", headers=manager())
    assert page.status_code == 200
    assert "<title>CR Assistant — Dashboard</title>" in page.text
    assert client.get("/healthz").status_code == 200


def test_bootstrap_css_is_served_from_the_package(client):
    css = client.get("/dashboard/vendor/bootstrap.min.css", headers=manager())
    assert css.status_code == 200
    assert css.mimetype == "text/css"
    assert b"Bootstrap" in css.data[:400]
    css.close()


def test_a_download_without_the_users_token_is_refused_clearly(client):
    response = client.get("/dashboard/download/sessions?format=csv", headers=manager())
    assert response.status_code == 400
    assert "sign-in has expired" in response.json["detail"]


def test_a_download_while_the_api_is_down_is_a_503(client):
    response = client.get(
        "/dashboard/download/sessions?format=csv",
        headers={**manager(), "X-Forwarded-Access-Token": "a-token"},
    )
    assert response.status_code == 503
    assert "not reachable" in response.json["detail"]
