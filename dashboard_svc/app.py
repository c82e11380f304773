"""The management dashboard (Dash, issue 8); owns no tables and reads the API with the user's token."""

from __future__ import annotations

from flask import Flask

from shared.web import build_app


def create_app(config: dict | None = None) -> Flask:
    """Build the dashboard's Flask server; `config` overrides settings (tests)."""
    return build_app("dashboard", __name__, config)
