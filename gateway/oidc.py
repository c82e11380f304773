"""The built-in OAuth 2.0 / OpenID Connect provider: all protocol configuration in one place."""

from __future__ import annotations

import time

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin, grants
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator
from flask import Blueprint, Flask, current_app, jsonify

from gateway import clients, store
from gateway.keys import ALGORITHM, KeyRing
from shared import db
from shared.web import settings_of

oauth = Blueprint("oauth", __name__)


class Client(ClientMixin):
    """A row of gateway.oauth_clients as Authlib sees it."""

    def __init__(self, row: dict) -> None:
        self.row = row

    @property
    def roles(self) -> list[str]:
        return list(self.row["roles"])

    @property
    def teams(self) -> list[str]:
        return list(self.row["teams"])

    def get_client_id(self) -> str:
        return self.row["client_id"]

    def get_default_redirect_uri(self) -> str | None:
        uris = self.row["redirect_uris"]
        return uris[0] if uris else None

    def get_allowed_scope(self, scope: str) -> str:
        allowed = set(self.row["scope"].split())
        return " ".join(part for part in (scope or "").split() if part in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.row["redirect_uris"]

    def check_client_secret(self, client_secret: str) -> bool:
        return clients.secret_matches(self.row["secret_hash"], client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in ClientCredentialsGrant.TOKEN_ENDPOINT_AUTH_METHODS

    def check_response_type(self, response_type: str) -> bool:
        return False

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.row["grant_types"]


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]


class AccessTokenGenerator(JWTBearerTokenGenerator):
    """RFC 9068 JWT access tokens for the API audience, carrying the client's roles and teams."""

    def __init__(self, key_ring: KeyRing, issuer: str, audience: str, ttl: int) -> None:
        super().__init__(issuer, alg=ALGORITHM, expires_generator=lambda client, grant: ttl)
        self.key_ring = key_ring
        self.audience = audience

    def get_jwks(self):
        return self.key_ring.signing

    def get_audiences(self, client, user, scope) -> str:
        return self.audience

    def get_extra_claims(self, client, grant_type, user, scope) -> dict:
        return {"roles": client.roles, "teams": client.teams, "nbf": int(time.time())}


def query_client(client_id: str) -> Client | None:
    with db.connection() as conn:
        row = store.get_client(conn, client_id)
    return Client(row) if row else None


def save_token(token: dict, request) -> None:
    """Access tokens are self-contained JWTs: nothing to store."""


def register_oidc(app: Flask, key_ring: KeyRing) -> None:
    """Configure the authorization server and mount discovery, JWKS and the token endpoint."""
    settings = settings_of(app)
    authorization = AuthorizationServer(app, query_client=query_client, save_token=save_token)
    authorization.register_grant(ClientCredentialsGrant)
    authorization.register_token_generator(
        "default",
        AccessTokenGenerator(
            key_ring, settings.gateway_issuer, settings.gateway_audience, settings.access_token_ttl
        ),
    )
    app.extensions["authorization_server"] = authorization
    app.extensions["key_ring"] = key_ring
    app.register_blueprint(oauth)


@oauth.get("/.well-known/openid-configuration")
def discovery():
    issuer = settings_of(current_app).gateway_issuer
    return jsonify(
        {
            "issuer": issuer,
            "token_endpoint": f"{issuer}/oauth/token",
            "jwks_uri": f"{issuer}/oauth/jwks",
            "grant_types_supported": ["client_credentials"],
            "token_endpoint_auth_methods_supported": ClientCredentialsGrant.TOKEN_ENDPOINT_AUTH_METHODS,
            "id_token_signing_alg_values_supported": [ALGORITHM],
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "scopes_supported": ["openid"],
        }
    )


@oauth.get("/oauth/jwks")
def jwks():
    return jsonify(current_app.extensions["key_ring"].public_jwks())


@oauth.post("/oauth/token")
def issue_token():
    return current_app.extensions["authorization_server"].create_token_response()
