"""Bearer access tokens at the gateway: signature against the cached key set, pinned algorithms,
and `iss`, `aud`, `exp`, `nbf` required."""

from __future__ import annotations

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from gateway.clients import ROLES
from shared.errors import Unauthorized
from shared.tokens import Principal

ACCESS_TOKEN_TYPES = frozenset({"at+jwt", "application/at+jwt"})


class BearerVerifier:
    """Verifies access tokens of one issuer; the key set is parsed once, not per request."""

    def __init__(
        self,
        key_set: KeySet,
        *,
        issuer: str,
        audience: str,
        algorithms: tuple[str, ...] = ("RS256",),
        leeway: int = 30,
    ) -> None:
        self.key_set = key_set
        self.algorithms = list(algorithms)
        self.claims = jwt.JWTClaimsRegistry(
            leeway=leeway,
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": audience},
            exp={"essential": True},
            nbf={"essential": True},
            sub={"essential": True},
        )

    def verify(self, token: str) -> Principal:
        """The caller a valid access token stands for; Unauthorized for anything else."""
        try:
            decoded = jwt.decode(token, self.key_set, algorithms=self.algorithms)
            self.claims.validate(decoded.claims)
        except (JoseError, ValueError, TypeError, KeyError):
            raise invalid_token() from None
        if decoded.header.get("typ", "").lower() not in ACCESS_TOKEN_TYPES:
            raise invalid_token()  # an ID token (typ JWT) is not an access token
        claims = decoded.claims
        roles = claims.get("roles", [])
        teams = claims.get("teams", [])
        if not isinstance(roles, list) or not isinstance(teams, list):
            raise invalid_token()
        return Principal(
            subject=str(claims["sub"]),
            roles=frozenset(role for role in roles if role in ROLES),
            teams=frozenset(str(team) for team in teams),
            kind="user" if claims.get("client_id") != claims["sub"] else "client",
        )


def invalid_token() -> Unauthorized:
    """The one answer for every bad token: it tells an attacker nothing about why."""
    return Unauthorized(
        "A valid bearer access token is required.",
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )


def bearer_token(header: str) -> str:
    """The token of an `Authorization: Bearer …` header; Unauthorized when there is none."""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(
            "A bearer access token is required.", headers={"WWW-Authenticate": "Bearer"}
        )
    return token.strip()
