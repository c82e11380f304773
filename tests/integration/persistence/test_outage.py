"""A database outage answers 503 on /readyz and on writes, and nothing is half-written."""

from devstack.postgres import free_port
from devstack.testing import internal_headers
from persistence_svc.app import create_app
from tests.common.builders import make_session


def test_database_down_gives_503_not_a_stack_trace(app_config):
    down = f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere"
    app = create_app({**app_config, "database_url": down, "db_pool_timeout": 0.5})
    try:
        client = app.test_client()
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json["failing"] == ["database"]
        written = client.post(
            "/api/v1/sessions", json=make_session(), headers=internal_headers("agent")
        )
        assert written.status_code == 503
        assert written.headers["Content-Type"] == "application/problem+json"
        assert "Traceback" not in written.get_data(as_text=True)
    finally:
        app.extensions["db_pool"].close(timeout=1)
