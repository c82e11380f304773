"""Security headers on every gateway response: HSTS, frame options, nosniff and the referrer policy
(flask-talisman), and the Content-Security-Policy, which the gateway writes itself so that a UI
behind it can add the hashes of its own inline scripts. HTTPS redirects are left to the
TLS-terminating proxy."""

from __future__ import annotations

import re

from flask import Flask, Response
from flask_talisman import Talisman

from shared.web import settings_of

CONTENT_SECURITY_POLICY = {
    "default-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    # Dash, Plotly, AG Grid and Swagger UI set styles inline, and the QA UI's small bar charts are
    # style attributes: styles stay inline-able (no script runs from a style).
    "style-src": ["'self'", "'unsafe-inline'"],
    # Scripts only from the gateway's origin, plus the hashes a UI names (Dash's start-up line).
    "script-src": ["'self'"],
    "object-src": ["'none'"],
    "frame-ancestors": ["'none'"],
    "form-action": ["'self'"],
    "base-uri": ["'self'"],
}
SCRIPT_HASH = re.compile(r"'sha(?:256|384|512)-[A-Za-z0-9+/]+={0,2}'")


def content_security_policy(upstream_policy: str | None = None) -> str:
    """The gateway's policy. A response from a service behind the gateway that sends a policy of
    its own adds the script hashes named in its script-src, and nothing else."""
    directives = dict(CONTENT_SECURITY_POLICY)
    hashes = sorted(set(SCRIPT_HASH.findall(_script_src(upstream_policy or ""))))
    directives["script-src"] = [*directives["script-src"], *hashes]
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives.items())


def _script_src(policy: str) -> str:
    for directive in policy.split(";"):
        name, _, sources = directive.strip().partition(" ")
        if name.lower() == "script-src":
            return sources
    return ""


def register_security_headers(app: Flask) -> None:
    settings = settings_of(app)
    Talisman(
        app,
        force_https=False,
        strict_transport_security=True,
        strict_transport_security_max_age=31_536_000,
        content_security_policy=None,  # set below, with the hashes of the UIs' inline scripts
        referrer_policy="strict-origin-when-cross-origin",
        session_cookie_secure=settings.cookie_secure or settings.production,
        session_cookie_http_only=True,
        frame_options="DENY",
    )

    @app.after_request
    def set_content_security_policy(response: Response) -> Response:
        upstream = response.headers.get("Content-Security-Policy")
        response.headers["Content-Security-Policy"] = content_security_policy(upstream)
        return response
