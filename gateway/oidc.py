"""The built-in OAuth 2.0 / OpenID Connect provider: all protocol configuration in one place
(client credentials for machines; authorization code with PKCE, ID tokens, refresh-token rotation,
revocation and userinfo for people; delegated tokens for third-party agent clients, resource
indicators (RFC 8707) and dynamic client registration (RFC 7591))."""

from __future__ import annotations

import logging
import secrets
import time

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import InvalidGrantError, InvalidRequestError
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode
from flask import Flask, current_app, g

from gateway import delegation, resources, store
from gateway.keys import ALGORITHM, KeyRing
from gateway.oidc_discovery import ClientRegistration
from gateway.oidc_models import (
    AUTH_METHODS,
    ID_TOKEN_TTL,
    PUBLIC_AUTH_METHOD,
    REFRESH_TOKEN_TTL,
    RESPONSE_TYPE,
    AuthorizationCode,
    Client,
    RefreshToken,
    User,
    token_hash,
)
from shared import db
from shared.web import settings_of


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS

    def validate_token_request(self):
        """As Authlib's, plus the one resource (RFC 8707) the token may be for."""
        super().validate_token_request()
        g.token_resource = resources.requested_resource(
            resource_values(self.request),
            issuer_of_app(),
        )


def well_formed_authorization_request(parameters) -> bool:
    """False when a parameter of an authorization request holds a control character, or
    response_type is outside RFC 6749's grammar (Authlib quotes it in its error description and
    fails on such characters: a 500 instead of a 400)."""
    if not all(value.isprintable() for _, value in parameters.items(multi=True)):
        return False
    response_type = parameters.get("response_type")
    return response_type is None or RESPONSE_TYPE.fullmatch(response_type) is not None


def user_for(client: Client, user_id) -> User | None:
    """The enabled user a grant acts for; for a delegated client only while the person may
    still connect an agent (a role or the last team taken away ends the grant)."""
    with db.connection() as conn:
        row = store.get_user(conn, user_id)
    if row is None or (client.delegated and not delegation.may_delegate(row)):
        return None
    return User(row)


def issuer_of_app() -> str:
    return settings_of(current_app).gateway_issuer


def resource_values(request) -> list[str]:
    """The `resource` parameters (RFC 8707) of an authorization or token request."""
    return list(request.payload.datalist.get("resource", []))


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = [*AUTH_METHODS, PUBLIC_AUTH_METHOD]

    @staticmethod
    def validate_authorization_redirect_uri(request, client: Client) -> str:
        """The request must name a redirect_uri registered for the client (OpenID Connect
        requires it; no default is assumed). The refusal does not quote what was sent."""
        redirect_uri = request.payload.redirect_uri
        if not redirect_uri:
            raise InvalidRequestError("Missing 'redirect_uri' in request.")
        if not client.check_redirect_uri(redirect_uri):
            raise InvalidRequestError("This redirect_uri is not registered for the client.")
        return redirect_uri

    def save_authorization_code(self, code: str, request) -> None:
        data = request.payload.data
        with db.connection() as conn:
            store.insert_authorization_code(
                conn,
                {
                    "code": code,
                    "client_id": request.client.get_client_id(),
                    "user_id": request.user.row["user_id"],
                    "redirect_uri": request.payload.redirect_uri,
                    "scope": request.scope,  # the resolved scope: the client's when none asked
                    "nonce": data.get("nonce"),
                    "code_challenge": data.get("code_challenge"),
                    "code_challenge_method": data.get("code_challenge_method") or "S256",
                    "auth_time": request.user.row.get("auth_time") or int(time.time()),
                    "resource": resources.requested_resource(
                        resource_values(request), issuer_of_app()
                    ),
                },
            )

    def query_authorization_code(self, code: str, client: Client):
        with db.connection() as conn:
            row = store.peek_authorization_code(conn, code, client.get_client_id())
        return AuthorizationCode(row) if row else None

    def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
        with db.connection() as conn:
            store.take_authorization_code(
                conn, authorization_code.row["code"], authorization_code.row["client_id"]
            )

    def authenticate_user(self, authorization_code: AuthorizationCode):
        g.token_resource = resources.granted_resource(
            resource_values(self.request),
            issuer_of_app(),
            authorization_code.row["resource"],
        )
        return user_for(self.request.client, authorization_code.row["user_id"])


class PkceS256(CodeChallenge):
    """PKCE is mandatory and only S256 is accepted, except for a confidential client created with
    `--pkce optional` (some agent platforms send no code_challenge); a challenge it does send is
    verified all the same."""

    DEFAULT_CODE_CHALLENGE_METHOD = "S256"
    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def validate_code_challenge(self, grant, redirect_uri):
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            if not grant.request.client.pkce_required and not data.get("code_challenge_method"):
                return None
            raise InvalidRequestError("PKCE is required: send code_challenge with method S256.")
        if data.get("code_challenge_method", "S256") != "S256":
            raise InvalidRequestError("Only the S256 code_challenge_method is accepted.")
        return super().validate_code_challenge(grant, redirect_uri)


class ResourceIndicators:
    """RFC 8707 at the authorization endpoint: a request may name one resource of ours (the MCP
    endpoint, or the API); anything else is refused before the person is asked to consent."""

    def __call__(self, grant) -> None:
        grant.register_hook("after_validate_authorization_request_payload", self.validate)

    def validate(self, grant, redirect_uri) -> None:
        resources.requested_resource(resource_values(grant.request), issuer_of_app())


def live_refresh_token(refresh_token: str) -> RefreshToken | None:
    """The refresh token when it may still be used. A token that was already rotated is a reuse
    (RFC 9700 §4.14): its whole family is revoked, the newest descendant included."""
    with db.connection() as conn:
        row = store.find_refresh_token(conn, token_hash(refresh_token))
        if row is None or row["family_revoked_at"] is not None:
            return None
        if row["revoked_at"] is not None:
            store.revoke_refresh_token_family(conn, row["family_id"])
            return None
    return RefreshToken(row)


class RefreshTokenGrant(grants.RefreshTokenGrant):
    """Refresh tokens rotate: each use revokes the old one and issues a new one of the same
    family (bound to the family's resource); a reused token revokes the family."""

    TOKEN_ENDPOINT_AUTH_METHODS = [*AUTH_METHODS, PUBLIC_AUTH_METHOD]
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str):
        return live_refresh_token(refresh_token)

    def authenticate_user(self, refresh_token: RefreshToken):
        g.token_resource = resources.granted_resource(
            resource_values(self.request),
            issuer_of_app(),
            refresh_token.row["family_resource"],
        )
        return user_for(self.request.client, refresh_token.row["user_id"])

    def create_token_response(self):
        """Using the token up is the gate: only the request whose update found it live goes on
        to issue; a request that lost the race used a rotated token and revokes the family."""
        used = self.request.refresh_token.row
        with db.connection() as conn:
            won = store.use_refresh_token(conn, used["token_hash"])
            if not won:
                store.revoke_refresh_token_family(conn, used["family_id"])
        if not won:
            raise InvalidGrantError()
        return super().create_token_response()

    def revoke_old_credential(self, refresh_token: RefreshToken) -> None:
        """Nothing left to do: the token was used up before the new one was issued."""


class TokenRevocation(RevocationEndpoint):
    """RFC 7009 revocation of refresh tokens (access tokens are short-lived JWTs)."""

    CLIENT_AUTH_METHODS = [*AUTH_METHODS, PUBLIC_AUTH_METHOD]

    def query_token(self, token: str, token_type_hint: str | None):
        with db.connection() as conn:
            row = store.find_refresh_token(conn, token_hash(token))
        return RefreshToken(row) if row else None

    def revoke_token(self, token: RefreshToken, request) -> None:
        """Revoking a refresh token ends its family (RFC 7009 §2.1: the grant goes with it)."""
        with db.connection() as conn:
            store.revoke_refresh_token_family(conn, token.row["family_id"])


def user_info(user: User, scope: str) -> UserInfo:
    """Claims about a user: subject, e-mail, roles and teams."""
    row = user.row
    info = UserInfo(sub=str(row["user_id"]), roles=list(row["roles"]), teams=list(row["teams"]))
    if "email" in (scope or "") or "profile" in (scope or ""):
        info["email"] = row["email"]
        info["name"] = row["email"].split("@")[0]
    return info


class IdTokens(OpenIDCode):
    """ID tokens signed with the gateway's current key."""

    def __init__(self, key_ring: KeyRing, issuer: str) -> None:
        super().__init__(require_nonce=False)
        self.key_ring = key_ring
        self.issuer = issuer

    def resolve_client_private_key(self, client):
        return self.key_ring.signing

    def get_client_algorithm(self, client) -> str:
        return ALGORITHM

    def get_encode_header(self, client) -> dict:
        # the key that signs (not the newest: a new key is published before it signs)
        (signing,) = self.key_ring.signing
        return {"alg": ALGORITHM, "kid": signing.kid, "typ": "JWT"}

    def get_client_claims(self, client) -> dict:
        now = int(time.time())
        return {
            "iss": self.issuer,
            "aud": [client.get_client_id()],
            "iat": now,
            "exp": now + ID_TOKEN_TTL,
        }

    def exists_nonce(self, nonce: str, request) -> bool:
        with db.connection() as conn:
            return store.nonce_used(conn, nonce)

    def generate_user_info(self, user: User, scope: str) -> UserInfo:
        return user_info(user, scope)


class AccessTokenGenerator(JWTBearerTokenGenerator):
    """RFC 9068 JWT access tokens carrying roles and teams: the user's when a person logged in at
    a first-party client, the delegated agent's (gateway/delegation.py) at a third-party client,
    else the client's. `aud` is the API's, or the MCP endpoint's when the token request's grant
    is bound to it (RFC 8707; the grant puts the resource in `g.token_resource`)."""

    def __init__(self, key_ring: KeyRing, issuer: str, audience: str, ttl: int) -> None:
        super().__init__(
            issuer,
            alg=ALGORITHM,
            expires_generator=lambda client, grant: ttl,
            refresh_token_generator=lambda **_: secrets.token_urlsafe(48),
        )
        self.key_ring = key_ring
        self.audience = audience

    def get_jwks(self):
        return self.key_ring.signing

    def get_audiences(self, client, user, scope) -> str:
        return resources.audience_for(g.get("token_resource"), self.issuer, self.audience)

    def get_extra_claims(self, client, grant_type, user, scope) -> dict:
        if user is not None and client.delegated:
            claims = delegation.delegated_claims(user.row, scope)
            return {**claims, "act": {"sub": client.get_client_id()}, "nbf": int(time.time())}
        source = user.row if user else {"roles": client.roles, "teams": client.teams}
        return {
            "roles": list(source["roles"]),
            "teams": list(source["teams"]),
            "nbf": int(time.time()),
            # the display name user_info gives too: services show staff by it (QA reviewers)
            **({"name": user.row["email"].split("@")[0]} if user else {}),
        }


def query_client(client_id: str) -> Client | None:
    with db.connection() as conn:
        row = store.get_client(conn, client_id)
    return Client(row) if row else None


def save_token(token: dict, request) -> None:
    """Access tokens are self-contained JWTs; only refresh tokens are stored (as hashes), in the
    family of the token they replace, or in a new family after a sign-in."""
    if "refresh_token" not in token or request.user is None:
        return
    client_id, user_id = request.client.get_client_id(), request.user.row["user_id"]
    with db.connection() as conn:
        if request.refresh_token is not None:
            family_id = request.refresh_token.row["family_id"]
        else:
            family_id = store.insert_refresh_token_family(
                conn, client_id, user_id, g.get("token_resource")
            )
        store.insert_refresh_token(
            conn,
            token_hash=token_hash(token["refresh_token"]),
            family_id=family_id,
            client_id=client_id,
            user_id=user_id,
            scope=token.get("scope", ""),
            ttl_seconds=REFRESH_TOKEN_TTL,
        )


def create_authorization_server(app: Flask, key_ring: KeyRing) -> AuthorizationServer:
    """The configured provider of this app: grants, PKCE, ID tokens, revocation, token format."""
    settings = settings_of(app)
    # Authlib's debug lines print issued tokens and codes: never let them reach the log.
    logging.getLogger("authlib").setLevel(max(logging.INFO, logging.getLogger().level))
    server = AuthorizationServer(app, query_client=query_client, save_token=save_token)
    server.register_grant(ClientCredentialsGrant)
    server.register_grant(
        AuthorizationCodeGrant,
        [
            PkceS256(required=True),
            ResourceIndicators(),
            IdTokens(key_ring, settings.gateway_issuer),
        ],
    )
    server.register_grant(RefreshTokenGrant)
    server.register_endpoint(TokenRevocation)
    if settings.mcp_client_registration != "off":
        server.register_endpoint(
            ClientRegistration(settings.gateway_issuer, settings.mcp_client_registration)
        )
    server.register_token_generator(
        "default",
        AccessTokenGenerator(
            key_ring, settings.gateway_issuer, settings.gateway_audience, settings.access_token_ttl
        ),
    )
    return server
