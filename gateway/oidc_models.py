"""The built-in provider's objects as Authlib sees them (clients, users, codes, refresh tokens) and
its protocol constants."""

from __future__ import annotations

import hashlib
import re

from authlib.oauth2.rfc6749 import AuthorizationCodeMixin, ClientMixin, TokenMixin

from gateway import clients, delegation

AUTH_METHODS = ["client_secret_basic", "client_secret_post"]
PUBLIC_AUTH_METHOD = "none"  # a public client (registered dynamically) sends no secret
REGISTRATION_MODES = ("off", "open", "admin")
REFRESH_TOKEN_TTL = 8 * 3600
ID_TOKEN_TTL = 3600
SCOPES = ["openid", "profile", "email", delegation.AGENT_SCOPE]
RESPONSE_TYPE = re.compile(r"[A-Za-z0-9_]+(?: [A-Za-z0-9_]+)*")  # RFC 6749, appendix A.3


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

    @property
    def first_party(self) -> bool:
        return bool(self.row.get("first_party"))

    @property
    def public(self) -> bool:
        """A public client has no secret: it authenticates with PKCE alone."""
        return self.row["secret_hash"] is None

    @property
    def delegated(self) -> bool:
        """A third-party client whose tokens act for the person who signed in (not first party)."""
        return not self.first_party and "authorization_code" in self.row["grant_types"]

    @property
    def pkce_required(self) -> bool:
        return self.public or self.row.get("pkce_required", True)

    def get_client_id(self) -> str:
        return self.row["client_id"]

    def get_default_redirect_uri(self) -> str | None:
        uris = self.row["redirect_uris"]
        return uris[0] if uris else None

    def get_allowed_scope(self, scope: str) -> str:
        """The requested scopes this client may have; the client's registered scopes when the
        request names none (RFC 6749 §3.3)."""
        allowed = self.row["scope"].split()
        if not (scope or "").strip():
            return " ".join(allowed)
        return " ".join(part for part in scope.split() if part in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.row["redirect_uris"]

    def check_client_secret(self, client_secret: str) -> bool:
        return clients.secret_matches(self.row["secret_hash"], client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        """A confidential client sends its secret in the body or as HTTP Basic; a public one none."""
        return method == PUBLIC_AUTH_METHOD if self.public else method in AUTH_METHODS

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code" and "authorization_code" in self.row["grant_types"]

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.row["grant_types"]


class User:
    """A row of gateway.users as Authlib sees it."""

    def __init__(self, row: dict) -> None:
        self.row = row

    def get_user_id(self) -> str:
        return str(self.row["user_id"])


class AuthorizationCode(AuthorizationCodeMixin):
    def __init__(self, row: dict) -> None:
        self.row = row
        self.code_challenge = row["code_challenge"]
        self.code_challenge_method = row["code_challenge_method"]

    def get_redirect_uri(self) -> str:
        return self.row["redirect_uri"]

    def get_scope(self) -> str:
        return self.row["scope"]

    def get_nonce(self) -> str | None:
        return self.row["nonce"]

    def get_auth_time(self) -> int:
        return self.row["auth_time"]

    def get_acr(self) -> None:
        return None

    def get_amr(self) -> None:
        return None


class RefreshToken(TokenMixin):
    def __init__(self, row: dict) -> None:
        self.row = row

    def check_client(self, client: Client) -> bool:
        return self.row["client_id"] == client.get_client_id()

    def get_scope(self) -> str:
        return self.row["scope"]

    def get_expires_in(self) -> int:
        return REFRESH_TOKEN_TTL

    def is_expired(self) -> bool:
        return False  # only unexpired rows are loaded

    def is_revoked(self) -> bool:
        return self.row["revoked_at"] is not None or self.row["family_revoked_at"] is not None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
