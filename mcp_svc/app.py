"""mcp_svc: the official MCP SDK's Streamable HTTP server (stateless, JSON answers) with the five
agent tools, plus the health, readiness and metrics routes of every service.

Only the gateway reaches it (network policy): the gateway checks the caller's bearer at `/mcp`
and forwards it, and every tool call goes back through the gateway's REST API with that bearer,
where it is checked again. A request here without a bearer is refused (401)."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import httpx2
import mcp_types as types
from mcp.server import Server, ServerRequestContext
from mcp.server.transport_security import TransportSecuritySettings
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from mcp_svc import tools
from shared.agent_tools import tool_result, unavailable_result
from shared.config import Settings, load_settings
from shared.errors import PROBLEM_MEDIA_TYPE
from shared.logging import configure_logging
from shared.metrics import LATENCY, REQUESTS

SERVICE = "mcp"
MCP_PATH = "/mcp"
ROUTES = frozenset({MCP_PATH, "/healthz", "/readyz", "/metrics"})
INSTRUCTIONS = (
    "Tools of the CR Assistant platform. After each analysis call store_analysis; for the Compare "
    "History command call compare_history; check each input with check_input; report what the "
    "agent saw with report_validation_events; show_validation_log answers Show Validation Log. "
    "Names and case numbers are pseudonymised by the platform and never stored."
)
log = logging.getLogger("cr.access")

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


def create_app(settings: Settings | None = None) -> Starlette:
    """The ASGI app of mcp_svc; `settings` default to the environment's."""
    settings = settings or load_settings()
    configure_logging(SERVICE, settings.log_level)
    http = httpx2.AsyncClient(
        base_url=settings.gateway_url,
        timeout=settings.upstream_timeout,
        limits=httpx2.Limits(max_connections=64, max_keepalive_connections=32),
    )
    catalogue = tools.Catalogue(http)

    async def list_tools(
        ctx: ServerRequestContext, params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=await catalogue.tools())

    async def call_tool(
        ctx: ServerRequestContext, params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        request: Request = ctx.request
        try:
            operation = await catalogue.operation(params.name)
        except tools.ToolUnavailable:
            return unavailable_result(params.name)
        try:
            status, body = await tools.call_tool(
                http,
                operation,
                params.arguments or {},
                authorization=request.headers["authorization"],
                request_id=request.headers.get("x-request-id"),
            )
        except httpx2.HTTPError:
            status, body = 503, {"status": 503, "title": "The API is not reachable; retry."}
        return tool_result(params.name, status, body)

    server = Server(
        "cr-assistant-platform",
        version="v1",
        instructions=INSTRUCTIONS,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )

    async def readyz(request: Request) -> Response:
        try:
            answer = await http.get("/healthz")
        except httpx2.HTTPError:
            return JSONResponse({"status": "unavailable", "gateway": "unreachable"}, 503)
        ready = answer.status_code == 200
        return JSONResponse(
            {"status": "ok" if ready else "unavailable", "gateway": answer.status_code},
            200 if ready else 503,
        )

    app = server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        stateless_http=True,  # no sessions to share between replicas: any replica answers
        json_response=True,  # one JSON answer per call (no event stream to hold open)
        # Origin/Host checks guard servers that trust a browser's ambient credentials; this one
        # takes only bearer headers, and reaches callers through the gateway under other names.
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        custom_starlette_routes=[
            Route("/healthz", lambda request: JSONResponse({"status": "ok"})),
            Route("/readyz", readyz),
            Route(
                "/metrics",
                lambda request: PlainTextResponse(
                    generate_latest(), media_type=CONTENT_TYPE_LATEST
                ),
            ),
        ],
    )
    app.add_middleware(BearerRequired)
    app.add_middleware(AccessLog)
    return app


class BearerRequired:
    """`/mcp` without an `Authorization: Bearer` header is a 401 problem (a call that did not come
    through the gateway); the bearer itself is checked by the gateway, on the way in and again on
    every tool's REST call."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == MCP_PATH:
            headers = dict(scope["headers"])
            scheme, _, token = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                response = JSONResponse(
                    {
                        "type": "about:blank",
                        "title": "Unauthorized",
                        "status": 401,
                        "detail": "A bearer access token is required.",
                    },
                    401,
                    headers={"WWW-Authenticate": "Bearer"},
                    media_type=PROBLEM_MEDIA_TYPE,
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


class AccessLog:
    """One JSON access line and the request metrics per HTTP request (route, never the query)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 500}

        async def watch(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            route = scope["path"] if scope["path"] in ROUTES else "other"
            elapsed = time.perf_counter() - started
            REQUESTS.labels(SERVICE, scope["method"], route, str(status["code"])).inc()
            LATENCY.labels(SERVICE, route).observe(elapsed)
            if route not in ("/healthz", "/metrics"):
                request_id = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
                log.info(
                    "request",
                    extra={
                        "method": scope["method"],
                        "route": route,
                        "status": status["code"],
                        "duration_ms": round(elapsed * 1000, 2),
                        "request_id": request_id[:64],
                    },
                )
