"""The management dashboard (Dash, pages under /dashboard/) on its own Flask server. It owns no
tables: every figure comes from the public API, called with the signed-in user's own token."""

from __future__ import annotations

from pathlib import Path

import dash
import flask_bootstrap
from flask import Flask, g, send_from_directory

from dashboard_svc import downloads, layout, roster
from dashboard_svc.pages import PAGES
from shared.errors import Forbidden
from shared.web import build_app, register_internal_auth

BASE = "/dashboard/"
TITLE = "CR Assistant — Dashboard"
ROLES = ("manager", "qa_lead", "admin")
BOOTSTRAP_CSS = Path(flask_bootstrap.__file__).parent / "static" / "bootstrap5" / "css"


def create_app(config: dict | None = None) -> Flask:
    """Build the dashboard's Flask server with the Dash app mounted at /dashboard/."""
    server = build_app("dashboard", __name__, config)
    register_internal_auth(server)
    register_role_check(server)
    register_vendor_assets(server)
    server.register_blueprint(downloads.downloads)
    server.register_blueprint(roster.roster)
    create_dash(server)
    return server


def register_role_check(server: Flask) -> None:
    """The gateway lets only dashboard roles through; the dashboard checks again."""

    @server.before_request
    def require_dashboard_role() -> None:
        principal = getattr(g, "principal", None)
        if principal is not None and not principal.has_role(*ROLES):
            raise Forbidden("Your role does not open the dashboard.")


def register_vendor_assets(server: Flask) -> None:
    """Bootstrap's CSS from its Python package (no CDN: the dashboard works offline)."""

    @server.get(f"{BASE}vendor/bootstrap.min.css")
    def bootstrap_css():
        return send_from_directory(BOOTSTRAP_CSS, "bootstrap.min.css", max_age=86_400)


def create_dash(server: Flask) -> dash.Dash:
    app = dash.Dash(
        "dashboard_svc",
        server=server,
        url_base_pathname=BASE,
        use_pages=True,
        pages_folder="",
        title=TITLE,
        update_title=None,
        assets_folder=str(Path(__file__).parent / "assets"),
        external_stylesheets=[f"{BASE}vendor/bootstrap.min.css"],
        suppress_callback_exceptions=True,  # page components appear only on their page
        serve_locally=True,
    )
    for page in PAGES:
        dash.register_page(
            page.__name__,
            path=page.PATH,
            path_template=getattr(page, "PATH_TEMPLATE", None),
            name=page.NAME,
            title=f"{TITLE} · {page.NAME}",
            order=page.ORDER,
            layout=page.layout,
        )
        page.register_callbacks(app)
    app.layout = layout.shell
    layout.register_callbacks(app)
    register_script_hashes(server, app)
    return app


def register_script_hashes(server: Flask, app: dash.Dash) -> None:
    """Name Dash's inline scripts by hash in a Content-Security-Policy of the dashboard's own; the
    gateway adds these hashes to its policy, so no page needs 'unsafe-inline' scripts. Taken on
    every response: Dash pages adds its clientside callback (an inline script) on the first
    request, and hashing the few short scripts costs microseconds."""

    @server.after_request
    def name_inline_scripts(response):
        hashes = app.csp_hashes()
        response.headers["Content-Security-Policy"] = " ".join(["script-src", "'self'", *hashes])
        return response
