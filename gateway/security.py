"""Security headers on every gateway response (flask-talisman): HSTS, CSP with frame-ancestors,
nosniff, referrer policy. HTTPS redirects are left to the TLS-terminating proxy."""

from __future__ import annotations

from flask import Flask
from flask_talisman import Talisman

from shared.web import settings_of

CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "img-src": ["'self'", "data:"],
    "style-src": ["'self'", "'unsafe-inline'"],  # Swagger UI and Dash inject inline styles
    "script-src": ["'self'", "'unsafe-inline'", "'unsafe-eval'"],  # Dash's renderer needs eval
    "frame-ancestors": "'none'",
    "form-action": "'self'",
    "base-uri": "'self'",
}


def register_security_headers(app: Flask) -> None:
    settings = settings_of(app)
    Talisman(
        app,
        force_https=False,
        strict_transport_security=True,
        strict_transport_security_max_age=31_536_000,
        content_security_policy=CONTENT_SECURITY_POLICY,
        referrer_policy="strict-origin-when-cross-origin",
        session_cookie_secure=settings.cookie_secure or settings.production,
        session_cookie_http_only=True,
        frame_options="DENY",
    )
