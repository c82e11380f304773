"""Bearer access tokens at the gateway.

Tokens come from the built-in provider or, when `OIDC_ISSUER` is set, from the company's provider
too. Each issuer has its own `BearerVerifier`: signature against that issuer's keys with pinned
algorithms, `iss`, `aud` (our own tokens: the API's or the MCP endpoint's, RFC 8707), `exp` (and
`nbf` when present, required for our own tokens) checked, ID tokens refused (`typ` must be
`at+jwt`). The unverified `iss` only picks the verifier; that verifier
then checks everything again. An external issuer's keys come from its discovery document's
`jwks_uri`, cached for a TTL with one refetch for an unknown `kid` (rate-limited, so random `kid`s
cannot make the gateway hammer the provider). Header parameters like `jku`/`x5u` are never used.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from collections.abc import Callable, Iterable

import requests
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import GuestProtocol, JWKRegistry, KeySet

from gateway.clients import ROLES
from shared.errors import ServiceUnavailable, Unauthorized
from shared.tokens import Principal

ACCESS_TOKEN_TYPES = frozenset({"at+jwt", "application/at+jwt"})
TEAM_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
ASYMMETRIC = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384"})


class RemoteKeySet:
    """An external issuer's published signing keys, fetched from its discovery document.

    Kept for `ttl` seconds. A token with a `kid` not in the set causes one refetch, at most once per
    `refetch_interval` seconds. When the provider cannot be reached, the keys already known are used
    while they last; with none at all the gateway answers 503 (not the caller's fault)."""

    def __init__(
        self,
        issuer: str,
        *,
        ttl: float = 300,
        refetch_interval: float = 30,
        timeout: float = 5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.issuer = issuer.rstrip("/")
        self.ttl = ttl
        self.refetch_interval = refetch_interval
        self.timeout = timeout
        self.clock = clock
        self.fetches = 0
        self._keys: KeySet | None = None
        self._fetched_at = float("-inf")
        self._jwks_uri: str | None = None
        self._lock = threading.Lock()

    def __call__(self, token: GuestProtocol) -> KeySet:
        """joserfc's key callback: the key set that holds the token's `kid`, as far as we know."""
        kid = token.headers().get("kid")
        now = self.clock()
        with self._lock:
            if self._due(kid, now):
                with contextlib.suppress(
                    requests.RequestException, ValueError, KeyError, TypeError, JoseError
                ):
                    self._keys = self._fetch()  # a failure keeps what we had
                self._fetched_at = now  # and also waits for the interval before the next try
            if self._keys is None:
                raise ServiceUnavailable(
                    "The identity provider's keys cannot be fetched right now."
                )
            return self._keys

    def _due(self, kid: str | None, now: float) -> bool:
        age = now - self._fetched_at
        if age >= self.ttl:
            return True
        if age < self.refetch_interval:
            return False
        return self._keys is None or (kid is not None and not self._has(kid))

    def _has(self, kid: str) -> bool:
        return any(key.kid == kid for key in self._keys or ())

    def _fetch(self) -> KeySet:
        self.fetches += 1
        if self._jwks_uri is None:
            discovery = _get_json(f"{self.issuer}/.well-known/openid-configuration", self.timeout)
            if discovery["issuer"].rstrip("/") != self.issuer:
                raise ValueError("the discovery document names another issuer")
            self._jwks_uri = discovery["jwks_uri"]
        published = _get_json(self._jwks_uri, self.timeout)["keys"]
        signing = [
            key
            for key in published
            if key.get("kty") in {"RSA", "EC"} and key.get("use", "sig") == "sig" and "d" not in key
        ]
        return KeySet([JWKRegistry.import_key(key) for key in signing])


def _get_json(url: str, timeout: float) -> dict:
    response = requests.get(url, timeout=timeout, allow_redirects=False)
    response.raise_for_status()
    return response.json()


class BearerVerifier:
    """Verifies access tokens of one issuer; its keys are parsed once, not per request."""

    def __init__(
        self,
        keys: KeySet | Callable[[GuestProtocol], KeySet],  # a RemoteKeySet or a KeyRing
        *,
        issuer: str,
        audience: str | Iterable[str],
        algorithms: Iterable[str] = ("RS256",),
        roles_claim: str = "roles",
        teams_claim: str = "teams",
        require_nbf: bool = True,
        subject_pseudonym: Callable[[str], str] | None = None,
        leeway: int = 30,
    ) -> None:
        self.keys = keys
        self.subject_pseudonym = subject_pseudonym
        self.issuer = issuer
        self.algorithms = [alg for alg in algorithms if alg in ASYMMETRIC]
        if not self.algorithms:
            raise ValueError(f"pin at least one of {', '.join(sorted(ASYMMETRIC))}")
        self.roles_claim = roles_claim
        self.teams_claim = teams_claim
        self.claims = jwt.JWTClaimsRegistry(
            leeway=leeway,
            iss={"essential": True, "value": issuer},
            # any one of `audience` (the built-in provider's tokens are for the API or for /mcp)
            aud={
                "essential": True,
                "values": [audience] if isinstance(audience, str) else list(audience),
            },
            exp={"essential": True},
            nbf={"essential": require_nbf},
            sub={"essential": True},
        )

    def verify(self, token: str) -> Principal:
        """The caller a valid access token stands for; Unauthorized for anything else."""
        try:
            decoded = jwt.decode(token, self.keys, algorithms=self.algorithms)
            self.claims.validate(decoded.claims)
        except (JoseError, ValueError, TypeError, KeyError):
            raise invalid_token() from None
        if str(decoded.header.get("typ", "")).lower() not in ACCESS_TOKEN_TYPES:
            raise invalid_token()  # an ID token (typ JWT) is not an access token
        claims = decoded.claims
        subject = str(claims["sub"])
        return Principal(
            subject=self.subject_pseudonym(subject) if self.subject_pseudonym else subject,
            roles=frozenset(role for role in _names(claims.get(self.roles_claim)) if role in ROLES),
            teams=frozenset(
                team for team in _names(claims.get(self.teams_claim)) if TEAM_NAME.match(team)
            ),
            kind="user" if claims.get("client_id") != subject else "client",
            name=_display_name(claims.get("name")),
        )


def _names(value: object) -> list[str]:
    """A claim that lists names: a JSON array of strings, or one space-separated string.
    Anything else lists nothing (the allow-lists then give no access)."""
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


class IssuerVerifiers:
    """The verifiers of every trusted issuer; a token goes to the one its `iss` names."""

    def __init__(self, verifiers: Iterable[BearerVerifier]) -> None:
        self.by_issuer = {verifier.issuer: verifier for verifier in verifiers}

    def verify(self, token: str) -> Principal:
        verifier = self.by_issuer.get(_unverified_issuer(token))
        if verifier is None:
            raise invalid_token()
        return verifier.verify(token)


class BearerCredentials:
    """What `Authorization: Bearer` may carry at the API: an API key (sent to `api_keys`, when
    `is_api_key` says it is one) or a JWT access token (sent to the issuers' verifiers)."""

    def __init__(
        self,
        tokens: IssuerVerifiers,
        api_keys: Callable[[str], Principal],
        is_api_key: Callable[[str], bool],
    ) -> None:
        self.tokens = tokens
        self.api_keys = api_keys
        self.is_api_key = is_api_key

    def verify(self, credential: str) -> Principal:
        if self.is_api_key(credential):
            return self.api_keys(credential)
        return self.tokens.verify(credential)


def _unverified_issuer(token: str) -> str | None:
    try:
        claims = json.loads(jws.extract_compact(token.encode()).payload)
    except (JoseError, ValueError, TypeError, UnicodeDecodeError):
        return None
    issuer = claims.get("iss") if isinstance(claims, dict) else None
    return issuer if isinstance(issuer, str) else None


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


def _display_name(claim) -> str:
    """The `name` claim as a display name (QA shows reviewers by it): text, at most 80 characters
    without control characters; anything else is no name."""
    if not isinstance(claim, str) or any(ord(c) < 0x20 or ord(c) == 0x7F for c in claim):
        return ""
    return claim.strip()[:80]
