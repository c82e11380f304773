"""`python -m bench.verification CALLS` with a gateway's environment and an access token on stdin:
prints (JSON) what the gateway's bearer verifier costs per call, with its keys parsed once as the
gateway does and with the JWKS parsed on every call, and how many keys each of them parsed."""

from __future__ import annotations

import json
import sys
import time
from contextlib import contextmanager

from joserfc.jwk import KeySet, RSAKey

from gateway.app import create_app
from gateway.bearer import BearerVerifier
from shared.web import settings_of


@contextmanager
def counting_key_imports():
    """Counts every RSA key parsed from a JWK or PEM while the block runs."""
    binding = RSAKey.binding
    originals = binding.import_from_dict, binding.import_from_bytes
    counter = {"imports": 0}

    def counted(original):
        def wrapper(*args, **kwargs):
            counter["imports"] += 1
            return original(*args, **kwargs)

        return wrapper

    binding.import_from_dict, binding.import_from_bytes = (counted(f) for f in originals)
    try:
        yield counter
    finally:
        binding.import_from_dict, binding.import_from_bytes = originals


def per_call_us(verify, token: str, calls: int) -> tuple[float, int]:
    """Median-of-five microseconds per `verify(token)`, and the keys parsed meanwhile."""
    verify(token)  # the first call may warm caches; not counted
    timings = []
    with counting_key_imports() as counter:
        for _ in range(5):
            started = time.perf_counter()
            for _ in range(calls // 5):
                verify(token)
            timings.append((time.perf_counter() - started) / (calls // 5) * 1e6)
    return sorted(timings)[2], counter["imports"]


def main() -> int:
    calls = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    token = sys.stdin.read().strip()
    app = create_app()
    try:
        gateway_verifier = app.extensions["bearer_verifier"]  # what every /api/v1 call goes through
        builtin = app.extensions["builtin_verifier"]
        jwks = app.extensions["key_ring"].public_jwks()
        parsing_every_time = BearerVerifier(
            lambda _token: KeySet.import_key_set(jwks),
            issuer=builtin.issuer,
            audience=settings_of(app).gateway_audience,
            algorithms=builtin.algorithms,
        )
        cached_us, cached_imports = per_call_us(gateway_verifier.verify, token, calls)
        uncached_us, uncached_imports = per_call_us(parsing_every_time.verify, token, calls)
    finally:
        app.extensions["db_pool"].close()
    print(
        json.dumps(
            {
                "calls": calls,
                "cached_us": cached_us,
                "cached_key_imports": cached_imports,
                "uncached_us": uncached_us,
                "uncached_key_imports": uncached_imports,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
