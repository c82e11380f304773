"""`tools/call` at `/mcp`, run by the gateway itself: the call is dispatched in-process as the REST
request it stands for (shared/agent_tools.py), through the same before-request hooks, policy, team
scope, rate limits, look-up accounting and audit as a REST call from outside, and its answer becomes
the tool result. A tool call so costs one hop to the owning service, as the REST call does, instead
of three (gateway -> mcp_svc -> gateway -> service).

Only a request that mcp_svc's SDK would take as it is gets this path: a POST of one JSON-RPC
`tools/call` request for a known tool, JSON accepted, no session, a protocol version of the
initialize handshake (or none). Anything else (initialize, tools/list, notifications, malformed
messages, other protocol eras, task-augmented calls) goes to mcp_svc, whose SDK answers it."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import mcp_types as types
from flask import Flask, Response, current_app, g, request
from mcp.server.streamable_http import check_accept_headers
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from pydantic import ValidationError
from werkzeug.test import EnvironBuilder

from gateway.agent_openapi import agent_document
from gateway.openapi import merged_document
from shared.agent_tools import (
    TOOL_BY_NAME,
    RestCall,
    RestOperation,
    find_operation,
    rest_call,
    tool_result,
    unavailable_result,
)
from shared.web import settings_of

PROTOCOL_VERSION_HEADER = "MCP-Protocol-Version"
SESSION_HEADER = "Mcp-Session-Id"
CACHE_SECONDS = 60.0  # as mcp_svc's catalogue: the agent document changes with a release only


class OperationCache:
    """Tool name -> REST operation, from this gateway's own agent document, kept for CACHE_SECONDS
    (a document missing an operation, while a service is down, for a second only)."""

    def __init__(self) -> None:
        self._operations: dict[str, RestOperation] = {}
        self._fresh_until = 0.0
        self._lock = threading.Lock()

    def get(self, app: Flask, name: str) -> RestOperation | None:
        if time.monotonic() >= self._fresh_until:
            with self._lock:
                if time.monotonic() >= self._fresh_until:
                    self._refresh(app)
        return self._operations.get(name)

    def _refresh(self, app: Flask) -> None:
        document = agent_document(merged_document(app), settings_of(app).gateway_issuer)
        found = {
            name: find_operation(document, tool.operation_id) for name, tool in TOOL_BY_NAME.items()
        }
        self._operations = {name: op for name, op in found.items() if op is not None}
        complete = len(self._operations) == len(TOOL_BY_NAME)
        self._fresh_until = time.monotonic() + (CACHE_SECONDS if complete else 1.0)


def register_mcp_tools(app: Flask) -> None:
    app.extensions["mcp_operations"] = OperationCache()


def tool_call_answer(body: bytes) -> Response | None:
    """The JSON-RPC answer to a `tools/call` this gateway runs itself, or None when the request is
    for mcp_svc (see the module's docstring)."""
    call_request = _tool_call(body)
    if call_request is None:
        return None
    message, params = call_request
    operation = current_app.extensions["mcp_operations"].get(current_app, params.name)
    if operation is None:
        result = unavailable_result(params.name)
    else:
        call = rest_call(operation, params.arguments or {})
        if isinstance(call, RestCall):
            status, answer = dispatch(call)
            result = tool_result(params.name, status, answer)
        else:
            result = tool_result(params.name, 422, call)
    response = types.JSONRPCResponse(
        jsonrpc="2.0",
        id=message.id,
        result=result.model_dump(by_alias=True, mode="json", exclude_none=True),
    )
    return Response(
        response.model_dump_json(by_alias=True, exclude_unset=True),
        mimetype="application/json",
    )


def _tool_call(
    body: bytes,
) -> tuple[types.JSONRPCRequest, types.CallToolRequestParams] | None:
    """This request as a `tools/call` the gateway runs (the message and its parameters), or None."""
    if request.method != "POST" or SESSION_HEADER in request.headers:
        return None
    version = request.headers.get(PROTOCOL_VERSION_HEADER)
    if version is not None and version not in HANDSHAKE_PROTOCOL_VERSIONS:
        return None
    accepts_json, _ = check_accept_headers(request)  # the SDK's own rule (wildcards included)
    if request.mimetype != "application/json" or not accepts_json:
        return None
    try:
        message = types.jsonrpc_message_adapter.validate_json(body)
    except ValidationError:
        return None
    if not isinstance(message, types.JSONRPCRequest) or message.method != "tools/call":
        return None
    try:
        params = types.CallToolRequestParams.model_validate(message.params or {})
    except ValidationError:
        return None
    if params.name not in TOOL_BY_NAME or params.task is not None:
        return None
    return message, params


def dispatch(call: RestCall) -> tuple[int, Any]:
    """Run `call` through this gateway as a REST request of the same caller (its bearer, address
    and request id) in a fresh request context; returns the status and the decoded JSON answer."""
    app = current_app._get_current_object()
    headers = {
        "Authorization": request.headers["Authorization"],
        "Accept": "application/json",
        "X-Request-ID": g.request_id,
    }
    environ = EnvironBuilder(
        path=call.path,
        method=call.method,
        json=call.body,
        headers=headers,
        environ_base={"REMOTE_ADDR": request.remote_addr or ""},
    ).get_environ()
    with app.app_context(), app.request_context(environ):
        try:
            response = app.full_dispatch_request()
        except Exception as error:  # answered as wsgi_app would: a 500 problem
            response = app.handle_exception(error)
        try:
            data = b"".join(response.iter_encoded())  # a streamed (passthrough) answer too
        finally:
            response.close()
    try:
        return response.status_code, json.loads(data) if data else None
    except ValueError:
        return response.status_code, None
