"""Protocol routes of the built-in provider: one-liners over gateway/oidc.py."""

from __future__ import annotations

from authlib.oauth2 import OAuth2Error
from flask import Blueprint, current_app, g, jsonify, redirect, render_template, request, url_for

from gateway import audit, login, oidc, store
from gateway.bearer import bearer_token
from shared import db
from shared.errors import Unauthorized
from shared.web import settings_of

oauth = Blueprint("oauth", __name__)


def server():
    return current_app.extensions["authorization_server"]


@oauth.get("/.well-known/openid-configuration")
def discovery():
    return jsonify(oidc.discovery_document(settings_of(current_app).gateway_issuer))


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


@oauth.route("/oauth/authorize", methods=["GET", "POST"])
def authorize():
    """Log in first if needed; first-party clients skip the consent screen. A request that is
    not valid (no redirect_uri, an unknown one, no PKCE ...) is a 400 page and issues no code."""
    if not oidc.well_formed_authorization_request(request.values):
        return refused("invalid_request")
    user = login.current_user()
    if user is None:
        return redirect(url_for("login.login_page", next=request.full_path))
    end_user = oidc.User(user)
    try:
        grant = server().get_consent_grant(end_user=end_user)
    except OAuth2Error as error:  # its description may quote what was sent: never shown
        return refused(error.error)
    if grant.client.first_party:
        return server().create_authorization_response(grant=grant, grant_user=end_user)
    if request.method == "POST" and login.csrf_ok():
        approved = request.form.get("decision") == "allow"
        return server().create_authorization_response(
            grant=grant, grant_user=end_user if approved else None
        )
    return render_template(
        "consent.html", client_name=grant.client.row["name"], scope=grant.request.payload.scope
    )


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
    return jsonify(dict(oidc.user_info(oidc.User(row), "openid email profile")))
