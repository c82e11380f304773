"""`python -m gateway.keys`: the one-off key creation deployments run before the first start."""

import json
import stat
import subprocess
import sys

from joserfc.jwk import RSAKey

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
