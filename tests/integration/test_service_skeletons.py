"""The services that start as skeletons still answer probes and refuse calls without a token."""

import pytest

from dashboard_svc.app import create_app as create_dashboard
from qa_svc.app import create_app as create_qa
from trends_svc.app import create_app as create_trends


@pytest.mark.parametrize(("factory", "service"), [(create_trends, "trends"), (create_qa, "qa")])
def test_service_probes_and_token_guard(app_config, factory, service):
    app = factory(app_config)
    try:
        client = app.test_client()
        assert client.get("/healthz").json == {"status": "ok", "service": service}
        ready = client.get("/readyz")
        assert ready.status_code == 200
        assert {key: ready.json[key] for key in ("status", "service")} == {
            "status": "ready",
            "service": service,
        }
        assert client.get("/anything").status_code == 401
    finally:
        app.extensions["db_pool"].close()


def test_dashboard_answers_health(app_config):
    client = create_dashboard(app_config).test_client()
    assert client.get("/healthz").json == {"status": "ok", "service": "dashboard"}
    assert client.get("/readyz").status_code == 200
