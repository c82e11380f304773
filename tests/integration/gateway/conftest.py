"""A gateway app on the test's own database, with a helper that gets real tokens from it."""

import pytest

from gateway import clients
from gateway.app import create_app
from shared import db
from tests.common.ports import refusing_url, unreachable_services
from tests.common.tokens import issue_token


@pytest.fixture(scope="session")
def signing_keys(tmp_path_factory):
    """One key file for the run: RSA key generation is slow and the keys are not under test here."""
    return str(tmp_path_factory.mktemp("keys") / "gateway_jwks.json")


@pytest.fixture(scope="session")
def no_service_here():
    """Where the gateway under test finds its services: a held port that refuses (503s), never
    the default ports that `make run` may be serving."""
    with refusing_url() as url:
        yield url


@pytest.fixture
def gateway_config(app_config, signing_keys, no_service_here):
    return {
        **app_config,
        **unreachable_services(no_service_here),
        "gateway_issuer": "http://gateway.test",
        "gateway_signing_keys": signing_keys,
    }


@pytest.fixture
def gateway_app(gateway_config):
    app = create_app(gateway_config)
    yield app
    app.extensions["db_pool"].close()


@pytest.fixture
def client(gateway_app):
    return gateway_app.test_client()


@pytest.fixture
def make_client(gateway_app):
    """Create an OAuth client in the gateway's table; returns (client_id, secret)."""

    def make(*roles, teams=()):
        with gateway_app.app_context(), db.connection() as conn:
            return clients.create_client(conn, "test client", roles or ("agent",), teams)

    return make


@pytest.fixture
def token_for(gateway_app):
    """A real access token from /oauth/token for a new client with these roles."""

    def issue(*roles, teams=()):
        return issue_token(gateway_app, *roles, teams=teams)

    return issue
