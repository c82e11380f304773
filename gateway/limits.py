"""Abuse limits at the gateway (flask-limiter): sign-in and token requests per IP and per client,
API calls per caller; shared through REDIS_URL when several gateway replicas run."""

from __future__ import annotations

from flask import Flask, g, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from shared.web import settings_of


def _client_id() -> str:
    """The client named by HTTP Basic auth or the form, for per-client token limits."""
    if request.authorization and request.authorization.username:
        return "client:" + request.authorization.username
    return "client:" + request.form.get("client_id", "-")


def _caller() -> str:
    principal = g.get("principal")
    return "caller:" + principal.subject if principal else "ip:" + get_remote_address()


def register_rate_limits(app: Flask) -> Limiter:
    """Attach the limits to the login form, the token endpoint and the API proxy (429 with
    Retry-After when exceeded)."""
    settings = settings_of(app)
    limiter = Limiter(
        key_func=get_remote_address,
        app=app,
        storage_uri=settings.redis_url or "memory://",
        headers_enabled=True,
        strategy="moving-window",
        swallow_errors=True,
    )
    views = app.view_functions
    views["login.login_page"] = limiter.limit(settings.rate_limit_login, methods=["POST"])(
        views["login.login_page"]
    )
    token_view = limiter.limit(settings.rate_limit_token)(views["oauth.issue_token"])
    views["oauth.issue_token"] = limiter.limit(settings.rate_limit_token, key_func=_client_id)(
        token_view
    )
    views["proxy.forward"] = limiter.limit(settings.rate_limit_api, key_func=_caller)(
        views["proxy.forward"]
    )
    return limiter
