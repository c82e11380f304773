"""gateway/internal_tokens.py: one signature per caller, service and signing key while the token is
young enough; another caller, service or key, an older token or a full cache signs anew."""

import json
import threading

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from gateway import internal_tokens
from gateway.internal_tokens import InternalTokens
from gateway.keys import KeyRing
from shared.tokens import InternalTokenVerifier, Principal

FIRST = RSAKey.generate_key(2048, parameters={"kid": "unit-first"})
SECOND = RSAKey.generate_key(2048, parameters={"kid": "unit-second"})
MANAGER = Principal("m-1", frozenset({"manager"}), frozenset({"emea-1"}), kind="user", name="Ann")
TTL = 30


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class PublicKeys:
    """A service's view of the gateway's keys (both test keys, public parts only)."""

    def key_for(self, _kid):
        return KeySet([RSAKey.import_key(k.as_dict(private=False)) for k in (FIRST, SECOND)])


def write_keys(path, *keys):
    path.write_text(json.dumps({"keys": [key.as_dict(private=True) for key in keys]}))


@pytest.fixture
def key_file(tmp_path):
    path = tmp_path / "jwks.json"
    write_keys(path, FIRST)
    return path


@pytest.fixture
def signatures(monkeypatch):
    """Every token signed through the module, in order."""
    signed = []
    sign = internal_tokens.sign_internal_token

    def counting(*args, **kwargs):
        signed.append(sign(*args, **kwargs))
        return signed[-1]

    monkeypatch.setattr(internal_tokens, "sign_internal_token", counting)
    return signed


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def tokens(key_file, clock):
    ring = KeyRing(key_file, check_every=0, activation_delay=0)
    return InternalTokens(ring, TTL, capacity=3, clock=clock)


def test_the_same_caller_and_service_twice_share_one_signature(tokens, signatures):
    first = tokens.token_for(MANAGER, "persistence")
    assert tokens.token_for(MANAGER, "persistence") == first
    assert signatures == [first]
    principal, request_id = InternalTokenVerifier("persistence", PublicKeys()).verify(first)
    assert principal == MANAGER
    assert request_id == ""  # one token serves many requests: the id travels as X-Request-ID


@pytest.mark.parametrize(
    ("other", "service"),
    [
        (Principal("m-1", frozenset({"manager"}), frozenset({"emea-2"}), "user", "Ann"), None),
        (Principal("m-1", frozenset({"qa_lead"}), frozenset({"emea-1"}), "user", "Ann"), None),
        (Principal("m-2", frozenset({"manager"}), frozenset({"emea-1"}), "user", "Ann"), None),
        (Principal("m-1", frozenset({"manager"}), frozenset({"emea-1"}), "client", "Ann"), None),
        (Principal("m-1", frozenset({"manager"}), frozenset({"emea-1"}), "user", "Bo"), None),
        (MANAGER, "trends"),
    ],
    ids=["teams", "role", "subject", "kind", "name", "service"],
)
def test_another_caller_or_service_gets_a_token_of_its_own(tokens, signatures, other, service):
    first = tokens.token_for(MANAGER, "persistence")
    second = tokens.token_for(other, service or "persistence")
    assert second != first
    assert signatures == [first, second]
    assert tokens.token_for(MANAGER, "persistence") == first  # the first is still kept


def test_a_token_is_reused_until_half_its_lifetime_has_passed(tokens, signatures, clock):
    first = tokens.token_for(MANAGER, "persistence")
    clock.now += TTL / 2
    assert tokens.token_for(MANAGER, "persistence") == first
    assert len(signatures) == 1
    clock.now += 0.01
    renewed = tokens.token_for(MANAGER, "persistence")
    assert len(signatures) == 2 and signatures[-1] == renewed
    clock.now += TTL / 2
    assert tokens.token_for(MANAGER, "persistence") == renewed  # the new one is kept in turn
    assert len(signatures) == 2


def test_a_new_signing_key_signs_at_once(tokens, signatures, key_file):
    first = tokens.token_for(MANAGER, "persistence")
    assert jwt.decode(first, FIRST).header["kid"] == FIRST.kid
    write_keys(key_file, FIRST, SECOND)  # the rotation: the newest key signs
    rotated = tokens.token_for(MANAGER, "persistence")
    assert len(signatures) == 2
    assert jwt.decode(rotated, SECOND).header["kid"] == SECOND.kid


def test_the_least_recently_used_token_leaves_a_full_cache(tokens, signatures):
    callers = [Principal(f"client-{n}", frozenset({"agent"})) for n in range(4)]
    for caller in callers[:3]:
        tokens.token_for(caller, "persistence")
    tokens.token_for(callers[0], "persistence")  # used again: now the most recent
    tokens.token_for(callers[3], "persistence")  # capacity 3: client-1 leaves
    assert len(tokens) == 3
    assert len(signatures) == 4
    tokens.token_for(callers[0], "persistence")
    tokens.token_for(callers[2], "persistence")
    assert len(signatures) == 4
    tokens.token_for(callers[1], "persistence")
    assert len(signatures) == 5


def test_concurrent_callers_each_get_a_valid_token_and_the_cache_stays_bounded(tokens):
    verifier = InternalTokenVerifier("persistence", PublicKeys())
    callers = [Principal(f"client-{n}", frozenset({"agent"})) for n in range(8)]
    seen: dict[int, list[Principal]] = {}

    def call(worker: int) -> None:
        seen[worker] = [
            verifier.verify(tokens.token_for(caller, "persistence"))[0] for caller in callers * 3
        ]

    threads = [threading.Thread(target=call, args=(worker,)) for worker in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert all(seen[worker] == callers * 3 for worker in range(4))
    assert len(tokens) == 3
