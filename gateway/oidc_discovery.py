"""The built-in provider's metadata (OpenID discovery, also served as RFC 8414 metadata) and its
dynamic client registration (RFC 7591)."""

from __future__ import annotations

import secrets

from authlib.oauth2.rfc7591 import ClientRegistrationEndpoint
from authlib.oauth2.rfc7591.errors import InvalidClientMetadataError, InvalidRedirectURIError

from gateway import clients, delegation
from gateway.keys import ALGORITHM
from gateway.oidc_models import AUTH_METHODS, PUBLIC_AUTH_METHOD, SCOPES
from shared import db


def discovery_document(issuer: str, *, registration: bool = False) -> dict:
    """The OpenID Provider metadata served at /.well-known/openid-configuration (and as RFC 8414
    metadata); `registration_endpoint` only while dynamic registration is on."""
    document = {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/oauth/authorize",
        "token_endpoint": f"{issuer}/oauth/token",
        "userinfo_endpoint": f"{issuer}/oauth/userinfo",
        "revocation_endpoint": f"{issuer}/oauth/revoke",
        "jwks_uri": f"{issuer}/oauth/jwks",
        "end_session_endpoint": f"{issuer}/logout",
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "id_token_signing_alg_values_supported": [ALGORITHM],
        "subject_types_supported": ["public"],
        "scopes_supported": SCOPES,
        "claims_supported": ["sub", "email", "name", "roles", "teams"],
    }
    if registration:  # public clients exist only through registration
        document["registration_endpoint"] = f"{issuer}/oauth/register"
        document["token_endpoint_auth_methods_supported"] = [*AUTH_METHODS, PUBLIC_AUTH_METHOD]
    return document


class ClientRegistration(ClientRegistrationEndpoint):
    """RFC 7591 dynamic registration of agent clients (MCP_CLIENT_REGISTRATION `open` or `admin`;
    with `off` the endpoint does not exist). Anyone may register; a client gets the role agent,
    grant types authorization_code and refresh_token, the scope `agent` and PKCE S256 whatever it
    asks, and is public (`token_endpoint_auth_method` none) or confidential (a secret). With
    `admin` it gets no code and no token until an admin approves it (`approve-client`)."""

    NAME_LIMIT = 100

    def __init__(self, issuer: str, mode: str) -> None:
        super().__init__()
        self.issuer = issuer
        self.mode = mode

    def authenticate_token(self, request):
        return self.mode in ("open", "admin")  # an open endpoint: no initial access token

    def get_server_metadata(self) -> dict:
        return discovery_document(self.issuer, registration=True)

    def generate_client_id(self, request) -> str:
        return f"cr-{secrets.token_hex(8)}"

    def generate_client_secret(self, request) -> str | None:
        if auth_method_asked(request.payload.data) == PUBLIC_AUTH_METHOD:
            return None
        return secrets.token_urlsafe(32)

    def save_client(self, client_info: dict, client_metadata: dict, request) -> dict:
        grant_types = set(client_metadata.get("grant_types") or ["authorization_code"])
        if not grant_types <= set(clients.DELEGATED_GRANT_TYPES):
            raise InvalidClientMetadataError("Only authorization_code and refresh_token.")
        name = str(client_metadata.get("client_name") or "MCP client")
        if len(name) > self.NAME_LIMIT or not name.isprintable():
            raise InvalidClientMetadataError("client_name: at most 100 printable characters.")
        try:
            with db.connection() as conn:
                clients.register_agent_client(
                    conn,
                    name,
                    client_metadata.get("redirect_uris") or [],
                    client_id=client_info["client_id"],
                    secret=client_info["client_secret"],
                    approved=self.mode == "open",
                )
        except clients.ClientError as error:
            raise InvalidRedirectURIError(str(error)) from None
        return client_info

    def create_registration_response(self, request):
        """Authlib's answer, saying what was registered rather than what was asked."""
        status, body, headers = super().create_registration_response(request)
        if body.get("client_secret") is None:
            body.pop("client_secret", None)
            body.pop("client_secret_expires_at", None)
        body.update(
            grant_types=list(clients.DELEGATED_GRANT_TYPES),
            response_types=["code"],
            scope=delegation.AGENT_SCOPE,
            token_endpoint_auth_method=auth_method_asked(request.payload.data),
        )
        return status, body, headers


def auth_method_asked(metadata: dict) -> str:
    """The token endpoint auth method a registration asks for (RFC 7591's default: Basic)."""
    return metadata.get("token_endpoint_auth_method") or "client_secret_basic"
