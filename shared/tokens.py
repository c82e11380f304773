"""Internal tokens: short-lived HS256 JWTs the gateway signs and every service verifies."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import lru_cache

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey

INTERNAL_ISSUER = "cr-gateway"
INTERNAL_AUDIENCE = "cr-internal"
_ALGORITHMS = ["HS256"]
# The roles that read every team's data; every other reader is held to the teams of its token.
UNRESTRICTED_READERS = ("qa_lead", "admin")


class InvalidToken(Exception):
    """The internal token is missing, malformed, expired or not ours."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: a machine client or a user, with roles and team scope."""

    subject: str
    roles: frozenset[str] = field(default_factory=frozenset)
    teams: frozenset[str] = field(default_factory=frozenset)
    kind: str = "client"

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def team_scoped(self) -> bool:
        """True when this caller may only see its own teams' data: a manager who holds no reader
        role without team restriction (qa_lead, admin). Any other role held beside it (agent, say)
        never widens the scope."""
        return "manager" in self.roles and not self.has_role(*UNRESTRICTED_READERS)

    def can_see_team(self, team: str | None) -> bool:
        return not self.team_scoped or (team is not None and team in self.teams)


@lru_cache(maxsize=8)
def _key(secret: str) -> OctKey:
    return OctKey.import_key(secret.encode())


def sign_internal_token(
    principal: Principal, secret: str, *, request_id: str = "", ttl: int = 60
) -> str:
    """A compact JWT carrying the principal, valid for `ttl` seconds."""
    now = int(time.time())
    claims = {
        "iss": INTERNAL_ISSUER,
        "aud": INTERNAL_AUDIENCE,
        "iat": now,
        "nbf": now - 5,
        "exp": now + ttl,
        "sub": principal.subject,
        "kind": principal.kind,
        "roles": sorted(principal.roles),
        "teams": sorted(principal.teams),
        "rid": request_id,
    }
    return jwt.encode({"alg": "HS256", "typ": "JWT"}, claims, _key(secret), algorithms=_ALGORITHMS)


_REQUIRED = jwt.JWTClaimsRegistry(
    iss={"essential": True, "value": INTERNAL_ISSUER},
    aud={"essential": True, "value": INTERNAL_AUDIENCE},
    exp={"essential": True},
    sub={"essential": True},
)


def verify_internal_token(token: str, secret: str) -> tuple[Principal, str]:
    """The principal and request id of a valid token; raises InvalidToken otherwise."""
    try:
        decoded = jwt.decode(token, _key(secret), algorithms=_ALGORITHMS)
        _REQUIRED.validate(decoded.claims)
    except (JoseError, ValueError) as exc:
        raise InvalidToken(type(exc).__name__) from exc
    claims = decoded.claims
    roles, teams = claims.get("roles", []), claims.get("teams", [])
    if not isinstance(roles, list) or not isinstance(teams, list):
        raise InvalidToken("roles and teams must be lists")
    principal = Principal(
        subject=str(claims["sub"]),
        roles=frozenset(map(str, roles)),
        teams=frozenset(map(str, teams)),
        kind=str(claims.get("kind", "client")),
    )
    return principal, str(claims.get("rid", ""))
