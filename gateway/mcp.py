"""The MCP server's front door: `/mcp` (Streamable HTTP) forwarded to mcp_svc for callers with a
valid bearer (an access token or an API key), and the metadata an MCP client discovers
authorization with: protected-resource metadata (RFC 9728) and the authorization-server metadata
(RFC 8414, the same document as OpenID discovery).

A `tools/call` runs here, in-process, as the REST request it stands for (gateway/mcp_tools.py);
everything else of the protocol is forwarded to mcp_svc with the caller's own bearer. Either way,
policy, team scope, rate limits and audit are exactly those of the REST API."""

from __future__ import annotations

import urllib3
from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from urllib3.exceptions import HTTPError as UpstreamError

from gateway.bearer import bearer_token
from gateway.delegation import AGENT_SCOPE
from gateway.mcp_tools import register_mcp_tools, tool_call_answer
from gateway.oauth import provider_metadata
from gateway.proxy import HOP_BY_HOP, stream_back
from gateway.resources import MCP_PATH, resource_url
from shared.errors import ServiceUnavailable, Unauthorized
from shared.web import settings_of

mcp = Blueprint("mcp", __name__)
RESOURCE_METADATA_PATH = "/.well-known/oauth-protected-resource"


def register_mcp(app: Flask) -> None:
    """The /mcp route and the discovery documents; /mcp gets its own pool to mcp_svc (answers
    may be event streams that stay open while a tool runs)."""
    app.extensions["mcp_pool"] = urllib3.PoolManager(
        num_pools=1,
        maxsize=64,
        block=False,
        retries=False,
        timeout=urllib3.Timeout(connect=2.0, read=settings_of(app).upstream_timeout),
    )
    register_mcp_tools(app)
    app.register_blueprint(mcp)


def resource_metadata(resource: str, issuer: str) -> dict:
    """RFC 9728 protected-resource metadata for `resource`, whose tokens `issuer` grants."""
    return {
        "resource": resource,
        "authorization_servers": [issuer],
        "bearer_methods_supported": ["header"],
        "scopes_supported": [AGENT_SCOPE],
        "resource_name": "CR Assistant platform",
        "resource_documentation": f"{issuer}/api/docs",
    }


@mcp.get(RESOURCE_METADATA_PATH + MCP_PATH)
def mcp_resource_metadata():
    issuer = settings_of(current_app).gateway_issuer
    return jsonify(resource_metadata(resource_url(issuer), issuer))


@mcp.get(RESOURCE_METADATA_PATH)
def api_resource_metadata():
    """The root form: the gateway's whole API (the MCP endpoint lies below it)."""
    issuer = settings_of(current_app).gateway_issuer
    return jsonify(resource_metadata(issuer, issuer))


@mcp.get("/.well-known/oauth-authorization-server")
def authorization_server_metadata():
    """RFC 8414 metadata: MCP clients look here first, then at OpenID discovery (same content)."""
    return jsonify(provider_metadata())


@mcp.route(MCP_PATH, methods=["GET", "POST", "DELETE"])
def forward_mcp() -> Response:
    """Check the caller's bearer; answer a tool call here, or stream the request to mcp_svc and
    its answer back."""
    g.principal = authenticate_mcp()
    settings = settings_of(current_app)
    request.max_content_length = settings.max_body_bytes
    body = request.get_data(cache=False) if request.method == "POST" else None
    answer = tool_call_answer(body) if body is not None else None
    if answer is not None:
        return answer
    headers = {
        key: value for key, value in request.headers.items() if key.lower() not in HOP_BY_HOP
    }
    headers["Authorization"] = request.headers["Authorization"]  # the tools call the API with it
    headers["X-Request-ID"] = g.request_id
    headers["X-Forwarded-For"] = request.remote_addr or ""
    try:
        upstream = current_app.extensions["mcp_pool"].urlopen(
            request.method,
            settings.mcp_url + MCP_PATH,
            body=body,
            headers=headers,
            preload_content=False,
            redirect=False,
            decode_content=False,
        )
    except UpstreamError:
        raise ServiceUnavailable(
            "The MCP server is not reachable; retry later.", headers={"Retry-After": "5"}
        ) from None
    return stream_back(upstream)


def authenticate_mcp():
    """The caller of an /mcp request. A missing or invalid bearer is a 401 whose
    `WWW-Authenticate` names the protected-resource metadata (the MCP authorization spec)."""
    issuer = settings_of(current_app).gateway_issuer
    challenge = f'Bearer resource_metadata="{issuer}{RESOURCE_METADATA_PATH}{MCP_PATH}"'
    try:
        credential = bearer_token(request.headers.get("Authorization", ""))
    except Unauthorized:
        raise Unauthorized(
            "A bearer access token or API key is required.",
            headers={"WWW-Authenticate": challenge},
        ) from None
    try:
        return current_app.extensions["api_credentials"].verify(credential)
    except Unauthorized:
        raise Unauthorized(
            "A valid bearer access token or API key is required.",
            headers={"WWW-Authenticate": f'{challenge}, error="invalid_token"'},
        ) from None
