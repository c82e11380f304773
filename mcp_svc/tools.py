"""The five MCP tools as mcp_svc serves them: their list, from the gateway's agent OpenAPI document,
and a tool call made as a REST call through the gateway with the caller's own bearer, so it meets
the REST API's policy, team scope, rate limits and audit, and nothing else. (Through the gateway's
`/mcp`, the gateway runs `tools/call` itself, in-process, the same way: gateway/mcp_tools.py.)"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx2
import mcp_types as types

from shared.agent_tools import TOOLS, RestCall, RestOperation, find_operation, rest_call

AGENT_DOCUMENT_PATH = "/api/openapi-agent.json"
CACHE_SECONDS = 60.0


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
    call = rest_call(operation, arguments)
    if not isinstance(call, RestCall):
        return 422, call
    headers = {"Authorization": authorization}
    if request_id:
        headers["X-Request-ID"] = request_id
    answer = await http.request(call.method, call.path, json=call.body, headers=headers)
    try:
        return answer.status_code, answer.json()
    except ValueError:
        return answer.status_code, None
