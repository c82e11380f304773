"""The gateway: the platform's only public entry point (identity, policy, routing, API docs)."""

from __future__ import annotations

import ipaddress
from functools import partial

from flask import Flask, g, request

from gateway import api_keys
from gateway.addresses import register_trusted_proxies
from gateway.api import blp as audit_api
from gateway.bearer import (
    BearerCredentials,
    BearerVerifier,
    IssuerVerifiers,
    RemoteKeySet,
    bearer_token,
)
from gateway.browser import register_browser_sessions
from gateway.cli import register_cli
from gateway.erasure import register_erasure
from gateway.internal_tokens import register_internal_tokens
from gateway.keys import KeyRing, ensure_keys
from gateway.limits import register_rate_limits
from gateway.login import register_login
from gateway.mcp import register_mcp
from gateway.oauth import oauth
from gateway.oidc import create_authorization_server
from gateway.openapi import register_docs
from gateway.proxy import register_proxy
from gateway.resources import accepted_audiences
from gateway.security import register_security_headers
from gateway.ui import register_ui
from shared.config import secret_value
from shared.errors import NotFound
from shared.pseudonyms import external_subject
from shared.web import build_app, register_api, register_database, settings_of


def create_app(config: dict | None = None) -> Flask:
    """Build the gateway app; `config` overrides settings (tests)."""
    app = build_app("gateway", __name__, config)
    register_trusted_proxies(app)
    register_database(app, schema="gateway")
    try:
        register_browser_sessions(app)
        settings = settings_of(app)
        key_ring = KeyRing(
            ensure_keys(settings), activation_delay=settings.gateway_key_activation_seconds
        )
        register_provider(app, key_ring)
        register_internal_tokens(app, key_ring)
        register_bearer_auth(app, key_ring)
        register_login(app)
        register_api(app, [audit_api])
        register_erasure(app)
        register_proxy(app)
        register_ui(app)
        register_docs(app)
        register_mcp(app)
        register_rate_limits(app)
        register_security_headers(app)
        register_metrics_guard(app)
        register_cli(app)
    except BaseException:
        # A start refused by its settings (keys, rate-limit storage) leaves no pool behind,
        # whose threads would otherwise be left to the garbage collector.
        app.extensions["db_pool"].close()
        raise
    return app


def register_provider(app: Flask, key_ring: KeyRing) -> None:
    """The built-in OAuth 2.0 / OpenID Connect provider and its protocol routes."""
    app.extensions["key_ring"] = key_ring
    app.extensions["authorization_server"] = create_authorization_server(app, key_ring)
    app.register_blueprint(oauth)


def register_bearer_auth(app: Flask, key_ring: KeyRing) -> None:
    """Every /api/v1 call needs a valid access token; the caller becomes `g.principal`.
    Tokens of the built-in provider are always accepted; with OIDC_ISSUER set, the external
    provider's too."""
    settings = settings_of(app)
    verifiers = [
        BearerVerifier(
            key_ring,
            issuer=settings.gateway_issuer,
            # one resource server: a token bound to /mcp (RFC 8707) is good for the REST calls
            # its tools make, and an API token for /mcp (docs/agent.md)
            audience=accepted_audiences(settings.gateway_issuer, settings.gateway_audience),
        )
    ]
    if settings.oidc_issuer:
        verifiers.append(
            BearerVerifier(
                RemoteKeySet(settings.oidc_issuer, ttl=settings.oidc_jwks_ttl),
                issuer=settings.oidc_issuer,
                audience=settings.oidc_audience or settings.gateway_audience,
                algorithms=settings.oidc_algorithms,
                roles_claim=settings.oidc_roles_claim,
                teams_claim=settings.oidc_teams_claim,
                require_nbf=False,  # providers commonly leave `nbf` out; checked when present
                subject_pseudonym=partial(
                    external_subject,
                    settings.oidc_issuer,
                    key=secret_value(settings, "pseudonym_key").encode(),
                ),
            )
        )
    verifier = IssuerVerifiers(verifiers)
    app.extensions["bearer_verifier"] = verifier
    app.extensions["builtin_verifier"] = verifiers[0]  # userinfo: only our own users
    # API calls (and /mcp) also take the API keys of `create-api-key`
    credentials = BearerCredentials(verifier, api_keys.verify_api_key, api_keys.is_api_key)
    app.extensions["api_credentials"] = credentials

    @app.before_request
    def authenticate() -> None:
        if request.path.startswith("/api/v1/"):
            g.principal = credentials.verify(bearer_token(request.headers.get("Authorization", "")))


def register_metrics_guard(app: Flask) -> None:
    """The gateway's own /metrics only for callers from METRICS_ALLOW_CIDRS (it faces the world)."""
    networks = [ipaddress.ip_network(cidr) for cidr in settings_of(app).metrics_allow_cidrs]

    @app.before_request
    def guard_metrics() -> None:
        if request.endpoint == "metrics":
            try:
                address = ipaddress.ip_address(request.remote_addr or "")
            except ValueError:
                raise NotFound() from None
            if not any(address in network for network in networks):
                raise NotFound()
