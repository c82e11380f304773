"""`python -m gateway.keys`: the one-off key creation deployments run before the first start."""

import json
import stat
import subprocess
import sys

from joserfc.jwk import RSAKey

from gateway.keys import KeyRing, created_at, new_key
from shared.config import PROJECT_ROOT


def run(*args):
    return subprocess.run(
        [sys.executable, "-m", "gateway.keys", *args],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout


def test_init_creates_a_private_key_file_once(tmp_path):
    path = tmp_path / "keys" / "gateway_jwks.json"
    assert run("init", str(path)).startswith("created")
    first = path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert run("init", str(path)).startswith("exists")
    assert path.read_text() == first, "an existing key file is never replaced"
    key = RSAKey.import_key(json.loads(first)["keys"][0])
    assert key.is_private and key.kid


def test_print_writes_a_fresh_private_jwks():
    keys = json.loads(run("print"))["keys"]
    assert len(keys) == 1 and RSAKey.import_key(keys[0]).is_private


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def write_keys(path, *keys):
    path.write_text(json.dumps({"keys": [key.as_dict(private=True) for key in keys]}))


def test_a_key_ring_follows_its_file_and_signs_with_a_new_key_only_when_it_is_old_enough(tmp_path):
    path = tmp_path / "jwks.json"
    first = new_key()
    write_keys(path, first)
    clock = Clock(created_at(first) + 5)
    ring = KeyRing(path, check_every=10, activation_delay=120, clock=clock)
    assert [key.kid for key in ring.signing] == [first.kid]  # a first key signs at once

    clock.now = created_at(first) + 1000
    assert [key.kid for key in ring.verifying] == [first.kid]  # the file looked at now
    second = RSAKey.generate_key(2048, parameters={"kid": f"k{int(clock.now)}-bbbbbb"})
    write_keys(path, first, second)
    assert [key.kid for key in ring.verifying] == [first.kid]  # not looked at again for 10 s
    clock.now += 10
    assert [key.kid for key in ring.verifying] == [first.kid, second.kid]  # published …
    assert [key.kid for key in ring.signing] == [first.kid]  # … not yet signing
    clock.now += 120
    assert [key.kid for key in ring.signing] == [second.kid]
    parsed = ring.verifying
    clock.now += 10
    assert ring.verifying is parsed  # an unchanged file is not parsed again


def test_a_kid_of_another_form_counts_as_old_enough():
    assert created_at(RSAKey.generate_key(2048, parameters={"kid": "from-the-vault"})) == 0.0


def test_an_id_token_names_the_key_that_signs_it_while_a_new_one_waits(tmp_path):
    from gateway.oidc import IdTokens

    path = tmp_path / "jwks.json"
    first = new_key()
    clock = Clock(created_at(first) + 1000)
    second = RSAKey.generate_key(2048, parameters={"kid": f"k{int(clock.now)}-cccccc"})
    write_keys(path, first, second)  # the second is published, not yet signing
    ring = KeyRing(path, check_every=10, activation_delay=120, clock=clock)
    id_tokens = IdTokens(ring, "https://issuer.example")
    assert id_tokens.get_encode_header(None)["kid"] == first.kid
    assert [key.kid for key in id_tokens.resolve_client_private_key(None)] == [first.kid]
