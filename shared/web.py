"""The Flask app every service starts from: settings, request ids, internal-token auth, problem
errors, JSON access logs, health, readiness and metrics."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable, Iterable

from flask import Flask, Response, current_app, g, jsonify, request
from werkzeug.exceptions import HTTPException, InternalServerError

from shared import db, metrics
from shared.api import OPENAPI_VERSION, Api, Blueprint
from shared.config import Settings, load_settings, secret_value, service_database_url
from shared.errors import (
    PROBLEM_MEDIA_TYPE,
    Forbidden,
    Unauthorized,
    UnsupportedMediaType,
    problem_body,
)
from shared.logging import configure_logging
from shared.tokens import SERVICE_CALLS, GatewayKeys, InternalTokenVerifier, InvalidToken

PROBE_ENDPOINTS = frozenset({"healthz", "readyz", "metrics"})
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
access_log = logging.getLogger("cr.access")


def settings_of(app: Flask) -> Settings:
    """The parsed settings of an app."""
    return app.extensions["settings"]


def build_app(service: str, import_name: str, config: dict | None = None) -> Flask:
    """A Flask app for `service` with the project's cross-cutting behaviour registered."""
    settings = load_settings(**(config or {}))
    app = Flask(import_name)
    app.extensions["settings"] = settings
    app.extensions["service"] = service
    app.extensions["ready_checks"] = []
    app.config.update(
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        JSON_SORT_KEYS=False,
        API_TITLE=f"CR Assistant {service}",
        API_VERSION="v1",
        OPENAPI_VERSION=OPENAPI_VERSION,
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
    )
    app.json.sort_keys = False
    configure_logging(service, settings.log_level)
    register_request_id(app)
    register_access_log(app, service)
    register_errors(app)
    register_probes(app, service)
    return app


def register_request_id(app: Flask) -> None:
    """Take the gateway's X-Request-ID (when well-formed) or make one; echo it on the response."""

    @app.before_request
    def assign_request_id() -> None:
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        g.started = time.perf_counter()

    @app.after_request
    def echo_request_id(response: Response) -> Response:
        response.headers["X-Request-ID"] = g.get("request_id", "")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Cache-Control", "no-store")
        return response


def register_access_log(app: Flask, service: str) -> None:
    """One JSON line and one metric sample per request, keyed by route pattern, never by raw URL."""

    @app.after_request
    def log_request(response: Response) -> Response:
        route = request.url_rule.rule if request.url_rule else "unmatched"
        seconds = time.perf_counter() - g.get("started", time.perf_counter())
        metrics.observe_request(service, request.method, route, response.status_code, seconds)
        if request.endpoint not in PROBE_ENDPOINTS:
            access_log.log(
                _access_level(route),
                "request",
                extra={
                    "method": request.method,
                    "route": route,
                    "status": response.status_code,
                    "duration_ms": round(seconds * 1000, 2),
                },
            )
        return response


def _access_level(route: str) -> int:
    """Internal reads log at debug: the trends worker polls the change feed every second, and a
    person watching the log should see the requests people and agents make."""
    internal_read = request.method == "GET" and route.startswith("/api/v1/internal/")
    return logging.DEBUG if internal_read else logging.INFO


def register_errors(app: Flask) -> None:
    """Every error is problem+json; unexpected ones are logged and answered 500 without details."""

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.response is not None:  # an exception that carries its finished response
            return error.response
        headers = dict(getattr(error, "extra_headers", {}) or {})
        headers["Content-Type"] = PROBLEM_MEDIA_TYPE
        return problem_body(error), error.code, headers

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        logging.getLogger("cr.error").exception("unhandled error: %s", type(error).__name__)
        return http_error(InternalServerError())


def register_probes(app: Flask, service: str) -> None:
    """`/healthz` (alive), `/readyz` (every ready check passes) and `/metrics`, without a token."""

    @app.get("/healthz")
    def healthz():
        return jsonify(status="ok", service=service)

    @app.get("/readyz")
    def readyz():
        failing = [name for name, check in app.extensions["ready_checks"] if not check()]
        if failing:
            body = {"status": "unavailable", "service": service, "failing": failing}
            return jsonify(body), 503
        details = ready_details(app)
        return jsonify(status="ready", service=service, **({"details": details} if details else {}))

    @app.get("/metrics", endpoint="metrics")
    def metrics_endpoint():
        if "db_pool" in app.extensions:
            metrics.record_pool(service, app.extensions["db_pool"].get_stats())
        for refresh in app.extensions.get("metrics_refreshers", ()):
            refresh()
        payload, headers = metrics.exposition()
        return Response(payload, headers=headers)


def add_metrics_refresher(app: Flask, refresh: Callable[[], None]) -> None:
    """Call `refresh()` before each /metrics answer (gauges read from the database at scrape time)."""
    app.extensions.setdefault("metrics_refreshers", []).append(refresh)


def add_ready_check(app: Flask, name: str, check: Callable[[], bool]) -> None:
    """Make `/readyz` depend on `check()` returning True."""
    app.extensions["ready_checks"].append((name, check))


def add_ready_detail(app: Flask, name: str, detail: Callable[[], dict]) -> None:
    """Show `detail()` under `details.<name>` of a ready `/readyz` answer, without making
    readiness depend on it (e.g. how far a projection lags)."""
    app.extensions.setdefault("ready_details", []).append((name, detail))


def ready_details(app: Flask) -> dict[str, dict]:
    """The details of a ready answer; one that cannot be read now is left out."""
    details = {}
    for name, detail in app.extensions.get("ready_details", ()):
        try:
            details[name] = detail()
        except Exception:
            logging.getLogger("cr.ready").warning("readiness detail %s unavailable", name)
    return details


def register_database(app: Flask, schema: str) -> None:
    """Open this service's pool (its own login role, its own schema first) and add it to /readyz."""
    settings = settings_of(app)
    service = app.extensions["service"]
    app.extensions["db_pool"] = db.open_pool(
        service_database_url(settings, service),
        schema=schema,
        min_size=settings.db_pool_min,
        max_size=settings.db_pool_max,
        statement_timeout_ms=settings.db_statement_timeout_ms,
        name=f"cr-{service}",
        timeout=settings.db_pool_timeout,
    )
    add_ready_check(app, "database", db.database_ready)


def register_internal_auth(app: Flask, raw_body_endpoints: Iterable[str] = ()) -> None:
    """Every route but the probes needs an internal token for this service (the gateway's, or a
    permitted service call's, which reaches only the routes that declare its roles); JSON bodies
    must say so."""
    verifier = internal_token_verifier(settings_of(app), app.extensions["service"])
    raw_body = frozenset(raw_body_endpoints)

    @app.before_request
    def authenticate() -> None:
        if request.endpoint in PROBE_ENDPOINTS:
            return
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized(
                "This service is reached through the gateway only.",
                headers={"WWW-Authenticate": "Bearer"},
            )
        try:
            g.principal, request_id = verifier.verify(token.strip())
        except InvalidToken:
            raise Unauthorized(
                "The internal token is not valid.", headers={"WWW-Authenticate": "Bearer"}
            ) from None
        if g.principal.kind == "service" and not _declares_a_role_of(g.principal):
            raise Forbidden("This service call may not use this route.")
        if _REQUEST_ID.match(request_id):
            g.request_id = request_id
        if (
            request.method in {"POST", "PUT", "PATCH"}
            and request.endpoint not in raw_body
            and _has_body()
            and not request.is_json
        ):
            raise UnsupportedMediaType("Send the body as application/json.")


def internal_token_verifier(settings: Settings, service: str) -> InternalTokenVerifier:
    """The verifier of `service`'s internal tokens: the gateway's published keys and the keys of
    the service calls SERVICE_CALLS permits to it (a missing required key stops production)."""
    source = settings.internal_token_jwks or settings.gateway_url.rstrip("/") + "/oauth/jwks"
    call_secrets = {}
    for call in SERVICE_CALLS:
        if call.target == service:
            secret = service_call_secret(settings, call)
            if secret:
                call_secrets[call.caller] = secret
    return InternalTokenVerifier(service, GatewayKeys(source), call_secrets)


def service_call_secret(settings: Settings, call) -> str:
    """The key of a permitted service call; "" for an optional call left unset in production."""
    if not call.required and settings.production and not settings.values.get(call.key_setting):
        return ""
    return secret_value(settings, call.key_setting)


def _declares_a_role_of(principal) -> bool:
    """True when this request's view declares (with `roles(...)`) a role the principal holds."""
    view = current_app.view_functions.get(request.endpoint)
    handler = getattr(getattr(view, "view_class", None), request.method.lower(), view)
    return bool(principal.roles.intersection(getattr(handler, "_cr_access", ())))


def _has_body() -> bool:
    return (
        bool(request.content_length)
        or "chunked" in request.headers.get("Transfer-Encoding", "").lower()
    )


def register_api(app: Flask, blueprints: Iterable[Blueprint], url_prefix: str = "/api/v1") -> Api:
    """Mount the service's blueprints under /api/v1 and serve its OpenAPI document."""
    api = Api(app, spec_kwargs={"servers": [{"url": "/"}]})
    for blueprint in blueprints:
        api.register_blueprint(blueprint, url_prefix=url_prefix + (blueprint.url_prefix or ""))
    app.extensions["cr_api"] = api
    return api
