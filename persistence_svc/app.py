"""The persistence service: anonymized sessions, pseudonyms, erasure and the change feed."""

from __future__ import annotations

from flask import Flask

from persistence_svc import imports
from persistence_svc.api import blp, internal
from persistence_svc.cli import register_cli
from shared.config import secret_value
from shared.web import (
    build_app,
    register_api,
    register_database,
    register_internal_auth,
    settings_of,
)


def create_app(config: dict | None = None) -> Flask:
    """Build the persistence app; `config` overrides settings (tests)."""
    app = build_app("persistence", __name__, config)
    register_pseudonym_key(app)
    register_database(app, schema="persistence")
    register_internal_auth(app, raw_body_endpoints=["sessions.Imports"])
    register_api(app, [blp, internal])
    register_cli(app)
    register_import_workers(app)
    return app


def register_pseudonym_key(app: Flask) -> None:
    """Load the HMAC key once; production refuses to start without it."""
    app.extensions["pseudonym_key"] = secret_value(settings_of(app), "pseudonym_key").encode()


def register_import_workers(app: Flask) -> None:
    """Start the fork server of the import validation workers, unless the service validates
    imports itself (IMPORT_WORKERS=1, or one core)."""
    if imports.validation_workers(settings_of(app).import_workers) > 1:
        imports.start_worker_server()
