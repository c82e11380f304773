"""OWASP API4 (unrestricted resource consumption): every list has a page limit, batches and
bodies have sizes, and every database statement of every service has a time limit. (Rate limits:
tests/integration/gateway/test_rate_limits.py; body sizes at the gateway: test_proxy.py.)"""

import psycopg
import pytest
import requests

from persistence_svc.app import create_app as create_persistence
from qa_svc.app import create_app as create_qa
from shared import db
from shared.api import MAX_PAGE_SIZE
from tests.common.builders import make_session
from trends_svc.app import create_app as create_trends

SERVICES = {"persistence": create_persistence, "trends": create_trends, "qa": create_qa}


def limited_operations(gateway: str) -> dict[str, int]:
    """Every GET with a `limit` parameter, and the maximum its document declares."""
    document = requests.get(f"{gateway}/api/openapi.json", timeout=10).json()
    limits = {}
    for path, item in document["paths"].items():
        for parameter in item.get("get", {}).get("parameters", []):
            if parameter["name"] == "limit":
                limits[path] = parameter["schema"].get("maximum")
    return limits


def test_every_list_declares_a_page_limit_and_enforces_it(platform, make_caller):
    admin = make_caller("admin")
    limits = limited_operations(platform.gateway)
    assert len(limits) >= 4, limits
    for path, maximum in sorted(limits.items()):
        assert maximum is not None and maximum <= 1000, (path, maximum)
        too_big = admin.request("GET", path, params={"limit": maximum + 1})
        assert too_big.status_code == 422, (path, too_big.text)
        assert too_big.json()["errors"][0]["field"] == "limit"
        assert admin.request("GET", path, params={"limit": maximum}).status_code == 200
    assert max(limits.values()) >= MAX_PAGE_SIZE


def test_a_batch_over_1000_items_is_refused_whole(make_caller):
    agent = make_caller("agent")
    items = [make_session(team="api4-team") for _ in range(1001)]
    response = agent.request("POST", "/api/v1/sessions/batch", json={"items": items})
    assert response.status_code in (413, 422), response.text
    assert (
        make_caller("admin").request("GET", "/api/v1/sessions?team=api4-team").json()["items"] == []
    )


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_every_service_connection_stops_long_statements(app_config, service):
    app = SERVICES[service]({**app_config, "db_statement_timeout_ms": 200})
    try:
        with app.app_context(), db.connection() as conn:
            assert conn.execute("SHOW statement_timeout").fetchone()["statement_timeout"] == "200ms"
            with pytest.raises(psycopg.errors.QueryCanceled):
                conn.execute("SELECT pg_sleep(2)")
    finally:
        app.extensions["db_pool"].close()


def test_the_default_statement_limit_is_15_seconds(app_config):
    app = create_persistence(app_config)
    try:
        with app.app_context(), db.connection() as conn:
            assert conn.execute("SHOW statement_timeout").fetchone()["statement_timeout"] == "15s"
    finally:
        app.extensions["db_pool"].close()
