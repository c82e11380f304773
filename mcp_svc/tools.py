"""The five MCP tools. Each is one REST operation of the agent, found in the gateway's agent OpenAPI
document (schema and words) and called through the gateway with the caller's own bearer, so a tool
call meets the REST API's policy, team scope, rate limits and audit, and nothing else."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx2
import mcp_types as types
from prometheus_client import Counter

from mcp_svc.schemas import RestOperation, find_operation
from shared.errors import field_error

AGENT_DOCUMENT_PATH = "/api/openapi-agent.json"
CACHE_SECONDS = 60.0
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


class ToolUnavailable(Exception):
    """The tool's REST operation is not in the agent document right now (its service is down)."""


class Catalogue:
    """The tools as the gateway's agent document describes them, fetched on first use and kept
    for CACHE_SECONDS (a document missing an operation is kept for a second only)."""

    def __init__(self, http: httpx2.AsyncClient) -> None:
        self.http = http
        self._operations: dict[str, RestOperation] = {}
        self._fresh_until = 0.0
        self._lock = asyncio.Lock()

    async def operations(self) -> dict[str, RestOperation]:
        """Tool name -> its REST operation (only the tools whose operation is documented now)."""
        if time.monotonic() < self._fresh_until:
            return self._operations
        async with self._lock:
            if time.monotonic() >= self._fresh_until:
                await self._refresh()
        return self._operations

    async def _refresh(self) -> None:
        try:
            answer = await self.http.get(AGENT_DOCUMENT_PATH)
            document = answer.json() if answer.status_code == 200 else {}
        except (httpx2.HTTPError, ValueError):
            document = {}
        found = {tool.name: find_operation(document, tool.operation_id) for tool in TOOLS}
        self._operations = {name: op for name, op in found.items() if op is not None}
        complete = len(self._operations) == len(TOOLS)
        self._fresh_until = time.monotonic() + (CACHE_SECONDS if complete else 1.0)

    async def tools(self) -> list[types.Tool]:
        operations = await self.operations()
        return [
            types.Tool(
                name=tool.name,
                title=operations[tool.name].summary,
                description=f"{operations[tool.name].summary}. {operations[tool.name].description}",
                input_schema=operations[tool.name].input_schema,
                annotations=types.ToolAnnotations(
                    read_only_hint=tool.read_only, destructive_hint=False, open_world_hint=False
                ),
            )
            for tool in TOOLS
            if tool.name in operations
        ]

    async def operation(self, name: str) -> RestOperation:
        operation = (await self.operations()).get(name)
        if operation is None:
            raise ToolUnavailable(name)
        return operation


async def call_tool(
    http: httpx2.AsyncClient,
    operation: RestOperation,
    arguments: dict[str, Any],
    *,
    authorization: str,
    request_id: str | None,
) -> tuple[int, Any]:
    """Make the REST call of `operation` with these arguments as the caller (`authorization` is
    the caller's own header); returns the status and the decoded JSON answer (None if not JSON)."""
    missing = [name for name in operation.path_parameters if name not in arguments]
    if missing:
        return 422, problem(422, [(name, "Missing data for required field.") for name in missing])
    path = operation.path
    for name in operation.path_parameters:
        path = path.replace("{" + name + "}", quote(str(arguments[name]), safe=""))
    rest = {key: value for key, value in arguments.items() if key not in operation.path_parameters}
    if rest and not operation.has_body:
        return 422, problem(422, [(name, "Unknown field.") for name in sorted(rest)])
    headers = {"Authorization": authorization}
    if request_id:
        headers["X-Request-ID"] = request_id
    answer = await http.request(
        operation.method,
        path,
        json=rest if operation.has_body else None,
        headers=headers,
    )
    try:
        return answer.status_code, answer.json()
    except ValueError:
        return answer.status_code, None


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
