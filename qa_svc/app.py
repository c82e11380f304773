"""The QA service: the agent's validation checks, the validation log, Show Validation Log, the
review workflow and its UI."""

from __future__ import annotations

from flask import Flask

from qa_svc import quality_api, workflow_api
from qa_svc.api import blp
from qa_svc.privacy import register_text_guard
from qa_svc.ui import FORM_ENDPOINTS, register_ui
from shared.web import build_app, register_api, register_database, register_internal_auth


def create_app(config: dict | None = None) -> Flask:
    """Build the QA app; `config` overrides settings (tests)."""
    app = build_app("qa", __name__, config)
    register_database(app, schema="qa")
    register_internal_auth(app, raw_body_endpoints=FORM_ENDPOINTS)
    register_text_guard(app)
    register_api(app, [blp, quality_api.blp, workflow_api.blp])
    register_ui(app)
    return app
