"""The browser UIs behind the gateway (backend-for-frontend): the dashboard at `/dashboard/` and the
QA UI at `/qa/`.

The gateway is the OAuth client of the UIs. A browser without UI tokens is sent through a real
authorization-code flow with PKCE, state and nonce (Authlib's client, from the provider's discovery
document): against the gateway's own provider by default, against the corporate provider when
OIDC_ISSUER is set. The tokens stay in the server-side browser session; each UI request is forwarded
with an internal token for the user (roles, teams) and the user's own access token in
`X-Forwarded-Access-Token`, so the API's team scope is the UI's team scope.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import urlsplit

from authlib.common.errors import AuthlibBaseError
from authlib.integrations.flask_client import OAuth
from authlib.integrations.requests_client import OAuth2Session
from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_wtf.csrf import generate_csrf
from werkzeug.exceptions import HTTPException

from gateway import audit, login, store
from gateway.clients import _hasher
from gateway.proxy import forward_to, stream_back, unsafe_path
from shared import db
from shared.config import secret_value
from shared.tokens import Principal
from shared.web import settings_of

ui = Blueprint("ui", __name__, template_folder="templates")

# UI path prefix -> (the service behind it, roles that may open it)
UIS = {
    "dashboard": ("dashboard", ("manager", "qa_lead", "admin")),
    "qa": ("qa", ("qa_lead", "admin")),
}
UI_CLIENT_ID = "cr-ui"
SCOPE = "openid profile email"
REFRESH_MARGIN = 30  # seconds: an access token this close to expiry is refreshed first
TOKENS_KEY = "ui_tokens"


def register_ui(app: Flask) -> None:
    """The UI proxy routes and the OAuth client that gets the users' tokens."""
    settings = settings_of(app)
    registry = OAuth(app)
    if settings.oidc_issuer:
        issuer = settings.oidc_issuer.rstrip("/")
        client_id, client_secret = (
            settings.oidc_client_id,
            secret_value(settings, "oidc_client_secret"),
        )
    else:
        issuer = settings.gateway_issuer.rstrip("/")
        client_id, client_secret = UI_CLIENT_ID, _ui_client_secret(app)
        _register_ui_client(app, client_secret, f"{issuer}/ui/callback")
    registry.register(
        "provider",
        client_id=client_id,
        client_secret=client_secret,
        server_metadata_url=f"{issuer}/.well-known/openid-configuration",
        client_kwargs={"scope": SCOPE, "code_challenge_method": "S256"},
    )
    app.extensions["ui_oauth"] = registry
    app.register_blueprint(ui)


def _ui_client_secret(app: Flask) -> str:
    """The built-in UI client's secret, derived from the session secret so that every gateway
    replica agrees on it without storing it anywhere."""
    key = secret_value(settings_of(app), "session_secret").encode()
    return hmac.new(key, b"cr-ui-client-secret", hashlib.sha256).hexdigest()


def _register_ui_client(app: Flask, secret: str, redirect_uri: str) -> None:
    with app.app_context(), db.connection() as conn:
        store.upsert_first_party_client(
            conn,
            client_id=UI_CLIENT_ID,
            name="CR Assistant dashboard and QA UI",
            secret_hash=_hasher.hash(secret),
            redirect_uris=[redirect_uri],
        )


def _provider():
    return current_app.extensions["ui_oauth"].provider


@ui.get("/ui/start")
def start():
    """Begin the authorization-code flow (PKCE, state and nonce are kept in the session)."""
    session["ui_next"] = login.safe_next(request.args.get("next")) or ""
    issuer = settings_of(current_app).gateway_issuer.rstrip("/")
    try:
        return _provider().authorize_redirect(f"{issuer}/ui/callback")
    except (AuthlibBaseError, OSError):
        return _error_page("The sign-in service is not reachable; try again shortly.", 503)


@ui.get("/ui/callback")
def callback():
    """Finish the flow: check state and nonce, exchange the code, keep the tokens server-side."""
    try:
        token = _provider().authorize_access_token()
    except AuthlibBaseError as error:
        audit.record("login.ui", principal=None, outcome="failure", status=400)
        reason = getattr(error, "description", None) or getattr(error, "error", "refused")
        return _error_page(f"The sign-in could not be completed ({reason}).", 400)
    except OSError:
        return _error_page("The sign-in service is not reachable; try again shortly.", 503)
    _keep_tokens(token)
    try:
        principal = _verify(token["access_token"])
    except HTTPException:
        session.pop(TOKENS_KEY, None)
        audit.record("login.ui", principal=None, outcome="failure", status=400)
        return _error_page("The sign-in service issued a token this platform cannot use.", 400)
    audit.record("login.ui", principal=principal, outcome="success", status=302)
    target = session.pop("ui_next", "") or landing_for(principal)
    return redirect(target)


def landing_for(principal: Principal) -> str:
    """Where a user lands after sign-in: the first UI their roles may open."""
    for role in ("manager", "qa_lead", "admin"):
        if principal.has_role(role):
            return login.LANDING[role]
    return url_for("ui.no_access")


@ui.get("/ui/no-access")
def no_access():
    return _error_page("Your account has no role that may open the dashboard or the QA UI.", 403)


@ui.route("/dashboard", defaults={"path": ""}, methods=["GET", "POST"], strict_slashes=True)
@ui.route("/dashboard/", defaults={"path": ""}, methods=["GET", "POST"])
@ui.route("/dashboard/<path:path>", methods=["GET", "POST"], merge_slashes=False)
def dashboard(path: str) -> Response:
    return _forward_ui("dashboard")


@ui.route("/qa", defaults={"path": ""}, methods=["GET", "POST"], strict_slashes=True)
@ui.route("/qa/", defaults={"path": ""}, methods=["GET", "POST"])
@ui.route("/qa/<path:path>", methods=["GET", "POST"], merge_slashes=False)
def qa(path: str) -> Response:
    return _forward_ui("qa")


def _forward_ui(name: str) -> Response:
    """Forward a UI request as the signed-in user, or send the browser to sign in."""
    if unsafe_path(request.path, percent=False) or not request.path.startswith(f"/{name}"):
        # refused before anything else: the HTTP client would resolve `..` and forward the
        # request outside this UI (to the API, say) without the gateway's rules
        return _error_page("This address is not a page of this site.", 404)
    if request.method == "POST" and not same_origin():
        return _error_page("This request did not come from this site.", 403)
    if request.path == f"/{name}":
        return redirect(f"/{name}/")
    access_token = _current_access_token()
    if access_token is None:
        if request.method != "GET":
            return _error_page("Your sign-in has expired; reload the page to sign in again.", 401)
        return redirect(url_for("ui.start", next=request.full_path.rstrip("?")))
    principal = _verify(access_token)
    service, roles = UIS[name]
    if not principal.has_role(*roles):
        audit.record_request("access.denied", principal, 403, "denied")
        return _error_page("Your role does not open this page.", 403)
    settings = settings_of(current_app)
    upstream = forward_to(
        service,
        principal,
        settings.max_import_bytes if name == "dashboard" else settings.max_body_bytes,
        {"X-Forwarded-Access-Token": access_token, login.CSRF_HEADER: generate_csrf()},
    )
    action = audit.audited_action(request.method, request.path[1:], audit.AUDITED_UI_CALLS)
    if action:
        audit.record_request(action, principal, upstream.status)
    return stream_back(upstream)


def same_origin() -> bool:
    """True for a request the browser marks as same-origin (the CSRF defence of the UIs)."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        return fetch_site in {"same-origin", "none"}
    origin = request.headers.get("Origin")
    if origin is None:
        return False
    own = urlsplit(request.host_url)
    claimed = urlsplit(origin)
    return (claimed.scheme, claimed.netloc) == (own.scheme, own.netloc)


def _keep_tokens(token: dict) -> None:
    session[TOKENS_KEY] = {
        "access_token": token["access_token"],
        "refresh_token": token.get("refresh_token"),
        "expires_at": int(token.get("expires_at") or time.time() + int(token.get("expires_in", 0))),
    }


def _current_access_token() -> str | None:
    """The session's access token, refreshed when about to expire; None when there is none."""
    tokens = session.get(TOKENS_KEY)
    if not tokens:
        return None
    if tokens["expires_at"] - REFRESH_MARGIN > time.time():
        return tokens["access_token"]
    if not tokens.get("refresh_token"):
        session.pop(TOKENS_KEY, None)
        return None
    provider = _provider()
    try:
        metadata = provider.load_server_metadata()
        client = OAuth2Session(provider.client_id, provider.client_secret)
        token = client.refresh_token(
            metadata["token_endpoint"], refresh_token=tokens["refresh_token"]
        )
    except (AuthlibBaseError, OSError, KeyError):
        session.pop(TOKENS_KEY, None)
        return None
    _keep_tokens(token)
    return token["access_token"]


def _verify(access_token: str) -> Principal:
    return current_app.extensions["bearer_verifier"].verify(access_token)


def end_ui_session() -> None:
    """Revoke the UI's refresh token (best effort) and forget the tokens; part of logout."""
    tokens = session.pop(TOKENS_KEY, None)
    if not tokens or not tokens.get("refresh_token"):
        return
    provider = _provider()
    try:
        endpoint = provider.load_server_metadata().get("revocation_endpoint")
        if endpoint:
            client = OAuth2Session(provider.client_id, provider.client_secret)
            client.revoke_token(endpoint, tokens["refresh_token"], "refresh_token")
    except (AuthlibBaseError, OSError):
        pass  # the token expires on its own; logout must not fail because of it


def _error_page(message: str, status: int) -> tuple[str, int]:
    return render_template("error.html", title="CR Assistant", message=message), status
