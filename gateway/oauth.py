"""Protocol routes of the built-in provider: one-liners over gateway/oidc.py, the consent page of
third-party agent clients, and the page where a person sees and revokes the clients they
connected (`/oauth/connections`)."""

from __future__ import annotations

from urllib.parse import urlsplit

from authlib.oauth2 import OAuth2Error
from flask import Blueprint, current_app, g, jsonify, redirect, render_template, request, url_for

from gateway import audit, delegation, login, oidc, oidc_discovery, oidc_models, store
from gateway.bearer import bearer_token
from shared import db
from shared.errors import Unauthorized
from shared.web import settings_of

oauth = Blueprint("oauth", __name__)


def server():
    return current_app.extensions["authorization_server"]


def provider_metadata() -> dict:
    """The discovery document of this gateway (with `registration_endpoint` when it is on)."""
    settings = settings_of(current_app)
    return oidc_discovery.discovery_document(
        settings.gateway_issuer, registration=settings.mcp_client_registration != "off"
    )


@oauth.get("/.well-known/openid-configuration")
def discovery():
    return jsonify(provider_metadata())


@oauth.get("/oauth/jwks")
def jwks():
    return jsonify(current_app.extensions["key_ring"].public_jwks())


@oauth.post("/oauth/token")
def issue_token():
    response = server().create_token_response()
    client_id = (request.authorization.username if request.authorization else None) or (
        request.form.get("client_id") or ""
    )
    if response.status_code != 200 and oidc.query_client(client_id) is None:
        client_id = "unknown-client"  # never store what a stranger typed
    audit.record(
        "token.issue",
        principal=None,
        actor=client_id,
        outcome="success" if response.status_code == 200 else "failure",
        status=response.status_code,
        obj=request.form.get("grant_type"),
    )
    return response


@oauth.post("/oauth/revoke")
def revoke_token():
    return server().create_endpoint_response("revocation")


@oauth.post("/oauth/register")
def register_client():
    """RFC 7591 dynamic client registration (404 while MCP_CLIENT_REGISTRATION=off)."""
    if settings_of(current_app).mcp_client_registration == "off":
        return jsonify(error="not_found"), 404
    response = server().create_endpoint_response("client_registration")
    client_id = response.get_json(silent=True) or {}
    audit.record(
        "client.register",
        principal=None,
        actor="dynamic-registration",
        outcome="success" if response.status_code == 201 else "failure",
        status=response.status_code,
        obj=client_id.get("client_id") if response.status_code == 201 else None,
    )
    return response


@oauth.route("/oauth/authorize", methods=["GET", "POST"])
def authorize():
    """Log in first if needed; first-party clients skip the consent screen. A third-party agent
    client needs a person who may delegate (an admin, a manager with teams) and their consent,
    asked once and remembered until revoked (`prompt=consent` asks again). A request that is
    not valid (no redirect_uri, an unknown one, no PKCE ...) is a 400 page and issues no code."""
    if not oidc.well_formed_authorization_request(request.values):
        return refused("invalid_request")
    user = login.current_user()
    if user is None:
        return redirect(url_for("login.login_page", next=request.full_path))
    end_user = oidc_models.User(user)
    try:
        grant = server().get_consent_grant(end_user=end_user)
    except OAuth2Error as error:  # its description may quote what was sent: never shown
        return refused(error.error)
    client = grant.client
    if client.first_party:
        return server().create_authorization_response(grant=grant, grant_user=end_user)
    if client.delegated and not delegation.may_delegate(user):
        audit.record(
            "oauth.consent",
            principal=None,
            actor=str(user["user_id"]),
            outcome="denied",
            status=403,
            obj=client.get_client_id(),
        )
        return render_template(
            "error.html",
            title="This account cannot connect an agent",
            message="Only a manager with a team, or an admin, can connect the CR Assistant "
            "Agent to this platform. Ask an admin if you think you should.",
        ), 403
    scope = grant.request.scope
    if request.method == "POST" and login.csrf_ok():
        return decide(grant, end_user, scope, approved=request.form.get("decision") == "allow")
    if request.values.get("prompt") != "consent":
        with db.connection() as conn:
            remembered = delegation.consent_remembered(
                conn, user["user_id"], client.get_client_id(), scope
            )
        if remembered:
            return server().create_authorization_response(grant=grant, grant_user=end_user)
    return render_template(
        "consent.html",
        title="Allow access?",
        client_name=client.row["name"],
        registered_dynamically=client.row.get("registered_by") == "dynamic",
        redirect_host=urlsplit(grant.request.payload.redirect_uri).hostname,
        descriptions=delegation.scope_descriptions(scope),
        teams=[] if "admin" in user["roles"] else sorted(user["teams"]),
    )


def decide(grant, end_user: oidc_models.User, scope: str, *, approved: bool):
    """The person's answer on the consent page: remembered when it is yes, then the redirect with
    a code, or with `error=access_denied`."""
    client_id = grant.client.get_client_id()
    if approved:
        with db.connection() as conn:
            delegation.remember_consent(conn, end_user.row["user_id"], client_id, scope)
    audit.record(
        "oauth.consent",
        principal=None,
        actor=end_user.get_user_id(),
        outcome="success" if approved else "denied",
        status=302,
        obj=client_id,
    )
    return server().create_authorization_response(
        grant=grant, grant_user=end_user if approved else None
    )


@oauth.get("/oauth/connections")
def connections():
    """The agent clients the signed-in person connected, each with a Revoke button."""
    user = login.current_user()
    if user is None:
        return redirect(url_for("login.login_page", next=request.full_path))
    with db.connection() as conn:
        rows = store.list_consents_of_user(conn, user["user_id"])
    return render_template(
        "connections.html",
        title="Connected agents",
        connections=rows,
        token_minutes=max(1, settings_of(current_app).access_token_ttl // 60),
    )


@oauth.post("/oauth/connections")
def revoke_connection():
    """Revoke one connection (a CSRF-protected form): the consent is forgotten and the client's
    refresh tokens for this person end at once."""
    user = login.current_user()
    if user is None:
        return redirect(url_for("login.login_page"))
    if not login.csrf_ok():
        return refused("invalid_request")
    client_id = request.form.get("client_id", "")
    with db.connection() as conn:
        found = delegation.revoke_consent(conn, user["user_id"], client_id)
    audit.record(
        "oauth.consent_revoke",
        principal=None,
        actor=str(user["user_id"]),
        outcome="success" if found else "failure",
        status=303,
        obj=client_id if found else None,
    )
    return redirect(url_for("oauth.connections"), code=303)


def refused(error: str):
    """The 400 page of an authorization request that cannot go on (no code is issued)."""
    return render_template(
        "error.html",
        title="Sign-in request refused",
        message=f"This sign-in request cannot be completed ({error}).",
    ), 400


@oauth.get("/oauth/userinfo")
def userinfo():
    principal = current_app.extensions["builtin_verifier"].verify(
        bearer_token(request.headers.get("Authorization", ""))
    )
    with db.connection() as conn:
        row = store.get_user(conn, principal.subject) if principal.kind == "user" else None
    if row is None:
        raise Unauthorized("This token does not belong to a user.")
    g.principal = principal
    return jsonify(dict(oidc.user_info(oidc_models.User(row), "openid email profile")))
