"""A persistence app on the test's own database, and a client that calls it as the gateway would."""

import pytest

from devstack.testing import internal_headers
from persistence_svc.app import create_app


class SignedClient:
    """Flask test client that signs each call with an internal token for the given roles."""

    def __init__(self, client):
        self.client = client

    def call(self, method, path, *roles, teams=(), **kwargs):
        headers = {**internal_headers(*roles, teams=teams), **kwargs.pop("headers", {})}
        return self.client.open(path, method=method, headers=headers, **kwargs)

    def as_agent(self, method, path, **kwargs):
        return self.call(method, path, "agent", **kwargs)

    def as_admin(self, method, path, **kwargs):
        return self.call(method, path, "admin", **kwargs)

    def as_manager(self, method, path, team="emea-1", **kwargs):
        return self.call(method, path, "manager", teams=(team,), **kwargs)


@pytest.fixture
def app(app_config):
    app = create_app(app_config)
    yield app
    app.extensions["db_pool"].close()


@pytest.fixture
def api(app):
    return SignedClient(app.test_client())
