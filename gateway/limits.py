"""Abuse limits at the gateway, counted in moving windows: in Redis (the `limits` library) when
REDIS_URL is set (every replica sees the same counts), else in this process (gateway.windows),
which production accepts only with RATE_LIMIT_STORAGE=memory (a single replica).

Sign-in and client authentication count *failures* only, per client address and per account or
client at that address, and the budget is checked before a password or secret is: whoever has the
right one from another address is never refused because of someone else's failures. API calls and
engineer look-ups count every call per authenticated caller."""

from __future__ import annotations

import functools
import hashlib
import hmac
import ipaddress
import logging
import math
import time
from collections.abc import Callable

from flask import Flask, Response, current_app, g, jsonify, request
from limits import RateLimitItem, parse
from limits.errors import StorageError
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from gateway import lookups, oidc
from gateway.windows import MovingWindows
from shared.config import ConfigError, Settings, secret_value
from shared.errors import PROBLEM_MEDIA_TYPE, TooManyRequests, problem_body
from shared.web import settings_of

log = logging.getLogger("cr.limits")

# Views limited per authenticated caller (the bearer check has set g.principal before them).
API_ENDPOINTS = frozenset({"proxy.forward", "erasure.erase_engineer", "erasure.erasure_status"})
# Views that authenticate an OAuth client by its secret.
CLIENT_AUTH_ENDPOINTS = ("oauth.issue_token", "oauth.revoke_token")
REGISTRATION_ENDPOINT = "oauth.register_client"
UNKNOWN_CLIENT = "unknown-client"


class RateLimits:
    """The gateway's limits and their counters. Counter keys are keyed hashes: neither a client
    address nor what someone typed is kept in the storage (Redis included) or in a log line."""

    def __init__(self, storage_uri: str, key_secret: bytes, limits: dict[str, str]) -> None:
        self.windows = windows(storage_uri)
        self.key_secret = key_secret
        self.limits: dict[str, RateLimitItem] = {name: parse(text) for name, text in limits.items()}

    def key(self, *parts: str) -> str:
        """The counter key of these parts (a keyed hash, the same on every replica)."""
        message = "\x1f".join(parts).encode()
        return hmac.new(self.key_secret, message, hashlib.sha256).hexdigest()[:32]

    def wait(self, name: str, key: str, cost: int = 1) -> int | None:
        """Seconds until `key` has room again in limit `name` (for `cost` events); None when it
        has room now."""
        limit = self.limits[name]
        try:
            if self.windows.test(limit, name, key, cost=cost):
                return None
            reset_at = self.windows.get_window_stats(limit, name, key).reset_time
        except StorageError:
            _storage_unreachable(name)
            return None
        return max(1, math.ceil(reset_at - time.time()))

    def spend(self, name: str, key: str, cost: int = 1) -> int | None:
        """Count `cost` events against limit `name` if there is room for all of them (else none
        is counted, and the answer is the seconds to wait)."""
        try:
            if self.windows.hit(self.limits[name], name, key, cost=cost):
                return None
        except StorageError:
            _storage_unreachable(name)
            return None
        return self.wait(name, key, cost) or 1

    def count(self, name: str, key: str) -> None:
        """Count one failure against limit `name` (refusals are decided by `wait` beforehand)."""
        try:
            self.windows.hit(self.limits[name], name, key)
        except StorageError:
            _storage_unreachable(name)


def windows(storage_uri: str) -> MovingWindows | MovingWindowRateLimiter:
    """The moving windows the limits count in: this process's own for `memory://`, else limits'
    in that storage (wrap_exceptions: a storage that cannot be reached raises limits'
    StorageError, and the request goes on; a rate limit is not worth an outage)."""
    if storage_uri == "memory://":
        return MovingWindows()
    return MovingWindowRateLimiter(storage_from_string(storage_uri, wrap_exceptions=True))


def _storage_unreachable(name: str) -> None:
    log.warning("rate-limit storage unreachable; not counted", extra={"limit": name})


def rate_limits() -> RateLimits:
    return current_app.extensions["rate_limits"]


def client_address() -> str:
    """The caller's address as the limits count it: an IPv4 address, or the /64 of an IPv6 one
    (what one host usually holds). `request.remote_addr` is the proxy's client only behind a
    trusted proxy (gateway.addresses)."""
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return "unknown"
    if address.version == 6:
        if address.ipv4_mapped:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def refused(name: str, wait: int, **known: str | None) -> None:
    """Log a refusal by limit name, with known ids only (never an address or a typed value)."""
    log.warning("rate limit reached", extra={"limit": name, "retry_after": wait, **known})


def too_many_requests(wait: int) -> Response:
    """429 as problem details with the seconds until the window frees up."""
    error = TooManyRequests("Too many requests; slow down.", headers={"Retry-After": str(wait)})
    response = jsonify(problem_body(error))
    response.status_code = 429
    response.headers.update({"Retry-After": str(wait), "Content-Type": PROBLEM_MEDIA_TYPE})
    return response


# Sign-in (the login form of gateway.login) --------------------------------------------------------


def _account(email: str) -> str:
    return email.strip().lower()


def sign_in_wait(email: str) -> int | None:
    """Seconds this address must wait before its next password check for `email` (None: go on)."""
    limits, address = rate_limits(), client_address()
    wait = limits.wait("login", limits.key(address)) or limits.wait(
        "login_account", limits.key(address, _account(email))
    )
    if wait:
        refused("login", wait)
    return wait


def count_failed_sign_in(email: str) -> None:
    """A wrong e-mail or password: counted for this address and for the account at it."""
    limits, address = rate_limits(), client_address()
    limits.count("login", limits.key(address))
    limits.count("login_account", limits.key(address, _account(email)))


def spend_bad_form() -> int | None:
    """A sign-in form without this session's CSRF token: counted for this address on its own
    (a cross-site page can make a browser send such posts, so they never hold back a real
    sign-in); the seconds to wait once the address has sent too many."""
    limits = rate_limits()
    wait = limits.spend("login_form", limits.key(client_address()))
    if wait:
        refused("login_form", wait)
    return wait


# Client authentication (token and revocation endpoints) --------------------------------------------


def claimed_client() -> str:
    """The client this request names, if it exists; UNKNOWN_CLIENT for anything else (what a
    stranger typed is never kept)."""
    client_id = (request.authorization.username if request.authorization else None) or (
        request.form.get("client_id") or ""
    )
    if client_id and oidc.query_client(client_id) is not None:
        return client_id
    return UNKNOWN_CLIENT


def failed_client_authentication(response: Response) -> bool:
    """True when the answer says the client's credentials were not accepted (RFC 6749 5.2)."""
    if response.status_code not in (400, 401):
        return False
    body = response.get_json(silent=True)
    return isinstance(body, dict) and body.get("error") == "invalid_client"


def guard_client_authentication(view: Callable) -> Callable:
    """`view` checked against the failure budgets of this address and of the named client at it
    before any secret is, its failed client authentications counted after."""

    @functools.wraps(view)
    def guarded(*args, **kwargs):
        limits, address, client_id = rate_limits(), client_address(), claimed_client()
        per_address, per_client = limits.key(address), limits.key(address, client_id)
        wait = limits.wait("token", per_address) or limits.wait("token_client", per_client)
        if wait:
            refused("token", wait, client_id=None if client_id == UNKNOWN_CLIENT else client_id)
            return too_many_requests(wait)
        response = current_app.make_response(view(*args, **kwargs))
        if failed_client_authentication(response):
            limits.count("token", per_address)
            limits.count("token_client", per_client)
        return response

    return guarded


def guard_registration(view: Callable) -> Callable:
    """`view` (RFC 7591 registration, open to anyone while it is on) allowed RATE_LIMIT_REGISTER
    calls per address: each registration writes a client row, so none may flood the table."""

    @functools.wraps(view)
    def guarded(*args, **kwargs):
        limits = rate_limits()
        wait = limits.spend("register", limits.key(client_address()))
        if wait:
            refused("register", wait)
            return too_many_requests(wait)
        return view(*args, **kwargs)

    return guarded


# API calls -----------------------------------------------------------------------------------------


def limit_api_calls() -> Response | None:
    """Every API call counts for its caller; a call that turns names into pseudonyms also counts
    each name against the lower look-up limit, so that no caller can test many names quickly (a
    batch with more names than the caller has room for is refused whole, nothing looked up)."""
    principal = g.get("principal")
    if request.endpoint not in API_ENDPOINTS or principal is None:
        return None
    limits = rate_limits()
    caller = limits.key(principal.subject)
    names = lookups.names_in_request()
    for name, cost in (("lookup", names), ("api", 1)) if names else (("api", 1),):
        wait = limits.spend(name, caller, cost)
        if wait:
            refused(name, wait, caller=principal.subject)
            return too_many_requests(wait)
    return None


def storage_uri(settings: Settings) -> str:
    """Where the counters live. Counted in memory, each replica allows every limit once more, so
    production needs REDIS_URL, or RATE_LIMIT_STORAGE=memory to say the gateway runs alone; a
    gateway that cannot tell refuses to start rather than enforce a multiple of its limits."""
    if settings.rate_limit_storage == "memory":
        return "memory://"
    if settings.redis_url:
        return settings.redis_url
    if settings.production:
        raise ConfigError(
            "REDIS_URL must be set when CR_ENV=production (the gateway's replicas share their "
            "rate-limit counts there); a gateway that runs as one replica sets "
            "RATE_LIMIT_STORAGE=memory instead"
        )
    return "memory://"


def register_rate_limits(app: Flask) -> RateLimits:
    """The limits of this gateway: the failure budgets of the token and revocation endpoints (the
    login form checks its own, in gateway.login), and the per-caller API limits."""
    settings = settings_of(app)
    limits = RateLimits(
        storage_uri(settings),
        secret_value(settings, "session_secret").encode(),
        {
            "login": settings.rate_limit_login,
            "login_form": settings.rate_limit_login,
            "login_account": settings.rate_limit_login_account,
            "token": settings.rate_limit_token,
            "token_client": settings.rate_limit_token_client,
            "register": settings.rate_limit_register,
            "api": settings.rate_limit_api,
            "lookup": settings.rate_limit_lookup,
        },
    )
    app.extensions["rate_limits"] = limits
    for endpoint in CLIENT_AUTH_ENDPOINTS:
        app.view_functions[endpoint] = guard_client_authentication(app.view_functions[endpoint])
    if REGISTRATION_ENDPOINT in app.view_functions:
        app.view_functions[REGISTRATION_ENDPOINT] = guard_registration(
            app.view_functions[REGISTRATION_ENDPOINT]
        )
    app.before_request(limit_api_calls)
    return limits
