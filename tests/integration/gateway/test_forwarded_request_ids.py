"""The gateway reuses one internal token for a caller's calls to a service, and each call's request
id still reaches the service: a real persistence app behind the gateway answers with its own."""

import json

import pytest

from gateway.app import create_app
from persistence_svc.app import create_app as create_persistence
from tests.common.servers import serve
from tests.common.tokens import issue_token


def answering(app, seen: list):
    """`app` as a WSGI app that notes, for every call, the token it received and the request id
    it answered with (the one its access log carries)."""

    def wsgi(environ, start_response):
        token = environ.get("HTTP_AUTHORIZATION", "")

        def noting(status, headers, exc_info=None):
            seen.append((token, dict(headers).get("X-Request-ID")))
            return start_response(status, headers, exc_info)

        return app(environ, noting)

    return wsgi


@pytest.fixture
def behind_gateway(gateway_config, tmp_path):
    """A gateway in front of a real persistence app that trusts its published keys; the list of
    what reached persistence."""
    public_keys = tmp_path / "gateway_public_jwks.json"
    persistence = create_persistence({**gateway_config, "internal_token_jwks": str(public_keys)})
    seen: list[tuple[str, str]] = []
    with serve(answering(persistence, seen)) as persistence_url:
        gateway = create_app({**gateway_config, "persistence_url": persistence_url})
        public_keys.write_text(json.dumps(gateway.extensions["key_ring"].public_jwks()))
        yield gateway, seen
        gateway.extensions["db_pool"].close()
    persistence.extensions["db_pool"].close()


def test_calls_sharing_a_token_each_reach_the_service_with_their_own_request_id(behind_gateway):
    gateway, seen = behind_gateway
    bearer = {"Authorization": "Bearer " + issue_token(gateway, "qa_lead")}
    client = gateway.test_client()
    answers = [
        client.get("/api/v1/sessions", headers={**bearer, "X-Request-ID": request_id})
        for request_id in ("first-call-0001", "second-call-0002")
    ]
    assert [answer.status_code for answer in answers] == [200, 200]
    assert [answer.headers["X-Request-ID"] for answer in answers] == [
        "first-call-0001",
        "second-call-0002",
    ]
    assert [request_id for _, request_id in seen] == ["first-call-0001", "second-call-0002"]
    tokens = {token for token, _ in seen}
    assert len(tokens) == 1, "both calls were forwarded with one internal token"
    assert tokens.pop() != bearer["Authorization"]
