"""The internal tokens the gateway forwards with: signed once per caller, service and signing key,
then reused while at least half of their lifetime is left (an RS256 signature is the largest CPU
cost the gateway adds to a forwarded call)."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask

from gateway.keys import KeyRing
from shared.tokens import Principal, sign_internal_token
from shared.web import settings_of

CAPACITY = 4096


@dataclass(frozen=True)
class _Signed:
    token: str
    signed_at: float


class InternalTokens:
    """Internal tokens for (principal, service), signed with the key ring's current key.

    A token is handed out again while no more than half of `ttl` has passed since it was signed, so
    a service always receives one with at least about half its lifetime left. Tokens carry no
    request id (one token serves many requests): services take it from the X-Request-ID header. The
    signing key's `kid` is part of what a token is kept under, so a rotation signs anew at once.
    The `capacity` most recently used tokens are kept."""

    def __init__(
        self,
        key_ring: KeyRing,
        ttl: int,
        *,
        capacity: int = CAPACITY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.key_ring = key_ring
        self.ttl = ttl
        self.capacity = capacity
        self.clock = clock
        self._tokens: OrderedDict[tuple, _Signed] = OrderedDict()
        self._lock = threading.Lock()

    def token_for(self, principal: Principal, service: str) -> str:
        """A token carrying `principal` that only `service` accepts: a kept one while it is young
        enough, else a newly signed one."""
        key = self.key_ring.signing.keys[0]
        kept_under = (principal, service, key.kid)
        now = self.clock()
        with self._lock:
            signed = self._tokens.get(kept_under)
            if signed is not None and now - signed.signed_at <= self.ttl / 2:
                self._tokens.move_to_end(kept_under)
                return signed.token
        # Signed outside the lock: concurrent first calls for different callers need not queue
        # behind each other; two for the same caller at once both sign, and the later is kept.
        token = sign_internal_token(principal, key, audience=service, ttl=self.ttl)
        with self._lock:
            self._tokens[kept_under] = _Signed(token, now)
            self._tokens.move_to_end(kept_under)
            while len(self._tokens) > self.capacity:
                self._tokens.popitem(last=False)
        return token

    def __len__(self) -> int:
        return len(self._tokens)


def register_internal_tokens(app: Flask, key_ring: KeyRing) -> None:
    """One token keeper per process, for every internal token the gateway sends."""
    app.extensions["internal_tokens"] = InternalTokens(
        key_ring, settings_of(app).internal_token_ttl
    )
