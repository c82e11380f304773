"""The agent-sized OpenAPI document: valid OpenAPI 3.1, the agent's operations only, within the
limits GPT Actions document.

The limits, from OpenAI's "Production notes on GPT Actions"
(https://developers.openai.com/api/docs/actions/production.md, sections "Open API specification
limits" and "Additional limitations"; the same text at
https://chatgpt.cadn.net.cn/docs_en/actions_production):
- 300 characters max for each API endpoint description/summary field;
- 700 characters max for each API parameter description field;
- custom headers are not supported (so no header parameters);
- all domains used in an OAuth flow must be the same as the domain of the primary endpoints;
- request and response payloads under 100,000 characters each (the document is kept far below).
The authentication choices (None, API key, OAuth with authorization URL, token URL and scope) are
those of https://chatgpt.cadn.net.cn/docs_en/actions_authentication ("GPT Action authentication").
"""

import json
from urllib.parse import urlsplit

import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator, validate

from gateway.agent_openapi import AGENT_OPERATIONS, to_json_schema
from gateway.app import create_app
from persistence_svc.app import create_app as create_persistence
from qa_svc.app import create_app as create_qa
from tests.common.servers import serve
from trends_svc.app import create_app as create_trends

AGENT_OPERATION_IDS = {
    "createSession",
    "compareHistory",
    "checkInput",
    "reportValidationEvents",
    "showValidationLog",
    "lookupEngineer",
}
SUMMARY_LIMIT = 300
PARAMETER_DESCRIPTION_LIMIT = 700
PAYLOAD_LIMIT = 100_000


@pytest.fixture
def agent_document(gateway_config, tmp_path):
    """/api/openapi-agent.json of a gateway whose three services run (real apps on free ports),
    the services trusting the gateway's published keys."""
    public_keys = tmp_path / "gateway_public_jwks.json"  # written once the gateway exists
    service_config = {**gateway_config, "internal_token_jwks": str(public_keys)}
    apps = [create(service_config) for create in (create_persistence, create_trends, create_qa)]
    try:
        with serve(apps[0]) as persistence, serve(apps[1]) as trends, serve(apps[2]) as qa:
            gateway = create_app(
                {
                    **gateway_config,
                    "persistence_url": persistence,
                    "trends_url": trends,
                    "qa_url": qa,
                }
            )
            public_keys.write_text(json.dumps(gateway.extensions["key_ring"].public_jwks()))
            try:
                answer = gateway.test_client().get("/api/openapi-agent.json")
            finally:
                gateway.extensions["db_pool"].close()
    finally:
        for app in apps:
            app.extensions["db_pool"].close()
    assert answer.status_code == 200
    return answer.json


def operations(document):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def test_agent_document_is_valid_openapi_3_1(agent_document):
    assert agent_document["openapi"] == "3.1.0"
    validate(agent_document, cls=OpenAPIV31SpecValidator)


def test_agent_document_holds_only_the_agent_operations(agent_document):
    found = {operation["operationId"] for _, _, operation in operations(agent_document)}
    assert found == AGENT_OPERATION_IDS
    assert {operation.operation_id for operation in AGENT_OPERATIONS} == AGENT_OPERATION_IDS
    assert set(agent_document["paths"]) == {
        "/api/v1/sessions",
        "/api/v1/history/compare",
        "/api/v1/validation/check",
        "/api/v1/validation/events",
        "/api/v1/validation/sessions/{session_id}",
        "/api/v1/engineers/lookup",
    }
    # only the schemas those operations use: nothing of imports, alerts, audit or QA reviews
    assert "SessionIn" in agent_document["components"]["schemas"]
    assert not {"ImportReport", "AuditEvent", "ReviewIn", "ThresholdList", "SessionPage"} & set(
        agent_document["components"]["schemas"]
    )


def test_agent_document_keeps_the_rest_apis_request_schemas(agent_document):
    """Built from the merged document, not a copy: the body of storeAnalysis is the services'
    SessionIn, its nullable fields in 3.1's form."""
    session_in = agent_document["components"]["schemas"]["SessionIn"]
    body = agent_document["paths"]["/api/v1/sessions"]["post"]["requestBody"]
    assert body["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/SessionIn"
    }
    assert session_in["additionalProperties"] is False
    assert session_in["properties"]["region"]["type"] == ["string", "null"]
    assert "nullable" not in str(agent_document)


def test_agent_document_stays_within_gpt_actions_limits(agent_document):
    for path, method, operation in operations(agent_document):
        assert 0 < len(operation["summary"]) <= SUMMARY_LIMIT, (method, path)
        assert 0 < len(operation["description"]) <= SUMMARY_LIMIT, (method, path)
        for parameter in operation.get("parameters", []):
            assert parameter["in"] != "header", (method, path)  # no custom headers
            assert len(parameter.get("description", "")) <= PARAMETER_DESCRIPTION_LIMIT
    for schema in agent_document["components"]["schemas"].values():
        for field in schema.get("properties", {}).values():
            assert len(field.get("description", "")) <= PARAMETER_DESCRIPTION_LIMIT
    assert len(str(agent_document)) < PAYLOAD_LIMIT


def test_agent_document_serves_from_the_public_gateway_url_with_oauth2(agent_document):
    assert agent_document["servers"] == [{"url": "http://gateway.test"}]
    flow = agent_document["components"]["securitySchemes"]["oauth2"]["flows"]["authorizationCode"]
    assert flow["authorizationUrl"] == "http://gateway.test/oauth/authorize"
    assert flow["tokenUrl"] == "http://gateway.test/oauth/token"
    server_host = urlsplit(agent_document["servers"][0]["url"]).netloc
    assert {urlsplit(flow[key]).netloc for key in ("authorizationUrl", "tokenUrl")} == {server_host}
    assert agent_document["security"] == [{"oauth2": []}, {"apiKey": []}]


def test_a_gateway_without_its_services_still_serves_a_valid_agent_document(client):
    """Services unreachable (or only cached from earlier): still valid 3.1, never more than the
    agent's operations."""
    document = client.get("/api/openapi-agent.json").json
    validate(document, cls=OpenAPIV31SpecValidator)
    assert {operation["operationId"] for _, _, operation in operations(document)} <= (
        AGENT_OPERATION_IDS
    )


@pytest.mark.parametrize(
    ("openapi_30", "json_schema"),
    [
        ({"type": "string", "nullable": True}, {"type": ["string", "null"]}),
        (
            {"type": "string", "enum": ["a"], "nullable": True},
            {"type": ["string", "null"], "enum": ["a", None]},
        ),
        (
            {"$ref": "#/components/schemas/X", "nullable": True, "description": "d"},
            {"anyOf": [{"$ref": "#/components/schemas/X"}, {"type": "null"}], "description": "d"},
        ),
        ({"description": "any", "nullable": True}, {"description": "any"}),
        (
            {"type": "number", "minimum": 0, "exclusiveMinimum": True},
            {"type": "number", "exclusiveMinimum": 0},
        ),
        (
            {"type": "number", "maximum": 1, "exclusiveMaximum": False},
            {"type": "number", "maximum": 1},
        ),
    ],
)
def test_openapi_3_0_schemas_become_json_schema(openapi_30, json_schema):
    assert to_json_schema(openapi_30) == json_schema
