"""examples/follow_changes.py copies the change feed to NDJSON and resumes from its cursor."""

import importlib.util
import json

from devstack.testing import TEST_REPORTING_FEED_KEY, internal_headers
from persistence_svc.app import create_app
from shared.config import PROJECT_ROOT
from shared.http import ServiceClient
from tests.common.builders import make_session
from tests.common.servers import serve


def load_example():
    spec = importlib.util.spec_from_file_location(
        "follow_changes", PROJECT_ROOT / "examples" / "follow_changes.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_consumer_copies_changes_and_resumes(app_config, tmp_path):
    example = load_example()
    app = create_app(app_config)
    try:
        client = app.test_client()
        for _ in range(3):
            client.post("/api/v1/sessions", json=make_session(), headers=internal_headers("agent"))
        with serve(app) as url:
            service = ServiceClient(
                url, caller="reporting", target="persistence", key=TEST_REPORTING_FEED_KEY
            )
            state = tmp_path / "cursor"
            assert example.follow(service, tmp_path / "out", state, once=True) == 3
            client.post("/api/v1/sessions", json=make_session(), headers=internal_headers("agent"))
            assert example.follow(service, tmp_path / "out", state, once=True) == 1
        lines = [
            json.loads(line)
            for path in (tmp_path / "out").glob("*.ndjson")
            for line in path.read_text().splitlines()
        ]
        assert len(lines) == 4 and {line["operation"] for line in lines} == {"insert"}
        assert len({line["cursor"] for line in lines}) == 4
    finally:
        app.extensions["db_pool"].close()
