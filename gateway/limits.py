"""Abuse limits at the gateway (flask-limiter): sign-in and token requests per IP and per client,
API calls per caller; shared through REDIS_URL when several gateway replicas run."""

from __future__ import annotations

import threading
import time
import weakref

from flask import Flask, Response, g, jsonify, request
from flask_limiter import Limiter, RequestLimit
from flask_limiter.util import get_remote_address
from limits.storage import MemoryStorage

from gateway import lookups
from shared.errors import PROBLEM_MEDIA_TYPE, TooManyRequests, problem_body
from shared.web import settings_of


class PrunedMemoryStorage(MemoryStorage):
    """limits' in-memory storage (one gateway process), its expired entries pruned once a second by
    one thread. The stock storage starts a new 10 ms timer thread on a hit whenever the last one
    has ended: about 0.3 ms per API call when calls come more than 10 ms apart, a large part of the
    gateway's own time at concurrency 1. Pruning only frees memory; limits are exact either way."""

    STORAGE_SCHEME = ["cr-memory"]
    PRUNE_SECONDS = 1.0

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        threading.Thread(
            target=_prune_while_alive,
            args=(weakref.ref(self),),
            name="rate-limit-prune",
            daemon=True,
        ).start()

    def _MemoryStorage__schedule_expiry(self) -> None:  # the stock per-hit timer
        """Nothing to schedule per hit: the pruning thread runs on its own."""


def _prune_while_alive(storage_ref: weakref.ref) -> None:
    while (storage := storage_ref()) is not None:
        storage._MemoryStorage__expire_events()
        del storage  # no strong reference while sleeping: the storage can be collected
        time.sleep(PrunedMemoryStorage.PRUNE_SECONDS)


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
        storage_uri=settings.redis_url or "cr-memory://",
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
    api_view = limiter.limit(settings.rate_limit_api, key_func=_caller)(views["proxy.forward"])
    # A name in, its pseudonym out (a look-up, or Compare History by name): limited on its own so
    # that no caller can test many names quickly.
    views["proxy.forward"] = limiter.limit(
        settings.rate_limit_lookup,
        key_func=_caller,
        scope="engineer-lookup",
        exempt_when=lambda: not lookups.names_an_engineer(),
    )(api_view)
    return limiter
