"""The merged OpenAPI document is valid and importable as a GPT Action."""

import pytest
from openapi_spec_validator import validate

from devstack.testing import internal_headers
from gateway.openapi import base_document, merge
from persistence_svc.app import create_app as create_persistence


@pytest.fixture
def persistence_document(app_config):
    app = create_persistence(app_config)
    try:
        yield app.test_client().get("/openapi.json", headers=internal_headers("service")).json
    finally:
        app.extensions["db_pool"].close()


def test_merged_document_is_valid_and_complete(persistence_document):
    document = base_document("http://gateway.test")
    merge(document, "persistence", persistence_document)
    validate(document)
    assert (
        document["components"]["securitySchemes"]["oauth2"]["flows"]["clientCredentials"][
            "tokenUrl"
        ]
        == "http://gateway.test/oauth/token"
    )
    assert "/api/v1/internal/changes" not in document["paths"]
    operation_ids = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            assert operation.get("operationId"), f"{method} {path} has no operationId"
            assert operation.get("summary"), f"{method} {path} has no summary"
            assert len(operation.get("description", "")) < 300, f"{method} {path}"
            operation_ids.append(operation["operationId"])
    assert len(operation_ids) == len(set(operation_ids))
    assert {
        "createSession",
        "createSessionBatch",
        "listSessions",
        "getSession",
        "lookupEngineer",
        "lookupEngineers",
        "eraseEngineer",
        "issueToken",
    } <= set(operation_ids)


def test_gateway_serves_the_document_and_swagger_ui(client):
    document = client.get("/api/openapi.json").json  # services are not running: gateway part only
    assert document["paths"]["/oauth/token"]["post"]["operationId"] == "issueToken"
    page = client.get("/api/docs")
    assert page.status_code == 200
    assert b"swagger-ui-bundle.js" in page.data
    with client.get("/api/docs/static/swagger-ui-bundle.js") as asset:
        assert asset.status_code == 200
