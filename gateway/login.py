"""Browser login of the built-in provider: the sign-in form (CSRF-protected, failed attempts
limited per address and per account at it, one generic error text) and logout (a POST with the
CSRF token)."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_wtf.csrf import CSRFError, generate_csrf, validate_csrf

from gateway import audit, limits, store, users
from gateway.browser import DatabaseSessionInterface
from shared import db
from shared.web import settings_of

login_blueprint = Blueprint("login", __name__, template_folder="templates")
GENERIC_ERROR = "The e-mail or password is not right."
FLOW_KEYS = ("_state_", "ui_next")  # session keys of an authorization flow in progress
LANDING = {"manager": "/dashboard/", "admin": "/dashboard/", "qa_lead": "/qa/"}
# The header that hands a UI service this session's CSRF token, for its sign-out form (a post to
# /logout); the dashboard and the QA UI read it by this name.
CSRF_HEADER = "X-Gateway-CSRF-Token"


def register_login(app: Flask) -> None:
    app.jinja_env.globals["csrf_token"] = generate_csrf
    app.register_blueprint(login_blueprint)


def current_user() -> dict | None:
    """The logged-in user of this browser session (None when nobody is logged in)."""
    user_id = session.get("user_id")
    if not user_id:
        return None
    with db.connection() as conn:
        row = store.get_user(conn, user_id)
    if row is None:
        return None
    return {**row, "auth_time": session.get("auth_time")}


def csrf_ok() -> bool:
    """True when the form carries this session's CSRF token."""
    try:
        validate_csrf(request.form.get("csrf_token", ""))
    except CSRFError:
        return False
    except Exception:
        return False
    return True


def safe_next(target: str | None) -> str | None:
    """Only same-site paths are followed after login (no open redirect); a path with a control
    character (CR/LF would split the Location header) is not followed either."""
    if not target or not target.isprintable():
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def landing_for(user: dict) -> str:
    for role in ("manager", "qa_lead", "admin"):
        if role in user["roles"]:
            return LANDING[role]
    return "/login"


@login_blueprint.route("/login", methods=["GET", "POST"])
def login_page():
    """Show the form; on a valid post, start a fresh session and go on."""
    next_url = safe_next(request.values.get("next"))
    if settings_of(current_app).oidc_issuer:  # people sign in at the corporate provider
        return redirect(url_for("ui.start", next=next_url))
    if request.method == "GET":
        return render_template("login.html", title="Sign in", next=next_url or "", error=None)
    if not csrf_ok():
        wait = limits.spend_bad_form()
        if wait:
            return _refused(next_url, wait)
        return _form(next_url, "The form expired; please sign in again.", 400)
    email = request.form.get("email", "").strip()
    wait = limits.sign_in_wait(email)  # before the password is checked at all
    if wait:
        return _refused(next_url, wait)
    with db.connection() as conn:
        user = users.authenticate(conn, email, request.form.get("password", ""))
    if user is None:
        limits.count_failed_sign_in(email)
        audit.record("login", principal=None, outcome="failure", status=401)
        return _form(next_url, GENERIC_ERROR, 401)
    # A fresh session id (no fixation); a sign-in flow that began before the login (state, nonce
    # and PKCE verifier of the UI's authorization request, where to go next) carries over.
    pending = {key: value for key, value in session.items() if key.startswith(FLOW_KEYS)}
    DatabaseSessionInterface.regenerate(session)
    session.clear()
    session.update(pending)
    session["user_id"] = str(user["user_id"])
    session["auth_time"] = int(time.time())
    audit.record("login", principal=None, actor=str(user["user_id"]), outcome="success", status=302)
    return redirect(next_url or landing_for(user))


def _form(next_url: str | None, error: str, status: int) -> tuple[str, int]:
    return render_template("login.html", title="Sign in", next=next_url or "", error=error), status


def _refused(next_url: str | None, wait: int) -> tuple[str, int, dict[str, str]]:
    """429 with Retry-After: the form again, saying when to try."""
    page, status = _form(next_url, f"Too many attempts; try again in {wait} seconds.", 429)
    return page, status, {"Retry-After": str(wait)}


@login_blueprint.get("/logout")
def confirm_logout():
    """A page with the sign-out button: a link (from another site, say) signs nobody out."""
    return render_template("sign_out.html", title="Sign out")


@login_blueprint.post("/logout")
def logout():
    """End the browser session (the UI tokens revoked), then show the sign-in page. Only a post
    with this session's CSRF token signs out; anything else shows the sign-out page."""
    from gateway.ui import end_ui_session  # ui builds on login: imported here, not at the top

    if not csrf_ok():
        return render_template("sign_out.html", title="Sign out"), 400
    end_ui_session()
    session.clear()
    if settings_of(current_app).oidc_issuer:  # /login would go straight back to the provider
        return render_template("signed_out.html", title="Signed out")
    return redirect(url_for("login.login_page"))
