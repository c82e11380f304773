"""The agent's MCP tools as REST operations: which operation each tool stands for, its input schema
from the gateway's agent OpenAPI document (the REST API's own request schemas: marshmallow ->
apispec -> the services' OpenAPI -> the agent document, made self-contained; no schema is written
here), the REST request a tool call becomes, and the tool result a REST answer becomes.

Both places that run a tool call use it: the gateway, which runs `tools/call` in-process as the REST
request it stands for, and mcp_svc, which serves the rest of the protocol (and makes the same REST
call through the gateway when it is called directly)."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import mcp_types as types
from prometheus_client import Counter

from shared.errors import field_error

COMPONENT_REF = "#/components/schemas/"
TOOL_CALLS = Counter(
    "cr_mcp_tool_calls_total", "MCP tool calls by tool and answer class", ["tool", "status"]
)


@dataclass(frozen=True)
class ToolOperation:
    """A tool name and the operationId of the REST operation it stands for."""

    name: str
    operation_id: str
    read_only: bool


TOOLS: tuple[ToolOperation, ...] = (
    ToolOperation("store_analysis", "createSession", read_only=False),
    ToolOperation("compare_history", "compareHistory", read_only=True),
    ToolOperation("check_input", "checkInput", read_only=False),  # logs a validation event
    ToolOperation("report_validation_events", "reportValidationEvents", read_only=False),
    ToolOperation("show_validation_log", "showValidationLog", read_only=True),
)
TOOL_BY_NAME = {tool.name: tool for tool in TOOLS}


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


@dataclass(frozen=True)
class RestCall:
    """The REST request a tool call becomes: method, path with its parameters filled in, JSON body."""

    method: str
    path: str
    body: dict[str, Any] | None


def rest_call(operation: RestOperation, arguments: dict[str, Any]) -> RestCall | dict[str, Any]:
    """The REST request for these tool arguments, or a 422 problem naming each argument that
    cannot be placed (a missing path parameter, or an argument of an operation without a body)."""
    missing = [name for name in operation.path_parameters if name not in arguments]
    if missing:
        return problem(422, [(name, "Missing data for required field.") for name in missing])
    path = operation.path
    for name in operation.path_parameters:
        path = path.replace("{" + name + "}", quote(str(arguments[name]), safe=""))
    rest = {key: value for key, value in arguments.items() if key not in operation.path_parameters}
    if rest and not operation.has_body:
        return problem(422, [(name, "Unknown field.") for name in sorted(rest)])
    return RestCall(operation.method, path, rest if operation.has_body else None)


def problem(status: int, errors: list[tuple[str, str]]) -> dict[str, Any]:
    """An RFC 9457 problem naming each field and the reason (never the value)."""
    return {
        "type": "about:blank",
        "title": "Unprocessable Content",
        "status": status,
        "detail": f"{len(errors)} field(s) are invalid.",
        "errors": [field_error(field, reason) for field, reason in errors],
    }


def tool_result(name: str, status: int, body: Any) -> types.CallToolResult:
    """The REST answer as a tool result: its JSON as text and as structured content, an error
    result for any status of 400 and above (the body is then the problem details)."""
    TOOL_CALLS.labels(name, f"{status // 100}xx").inc()
    if body is None:
        body = {"status": status, "title": "The API answered without a JSON body."}
    structured = body if isinstance(body, dict) else {"items": body}
    return types.CallToolResult(
        content=[types.TextContent(text=json.dumps(body, separators=(",", ":")))],
        structured_content=structured,
        is_error=status >= 400,
    )


def unavailable_result(name: str) -> types.CallToolResult:
    """The result of a tool whose REST operation is not documented right now (its service is down)."""
    return tool_result(name, 503, {"status": 503, "title": "This tool is unavailable right now."})
