"""QA apps that reach a real persistence service (on the test's own database): review notes and
event messages are checked by persistence's PII guard, which knows the stored engineers."""

import pytest

from persistence_svc.app import create_app as create_persistence
from shared.config import load_settings
from shared.http import service_client
from tests.common.servers import serve


@pytest.fixture
def persistence_app(app_config):
    app = create_persistence(app_config)
    yield app
    app.extensions["db_pool"].close()


@pytest.fixture
def app_config(app_config, persistence_app):
    """The test settings, with PERSISTENCE_URL pointing at a persistence app served on a free
    port."""
    with serve(persistence_app) as url:
        yield {**app_config, "persistence_url": url}


@pytest.fixture
def text_guard(app_config):
    """The QA service's client of persistence's PII guard, as qa_svc makes it."""
    client = service_client(load_settings({}, **app_config), "qa", "persistence")
    yield client
    client.close()
