"""`make run`'s demo seeding through the real API on a platform of its own: analyses, the
validation log and QA decisions land, the temporary QA client is gone afterwards, and a second
run changes nothing."""

import psycopg
import pytest

from devstack.demo import seed_demo_data
from devstack.processes import start_platform
from devstack.testing import clone_database, drop_database
from gateway import store
from gateway.seed import seed_demo_identities, temporary_client
from shared.config import load_settings
from shared.db import url_with_database
from tests.common.platform import Caller


@pytest.fixture(scope="module")
def demo_platform(pg_server, template_database, tmp_path_factory):
    name = clone_database(pg_server, template_database)
    url = url_with_database(pg_server, name)
    running = start_platform(url, tmp_path_factory.mktemp("demo"), ["gateway", "persistence", "qa"])
    settings = load_settings({**running.env, "DATABASE_URL": url})
    seed_demo_identities(settings)
    yield running, settings
    running.stop()
    drop_database(pg_server, name)


def test_demo_data_goes_in_through_the_api(demo_platform):
    running, settings = demo_platform
    with temporary_client(settings, "qa_lead") as reviewer:
        first = seed_demo_data(
            running.gateway, "demo-agent", "demo-agent-secret", reviewer, progress=lambda _: None
        )
        kept_id = reviewer[0]
    assert first["created"] == 1514 and first["invalid"] == 0
    assert first["events"] > 1000 and first["reviews"] == 24
    with temporary_client(settings, "admin") as admin:
        caller = Caller(running.gateway, *admin)
        queue = caller.request("GET", "/api/v1/qa/reviews?status=flagged&limit=100").json()["items"]
        assert queue, "flagged demo reviews are in the queue"
        restarts = caller.request("GET", "/api/v1/qa/reviews?restart_offered=true&limit=100").json()
        assert restarts["items"], "some demo sessions offered a restart"
    with psycopg.connect(settings.database_url, options="-c search_path=gateway") as conn:
        assert not store.client_exists(conn, kept_id), "the temporary client is deleted"
    again = seed_demo_data(
        running.gateway, "demo-agent", "demo-agent-secret", progress=lambda _: None
    )
    assert (again["created"], again["unchanged"], again["events"]) == (0, 1514, 0)
