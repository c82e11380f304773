"""The trends service: Compare History, rollups, threshold rules and alerts (built out in issue 6)."""

from __future__ import annotations

from flask import Flask

from shared.web import build_app, register_database, register_internal_auth


def create_app(config: dict | None = None) -> Flask:
    """Build the trends app; `config` overrides settings (tests)."""
    app = build_app("trends", __name__, config)
    register_database(app, schema="trends")
    register_internal_auth(app)
    return app
