"""Internal tokens: short-lived JWTs bound to the one service they are for (`aud`).

Two kinds of signer, and nothing else is trusted:
- the gateway signs the token of every request it forwards (and of its own calls) with its private
  signing key (RS256, the key ring of its access tokens); services verify with the public keys the
  gateway publishes, so no service holds anything that signs a token another service accepts;
- a service that calls another one directly (the trends change-feed reader, say) signs with the
  key of that one call (HS256, `SERVICE_CALLS`), known to the caller and the target only; the target
  gives such a token the roles the table names for that call, whatever the token claims.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import requests
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import GuestProtocol, JWKRegistry, KeySet, OctKey, RSAKey

INTERNAL_ISSUER = "cr-gateway"
# `typ` of internal tokens: never that of an access or ID token of the gateway's own provider
INTERNAL_TOKEN_TYPE = "cr-internal+jwt"  # noqa: S105 (a media type, not a secret)
GATEWAY_ALGORITHM = "RS256"
CALL_ALGORITHM = "HS256"
SERVICES = ("persistence", "trends", "qa", "dashboard")
# The roles that read every team's data; every other reader is held to the teams of its token.
UNRESTRICTED_READERS = ("qa_lead", "admin")


class InvalidToken(Exception):
    """The internal token is missing, malformed, expired, for another service or not ours."""


@dataclass(frozen=True)
class ServiceCall:
    """One permitted service-to-service call: `caller` may call `target` with tokens signed by the
    secret `key_setting` (held by both, by no one else), and `target` gives them `roles` only."""

    caller: str
    target: str
    roles: frozenset[str]
    key_setting: str
    required: bool = True  # False: the target accepts the caller only when its key is set

    @property
    def issuer(self) -> str:
        return f"cr-{self.caller}"


# Every direct call between services. A new one gets its own row, its own key and its own role
# (declared on the target's route with `roles(...)`): a key never reaches more than its row says.
SERVICE_CALLS: tuple[ServiceCall, ...] = (
    ServiceCall("trends", "persistence", frozenset({"changes_reader"}), "trends_feed_key"),
    ServiceCall(
        "reporting", "persistence", frozenset({"changes_reader"}), "reporting_feed_key", False
    ),
    # QA's free text (review notes, event messages) checked by persistence's PII guard, which
    # knows the engineers' pseudonyms (issue #21, finding 5)
    ServiceCall("qa", "persistence", frozenset({"text_checker"}), "qa_text_check_key"),
)


def service_call(caller: str, target: str) -> ServiceCall:
    """The row of SERVICE_CALLS for `caller` -> `target`; KeyError when that call is not allowed."""
    for call in SERVICE_CALLS:
        if call.caller == caller and call.target == target:
            return call
    raise KeyError(f"{caller} may not call {target}")


@dataclass(frozen=True)
class Principal:
    """Who is calling: a machine client or a user, with roles and team scope."""

    subject: str
    roles: frozenset[str] = field(default_factory=frozenset)
    teams: frozenset[str] = field(default_factory=frozenset)
    kind: str = "client"
    name: str = ""  # a user's display name from the gateway's directory (QA shows reviewers by it)

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def team_scoped(self) -> bool:
        """True when this caller may only see and write its own teams' data: a manager, or an agent
        that carries teams (a leader's delegated token, an API key with `--team`), who holds no
        role without team restriction (qa_lead, admin). Any other role held beside it never widens
        the scope; an agent without teams (a client of the whole organisation) is not scoped."""
        if self.has_role(*UNRESTRICTED_READERS):
            return False
        return "manager" in self.roles or ("agent" in self.roles and bool(self.teams))

    def can_see_team(self, team: str | None) -> bool:
        return not self.team_scoped or (team is not None and team in self.teams)


def call_key(caller: str, secret: str) -> OctKey:
    """The HS256 key a caller signs its calls with (its `kid` is the caller's name)."""
    return OctKey.import_key(secret.encode(), {"kid": caller})


def sign_internal_token(
    principal: Principal,
    key: RSAKey | OctKey,
    *,
    audience: str | tuple[str, ...],
    issuer: str = INTERNAL_ISSUER,
    request_id: str = "",
    ttl: int = 30,
) -> str:
    """A compact JWT carrying the principal for the service `audience`, valid for `ttl` seconds:
    RS256 with the gateway's RSA key, HS256 with a service call's key. The platform always names
    one service; the service tests name them all at once."""
    audiences = (audience,) if isinstance(audience, str) else audience
    if not audiences or not set(audiences) <= set(SERVICES):
        raise ValueError("unknown service")
    now = int(time.time())
    claims = {
        "iss": issuer,
        "aud": audience if isinstance(audience, str) else list(audience),
        "iat": now,
        "nbf": now - 5,
        "exp": now + ttl,
        "sub": principal.subject,
        "kind": principal.kind,
        "roles": sorted(principal.roles),
        "teams": sorted(principal.teams),
        "rid": request_id,
        **({"name": principal.name} if principal.name else {}),
    }
    algorithm = GATEWAY_ALGORITHM if isinstance(key, RSAKey) else CALL_ALGORITHM
    header = {"alg": algorithm, "typ": INTERNAL_TOKEN_TYPE, **({"kid": key.kid} if key.kid else {})}
    return jwt.encode(header, claims, key, algorithms=[algorithm])


class GatewayKeys:
    """The gateway's public signing keys, from its JWKS URL or from a public JWKS file.

    Kept for `ttl` seconds; a token with an unknown `kid` fetches again, at most once per
    `refetch_interval` seconds (random `kid`s cannot make a service hammer the gateway). The
    gateway publishes a new key GATEWAY_KEY_ACTIVATION_SECONDS before it signs with it, so a
    rotation reaches every service without a restart. Only public RSA keys are taken."""

    def __init__(
        self,
        source: str,
        *,
        ttl: float = 60,
        refetch_interval: float = 5,
        timeout: float = 5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source = source
        self.ttl = ttl
        self.refetch_interval = refetch_interval
        self.timeout = timeout
        self.clock = clock
        self._keys: KeySet | None = None
        self._fetched_at = float("-inf")
        self._lock = threading.Lock()

    def key_for(self, kid: str | None) -> KeySet:
        """The key set that should hold `kid` (refreshed when due); InvalidToken without keys."""
        now = self.clock()
        with self._lock:
            age = now - self._fetched_at
            known = self._keys is not None and any(k.kid == kid for k in self._keys)
            if age >= self.ttl or (not known and age >= self.refetch_interval):
                with contextlib.suppress(
                    OSError, requests.RequestException, ValueError, KeyError, JoseError
                ):
                    self._keys = self._load()  # a failure keeps what we had
                self._fetched_at = now
            if self._keys is None:
                raise InvalidToken("the gateway's keys are not available")
            return self._keys

    def _load(self) -> KeySet:
        if self.source.startswith(("http://", "https://")):
            response = requests.get(self.source, timeout=self.timeout, allow_redirects=False)
            response.raise_for_status()
            published = response.json()["keys"]
        else:
            published = json.loads(Path(self.source).read_text())["keys"]
        public = [k for k in published if k.get("kty") == "RSA" and "d" not in k]
        return KeySet([JWKRegistry.import_key(k) for k in public])


@dataclass(frozen=True)
class _Caller:
    call: ServiceCall
    key: OctKey


class InternalTokenVerifier:
    """Verifies the internal tokens addressed to one service (`audience`)."""

    def __init__(
        self,
        audience: str,
        gateway_keys: GatewayKeys,
        call_secrets: Mapping[str, str] | None = None,
        *,
        leeway: int = 5,
    ) -> None:
        """`call_secrets`: caller name -> the key of its call to this service (SERVICE_CALLS)."""
        self.audience = audience
        self.gateway_keys = gateway_keys
        self.callers = {
            name: _Caller(service_call(name, audience), call_key(name, secret))
            for name, secret in (call_secrets or {}).items()
        }
        self.leeway = leeway

    def _claims(self, issuer: str) -> jwt.JWTClaimsRegistry:
        return jwt.JWTClaimsRegistry(
            leeway=self.leeway,
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": self.audience},
            exp={"essential": True},
            nbf={"essential": True},
            sub={"essential": True},
        )

    def _key(self, token: GuestProtocol):
        """joserfc's key callback: a call's own key for its `kid`, else the gateway's keys; the
        algorithm must be the one of that kind of key (no HS256 with a public key)."""
        header = token.headers()
        if header.get("typ") != INTERNAL_TOKEN_TYPE:
            raise InvalidToken("not an internal token")
        caller = self.callers.get(header.get("kid"))
        if caller is not None:
            if header.get("alg") != CALL_ALGORITHM:
                raise InvalidToken("wrong algorithm")
            return caller.key
        if header.get("alg") != GATEWAY_ALGORITHM:
            raise InvalidToken("wrong algorithm")
        return self.gateway_keys.key_for(header.get("kid"))

    def verify(self, token: str) -> tuple[Principal, str]:
        """The principal and request id of a valid token for this service; InvalidToken else."""
        try:
            decoded = jwt.decode(token, self._key, algorithms=[GATEWAY_ALGORITHM, CALL_ALGORITHM])
            caller = self.callers.get(decoded.header.get("kid"))
            issuer = caller.call.issuer if caller is not None else INTERNAL_ISSUER
            self._claims(issuer).validate(decoded.claims)
        except (JoseError, ValueError, TypeError) as exc:
            raise InvalidToken(type(exc).__name__) from exc
        claims = decoded.claims
        request_id = str(claims.get("rid", ""))
        if caller is not None:  # the table decides what a service call may do, not the token
            principal = Principal(caller.call.caller, caller.call.roles, kind="service")
            return principal, request_id
        roles, teams = claims.get("roles", []), claims.get("teams", [])
        if not isinstance(roles, list) or not isinstance(teams, list):
            raise InvalidToken("roles and teams must be lists")
        principal = Principal(
            subject=str(claims["sub"]),
            roles=frozenset(map(str, roles)),
            teams=frozenset(map(str, teams)),
            kind=str(claims.get("kind", "client")),
            name=str(claims.get("name", "")),
        )
        return principal, request_id
