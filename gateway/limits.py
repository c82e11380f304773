"""Abuse limits at the gateway (flask-limiter): sign-in and token requests per IP and per client,
API calls per caller; shared through REDIS_URL when several gateway replicas run."""

from __future__ import annotations

import time

from flask import Flask, Response, g, jsonify, request
from flask_limiter import Limiter, RequestLimit
from flask_limiter.util import get_remote_address

from shared.errors import PROBLEM_MEDIA_TYPE, TooManyRequests, problem_body
from shared.web import settings_of


def _client_id() -> str:
    """The client named by HTTP Basic auth or the form, for per-client token limits."""
    if request.authorization and request.authorization.username:
        return "client:" + request.authorization.username
    return "client:" + request.form.get("client_id", "-")


def _caller() -> str:
    principal = g.get("principal")
    return "caller:" + principal.subject if principal else "ip:" + get_remote_address()


def _too_many_requests(limit: RequestLimit) -> Response:
    """429 as problem details with the seconds until the window frees up."""
    retry_after = max(1, limit.reset_at - int(time.time()))
    error = TooManyRequests(
        "Too many requests; slow down.", headers={"Retry-After": str(retry_after)}
    )
    response = jsonify(problem_body(error))
    response.status_code = 429
    response.headers.update({"Retry-After": str(retry_after), "Content-Type": PROBLEM_MEDIA_TYPE})
    return response


def register_rate_limits(app: Flask) -> Limiter:
    """Attach the limits to the login form, the token endpoint and the API proxy (429 with
    Retry-After when exceeded)."""
    settings = settings_of(app)
    limiter = Limiter(
        key_func=get_remote_address,
        app=app,
        storage_uri=settings.redis_url or "memory://",
        headers_enabled=False,
        strategy="moving-window",
        swallow_errors=True,
        on_breach=_too_many_requests,
    )
    views = app.view_functions
    views["login.login_page"] = limiter.limit(settings.rate_limit_login, methods=["POST"])(
        views["login.login_page"]
    )
    token_view = limiter.limit(settings.rate_limit_token)(views["oauth.issue_token"])
    views["oauth.issue_token"] = limiter.limit(settings.rate_limit_token, key_func=_client_id)(
        token_view
    )
    views["erasure.erase_engineer"] = limiter.limit(settings.rate_limit_api, key_func=_caller)(
        views["erasure.erase_engineer"]
    )
    views["proxy.forward"] = limiter.limit(settings.rate_limit_api, key_func=_caller)(
        views["proxy.forward"]
    )
    return limiter
