"""Tool input schemas from the gateway's agent OpenAPI document: the REST API's own request schemas
(marshmallow -> apispec -> the services' OpenAPI -> the gateway's agent document), made
self-contained for MCP. No schema is written here."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

COMPONENT_REF = "#/components/schemas/"


@dataclass(frozen=True)
class RestOperation:
    """How a tool reaches the REST API: method, path template, its path parameters, whether the
    remaining arguments are the JSON body, and the tool's words and input schema."""

    operation_id: str
    method: str
    path: str
    path_parameters: tuple[str, ...]
    has_body: bool
    summary: str
    description: str
    input_schema: dict[str, Any]


def find_operation(document: dict[str, Any], operation_id: str) -> RestOperation | None:
    """The operation `operation_id` of an agent OpenAPI document, None when it is not there (its
    service was unreachable when the gateway built the document)."""
    schemas = document.get("components", {}).get("schemas", {})
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if method == "parameters" or operation.get("operationId") != operation_id:
                continue
            parameters = [p for p in operation.get("parameters", []) if p["in"] == "path"]
            body = (
                operation.get("requestBody", {})
                .get("content", {})
                .get("application/json", {})
                .get("schema")
            )
            return RestOperation(
                operation_id=operation_id,
                method=method.upper(),
                path=path,
                path_parameters=tuple(p["name"] for p in parameters),
                has_body=body is not None,
                summary=operation.get("summary", ""),
                description=operation.get("description", ""),
                input_schema=input_schema(parameters, body, schemas),
            )
    return None


def input_schema(
    path_parameters: list[dict[str, Any]], body: dict[str, Any] | None, schemas: dict[str, Any]
) -> dict[str, Any]:
    """One object schema for a tool: the body's properties (an object body) and the path
    parameters beside them, every reference inlined."""
    schema: dict[str, Any] = (
        inline_refs(body, schemas) if body is not None else {"type": "object", "properties": {}}
    )
    schema = {**schema, "type": "object", "properties": dict(schema.get("properties", {}))}
    required = list(schema.get("required", []))
    for parameter in path_parameters:
        field = dict(inline_refs(parameter.get("schema", {}), schemas))
        if parameter.get("description"):
            field["description"] = parameter["description"]
        schema["properties"][parameter["name"]] = field
        if parameter.get("required") and parameter["name"] not in required:
            required.append(parameter["name"])
    if required:
        schema["required"] = required
    schema.setdefault("additionalProperties", False)
    return schema


def inline_refs(schema: Any, schemas: dict[str, Any], seen: tuple[str, ...] = ()) -> Any:
    """`schema` with every `#/components/schemas/…` reference replaced by the schema it names (an
    MCP tool's input schema stands alone). A reference back into a schema being inlined becomes
    an open object instead of looping."""
    if isinstance(schema, list):
        return [inline_refs(item, schemas, seen) for item in schema]
    if not isinstance(schema, dict):
        return schema
    target = schema.get("$ref")
    if isinstance(target, str) and target.startswith(COMPONENT_REF):
        name = target.removeprefix(COMPONENT_REF)
        if name in seen or name not in schemas:
            return {"type": "object"}
        rest = {key: value for key, value in schema.items() if key != "$ref"}
        return {**inline_refs(copy.deepcopy(schemas[name]), schemas, (*seen, name)), **rest}
    return {key: inline_refs(value, schemas, seen) for key, value in schema.items()}
