"""The agent-sized OpenAPI document (`/api/openapi-agent.json`): the agent's operations only, cut
from the merged document of the whole API and turned into OpenAPI 3.1, with summaries and
descriptions written for a model (a GPT Action imports it; the MCP tools take their input
schemas and descriptions from it)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from gateway.delegation import AGENT_SCOPE, SCOPE_DESCRIPTIONS

OPENAPI_31 = "3.1.0"
COMPONENT_REF = "#/components/schemas/"


@dataclass(frozen=True)
class AgentOperation:
    """One operation the agent calls: its operationId in the merged document and the words a
    model reads (each at most 300 characters, the GPT Actions limit)."""

    operation_id: str
    summary: str
    description: str


AGENT_OPERATIONS: tuple[AgentOperation, ...] = (
    AgentOperation(
        "createSession",
        "Store one finished analysis",
        "Call once after each analysis (step 7). Send the engineer's name as `engineer` and the "
        "case number as `case_number`: both become pseudonyms and are never stored. Root cause, "
        "sentiment, tone and confidences as shown to the leader. Reusing `session_id` makes a "
        "retry safe.",
    ),
    AgentOperation(
        "compareHistory",
        "Compare History of an engineer",
        "The Compare History command: send `engineer` (the name) or `engineer_code`, and "
        "optionally `period_days` (default 30). Answers this period against the previous one: "
        "counts, mean sentiment and confidence, root causes, recurring issues, streaks, team "
        "baseline, open alerts, and a `text` to show.",
    ),
    AgentOperation(
        "checkInput",
        "Check one input of the workflow",
        "Validate what the leader typed for `field` (engineer, case_number, languages, "
        "record_type, parts, review) with `attempt` = try number. If `valid` is false show "
        "`message` and ask again; after three invalid tries offer a restart. Use `normalized` "
        "when valid. The value is never stored.",
    ),
    AgentOperation(
        "reportValidationEvents",
        "Report validation events",
        "Send events the agent saw itself (step, field, outcome, code, attempt, time, agent "
        "version) and runtime errors such as a model time-out, up to 500 at once. Never put a "
        "name, case number or feedback text in `message`.",
    ),
    AgentOperation(
        "showValidationLog",
        "Show Validation Log of a session",
        "The Show Validation Log command for one `session_id`: engineer name validity, case "
        "number attempts, language warnings, record type, last error time, restart offered, the "
        "event timeline and a `text` to show.",
    ),
    AgentOperation(
        "lookupEngineer",
        "Look up an engineer's pseudonym",
        "Turns an engineer's name into the `engineer_code` used in history and trends. The name "
        "goes in the body only and is not stored. Rarely needed: Compare History takes the "
        "name itself.",
    ),
)
KEPT_RESPONSES = ("200", "201", "202")


def agent_document(merged: dict[str, Any], issuer: str) -> dict[str, Any]:
    """The agent's operations of `merged` (the gateway's whole-API document, OpenAPI 3.0) as an
    OpenAPI 3.1 document served from `issuer`, with every schema they use and nothing else.
    An operation whose service is unreachable right now is left out."""
    wanted = {operation.operation_id: operation for operation in AGENT_OPERATIONS}
    paths: dict[str, Any] = {}
    for path, item in merged.get("paths", {}).items():
        for method, operation in item.items():
            if method == "parameters" or operation.get("operationId") not in wanted:
                continue
            paths.setdefault(path, {})[method] = _agent_operation(
                operation, wanted[operation["operationId"]], item.get("parameters", [])
            )
    schemas = merged.get("components", {}).get("schemas", {})
    return {
        "openapi": OPENAPI_31,
        "info": {
            "title": "CR Assistant Agent API",
            "version": "v1",
            "description": "Store each analysis, Compare History, validate inputs and show the "
            "validation log. Names and case numbers are pseudonymised by the API and never "
            "stored.",
        },
        "servers": [{"url": issuer}],
        "paths": paths,
        "components": {
            "schemas": {
                name: to_json_schema(schemas[name]) for name in sorted(_referenced(paths, schemas))
            },
            "securitySchemes": {
                "oauth2": {
                    "type": "oauth2",
                    "flows": {
                        "authorizationCode": {
                            "authorizationUrl": f"{issuer}/oauth/authorize",
                            "tokenUrl": f"{issuer}/oauth/token",
                            "scopes": {AGENT_SCOPE: SCOPE_DESCRIPTIONS[AGENT_SCOPE]},
                        }
                    },
                },
                "apiKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API key of `flask --app gateway create-api-key`.",
                },
            },
        },
        "security": [{"oauth2": []}, {"apiKey": []}],
    }


def _agent_operation(
    operation: dict[str, Any], agent: AgentOperation, path_parameters: list
) -> dict[str, Any]:
    """The merged operation with the agent's words, its parameters and body schema unchanged, and
    only its success answers (errors are problem details, described once in the info)."""
    kept = {
        "operationId": operation["operationId"],
        "summary": agent.summary,
        "description": agent.description,
        "x-openai-isConsequential": False,  # nothing the agent calls destroys anything
    }
    parameters = [*path_parameters, *operation.get("parameters", [])]
    if parameters:
        kept["parameters"] = [_parameter(parameter) for parameter in parameters]
    if "requestBody" in operation:
        kept["requestBody"] = to_json_schema(operation["requestBody"])
    kept["responses"] = {
        status: to_json_schema(answer)
        for status, answer in operation["responses"].items()
        if status in KEPT_RESPONSES
    }
    return kept


def _parameter(parameter: dict[str, Any]) -> dict[str, Any]:
    converted = to_json_schema(parameter)
    converted.setdefault("description", parameter["name"].replace("_", " ").capitalize() + ".")
    return converted


def to_json_schema(value: Any) -> Any:
    """An OpenAPI 3.0 schema (or any part of a document holding schemas) in 3.1's JSON Schema
    dialect: `nullable: true` becomes a "null" type (or a null alternative), and boolean
    `exclusiveMinimum`/`exclusiveMaximum` become the numbers they qualified."""
    if isinstance(value, list):
        return [to_json_schema(item) for item in value]
    if not isinstance(value, dict):
        return value
    schema = {key: to_json_schema(item) for key, item in value.items()}
    for bound, limit in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        # a false flag is dropped; a true one takes the bound's number
        if isinstance(schema.get(bound), bool) and schema.pop(bound) and limit in schema:
            schema[bound] = schema.pop(limit)
    if schema.pop("nullable", False) is True:
        kind = schema.get("type")
        if isinstance(kind, str):
            schema["type"] = [kind, "null"]
            if "enum" in schema and None not in schema["enum"]:
                schema["enum"] = [*schema["enum"], None]
        elif "$ref" in schema or "allOf" in schema or "oneOf" in schema or "anyOf" in schema:
            schema = {"anyOf": [_without_meta(schema), {"type": "null"}], **_meta(schema)}
        # no `type`: any value is allowed already, null included
    return schema


_META = ("description", "default", "readOnly", "writeOnly", "title", "example", "examples")


def _meta(schema: dict[str, Any]) -> dict[str, Any]:
    return {key: schema[key] for key in _META if key in schema}


def _without_meta(schema: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in schema.items() if key not in _META}


def _referenced(paths: dict[str, Any], schemas: dict[str, Any]) -> set[str]:
    """Names of the component schemas `paths` use, directly or through other schemas."""
    found: set[str] = set()
    pending = _refs(paths)
    while pending:
        name = pending.pop()
        if name in found or name not in schemas:
            continue
        found.add(name)
        pending |= _refs(schemas[name])
    return found


def _refs(value: Any) -> set[str]:
    text = json.dumps(value)
    names = set()
    for piece in text.split('"$ref": "')[1:]:
        target = piece.split('"', 1)[0]
        if target.startswith(COMPONENT_REF):
            names.add(target.removeprefix(COMPONENT_REF))
    return names
