"""OWASP API9 (improper inventory management): every public API route of every service is in the
merged OpenAPI document the gateway serves, with an operationId, and the document lists nothing
that no service serves. Internal routes (service to service, never routed by the gateway) are the
only ones left out, by name."""

import re

import pytest
import requests

from gateway.app import create_app as create_gateway
from persistence_svc.app import create_app as create_persistence
from qa_svc.app import create_app as create_qa
from trends_svc.app import create_app as create_trends

SERVICES = {"persistence": create_persistence, "trends": create_trends, "qa": create_qa}
# the change feed the trends worker reads; the PII guard qa_svc asks about its free text
INTERNAL = {"/api/v1/internal/changes", "/api/v1/internal/free-text/check"}


def openapi_path(rule: str) -> str:
    return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule)


def served_operations(app) -> set[tuple[str, str]]:
    return {
        (method.lower(), openapi_path(rule.rule))
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/") and "<path:" not in rule.rule
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


@pytest.fixture(scope="module")
def document(platform):
    return requests.get(f"{platform.gateway}/api/openapi.json", timeout=10).json()


def documented(document) -> set[tuple[str, str]]:
    return {
        (method, path)
        for path, item in document["paths"].items()
        for method in item
        if method in {"get", "put", "post", "delete", "patch"} and path.startswith("/api/v1/")
    }


def test_every_served_route_is_documented_and_nothing_else(document, app_config, tmp_path):
    served = set()
    for create in SERVICES.values():
        app = create(app_config)
        try:
            served |= served_operations(app)
        finally:
            app.extensions["db_pool"].close()
    gateway = create_gateway({**app_config, "gateway_signing_keys": str(tmp_path / "k.json")})
    try:
        served |= served_operations(gateway)
    finally:
        gateway.extensions["db_pool"].close()
    internal = {(method, path) for method, path in served if path in INTERNAL}
    assert internal, "the allow-list names routes that exist"
    assert served - internal == documented(document)


def test_every_operation_can_be_imported_as_an_agent_action(document):
    ids = []
    for item in document["paths"].values():
        for method, operation in item.items():
            if method in {"get", "put", "post", "delete", "patch"}:
                ids.append(operation["operationId"])
                description = operation.get("description", "")
                assert operation["summary"] and 0 < len(description) < 300, operation["operationId"]
    assert len(ids) == len(set(ids))
