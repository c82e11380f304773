"""The QA service: validation checks, the validation log, error summary and reviews (issue 7)."""

from __future__ import annotations

from flask import Flask

from shared.web import build_app, register_database, register_internal_auth


def create_app(config: dict | None = None) -> Flask:
    """Build the QA app; `config` overrides settings (tests)."""
    app = build_app("qa", __name__, config)
    register_database(app, schema="qa")
    register_internal_auth(app)
    return app
