"""One OpenAPI document for the whole API (the services' documents merged) and Swagger UI."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from flask import (
    Blueprint,
    Flask,
    current_app,
    jsonify,
    render_template_string,
    send_from_directory,
)
from swagger_ui_bundle import swagger_ui_path
from urllib3.exceptions import HTTPError as UpstreamError

from gateway.agent_openapi import agent_document
from shared.api import OPENAPI_VERSION
from shared.tokens import Principal
from shared.web import settings_of

docs = Blueprint("docs", __name__)
SERVICES = ("persistence", "trends", "qa")
CACHE_SECONDS = 30
GATEWAY_PATHS = {
    "/oauth/token": {
        "post": {
            "operationId": "issueToken",
            "summary": "Get an access token",
            "description": "OAuth 2.0 token endpoint: `client_credentials` with HTTP Basic or form "
            "client authentication. Answers a JWT access token for the API.",
            "tags": ["oauth"],
            "security": [],
            "requestBody": {
                "required": True,
                "content": {
                    "application/x-www-form-urlencoded": {
                        "schema": {
                            "type": "object",
                            "required": ["grant_type"],
                            "properties": {
                                "grant_type": {"type": "string", "enum": ["client_credentials"]},
                                "scope": {"type": "string"},
                            },
                        }
                    }
                },
            },
            "responses": {
                "200": {
                    "description": "An access token",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "access_token": {"type": "string"},
                                    "token_type": {"type": "string"},
                                    "expires_in": {"type": "integer"},
                                },
                            }
                        }
                    },
                },
                "400": {"description": "Invalid request"},
                "401": {"description": "Invalid client"},
                "429": {"description": "Too many requests; see Retry-After"},
            },
        }
    }
}
_cache: dict[str, tuple[float, dict]] = {}
_lock = threading.Lock()


def register_docs(app: Flask) -> None:
    app.register_blueprint(docs)


def base_document(issuer: str) -> dict[str, Any]:
    """The gateway's own part: info, servers, security schemes and the token endpoint."""
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "CR Assistant platform API",
            "version": "v1",
            "description": "Anonymized persistence, Compare History, trends, alerts and QA for the "
            "CR Assistant Agent. Authenticate with OAuth 2.0 client credentials.",
        },
        "servers": [{"url": issuer}],
        "paths": json.loads(json.dumps(GATEWAY_PATHS)),
        "components": {
            "securitySchemes": {
                "oauth2": {
                    "type": "oauth2",
                    "flows": {
                        "clientCredentials": {"tokenUrl": f"{issuer}/oauth/token", "scopes": {}}
                    },
                },
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
            },
        },
        "security": [{"oauth2": []}, {"bearerAuth": []}],
        "tags": [{"name": "oauth", "description": "Access tokens."}],
    }


def merge(document: dict[str, Any], service: str, part: dict[str, Any]) -> None:
    """Add a service's public paths, components and tags to `document` (internal paths stay out;
    a component name already taken by other content is prefixed with the service name)."""
    text = json.dumps(part)
    components = document["components"]
    for kind, items in part.get("components", {}).items():
        for name, value in items.items():
            if name in components.get(kind, {}) and components[kind][name] != value:
                renamed = f"{service.capitalize()}{name}"
                text = text.replace(
                    f'"#/components/{kind}/{name}"', f'"#/components/{kind}/{renamed}"'
                )
    part = json.loads(text)
    for kind, items in part.get("components", {}).items():
        target = components.setdefault(kind, {})
        for name, value in items.items():
            if name in target and target[name] != value:
                name = f"{service.capitalize()}{name}"
            target[name] = value
    for path, operations in part.get("paths", {}).items():
        if not path.startswith("/api/v1/internal/"):
            document["paths"][path] = operations
    known = {tag["name"] for tag in document["tags"]}
    document["tags"] += [tag for tag in part.get("tags", []) if tag["name"] not in known]


def fetch_service_document(app: Flask, service: str) -> dict | None:
    """A service's own /openapi.json (cached briefly); None while it is unreachable."""
    now = time.monotonic()
    with _lock:
        cached = _cache.get(service)
    if cached and now - cached[0] < CACHE_SECONDS:
        return cached[1]
    settings = settings_of(app)
    token = app.extensions["internal_tokens"].token_for(
        Principal("gateway", kind="gateway"),  # no role: /openapi.json needs only a valid token
        service,
    )
    try:
        response = app.extensions["upstream_pool"].request(
            "GET",
            getattr(settings, f"{service}_url") + "/openapi.json",
            headers={"Authorization": f"Bearer {token}"},
            timeout=5.0,
        )
    except UpstreamError:
        return None
    if response.status != 200:
        return None
    document = json.loads(response.data)
    with _lock:
        _cache[service] = (now, document)
    return document


def merged_document(app: Flask) -> dict[str, Any]:
    """The whole API as one document."""
    document = base_document(settings_of(app).gateway_issuer)
    merge(document, "gateway", app.extensions["cr_api"].spec.to_dict())
    for service in SERVICES:
        part = fetch_service_document(app, service)
        if part is not None:
            merge(document, service, part)
    document_erasure(document)
    return document


ERASURE_RESULT = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "engineer_code": {"type": "string"},
        "sessions_deleted": {"type": "integer", "description": "Sessions deleted at the source."},
        "services": {
            "type": "object",
            "description": "Each service that keeps engineer data, and what it did.",
            "additionalProperties": {"type": "string", "enum": ["erased"]},
        },
    },
}


ERASURE_STATUS = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "format": "uuid"},
        "engineer_code": {"type": "string"},
        "status": {"type": "string", "enum": ["pending", "done"]},
        "services": {
            "type": "object",
            "description": "Each service's part, in the order they are asked.",
            "additionalProperties": {
                "type": "object",
                "properties": {
                    "status": {"type": "string", "enum": ["pending", "done"]},
                    "attempts": {"type": "integer"},
                    "last_error": {"type": ["string", "null"]},
                    "done_at": {"type": ["string", "null"], "format": "date-time"},
                },
            },
        },
        "requested_at": {"type": "string", "format": "date-time"},
        "done_at": {"type": ["string", "null"], "format": "date-time"},
    },
}
ERASURE_STATUS_OPERATION = {
    "operationId": "getErasure",
    "summary": "Get an erasure request",
    "description": "Where an erasure stands (admin): `status` pending until every service has "
    "erased, then done; per service its status, attempts, last error and completion time.",
    "parameters": [
        {"name": "erasure_id", "in": "path", "required": True, "schema": {"type": "string"}}
    ],
    "responses": {
        "200": {
            "description": "The erasure request.",
            "content": {"application/json": {"schema": ERASURE_STATUS}},
        },
        "401": {"description": "No valid access token."},
        "403": {"description": "Not an admin."},
        "404": {"description": "No erasure with this id."},
        "429": {"description": "Too many requests; see Retry-After."},
    },
}


def document_erasure(document: dict[str, Any]) -> None:
    """DELETE /engineers/{code} is answered by the gateway itself (gateway/erasure.py), which asks
    every service in turn: the operation the services document gets the gateway's answer, and
    the gateway's GET /erasures/{id} is added."""
    document["paths"]["/api/v1/erasures/{erasure_id}"] = {"get": ERASURE_STATUS_OPERATION}
    operation = document["paths"].get("/api/v1/engineers/{engineer_code}", {}).get("delete")
    if operation is None:
        return
    operation["summary"] = "Erase an engineer everywhere"
    operation["description"] = (
        "Deletes the engineer's sessions, trend projection, rollups and alerts in every service: "
        "200 when all erased at once, else 202 with `Location: /api/v1/erasures/{id}` and the "
        "gateway retries until every service is done. Erasing again answers 200 with 0 deleted."
    )
    operation["responses"]["200"]["content"]["application/json"]["schema"] = ERASURE_RESULT
    operation["responses"]["202"] = {
        "description": "Recorded; not every service could erase yet (see the Location header)."
    }


@docs.get("/api/openapi.json")
def openapi_json():
    return jsonify(merged_document(current_app))


@docs.get("/api/openapi-agent.json")
def openapi_agent_json():
    """The agent's operations only, as OpenAPI 3.1 (gateway/agent_openapi.py)."""
    return jsonify(
        agent_document(merged_document(current_app), settings_of(current_app).gateway_issuer)
    )


SWAGGER_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>CR Assistant API</title>
<link rel="stylesheet" href="{{ url_for('docs.swagger_asset', filename='swagger-ui.css') }}">
</head><body><div id="swagger-ui"></div>
<script src="{{ url_for('docs.swagger_asset', filename='swagger-ui-bundle.js') }}"></script>
<script src="{{ url_for('docs.swagger_asset', filename='swagger-ui-standalone-preset.js') }}"></script>
<script src="{{ url_for('docs.swagger_init') }}"></script>
</body></html>"""

SWAGGER_INIT = """window.onload = function () {
  window.ui = SwaggerUIBundle({url: "%s", dom_id: "#swagger-ui",
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset], layout: "StandaloneLayout"});
};"""


@docs.get("/api/docs")
@docs.get("/api/docs/")
def swagger_ui():
    return render_template_string(SWAGGER_PAGE)


@docs.get("/api/docs/init.js")
def swagger_init():
    return current_app.response_class(
        SWAGGER_INIT % "/api/openapi.json", mimetype="application/javascript"
    )


@docs.get("/api/docs/static/<path:filename>")
def swagger_asset(filename: str):
    return send_from_directory(swagger_ui_path, filename, max_age=3600)
