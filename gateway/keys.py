"""The gateway's signing keys: a private JWKS file; the newest key signs, all keys are published."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from joserfc.jwk import KeySet, RSAKey

from shared.config import ConfigError, Settings

ALGORITHM = "RS256"


def keys_path(settings: Settings) -> Path:
    """GATEWAY_SIGNING_KEYS, else DATA_DIR/gateway_jwks.json."""
    configured = settings.gateway_signing_keys
    return Path(configured) if configured else settings.data_dir / "gateway_jwks.json"


def new_key() -> RSAKey:
    """A fresh 2048-bit RSA signing key with a time-ordered key id."""
    kid = f"k{int(time.time())}-{os.urandom(3).hex()}"
    return RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": ALGORITHM})


def _write(path: Path, keys: list[RSAKey]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({"keys": [key.as_dict(private=True) for key in keys]}, handle)
    temporary.replace(path)


def load_keys(settings: Settings) -> list[RSAKey]:
    """The private keys, oldest first; created on first use outside production."""
    path = keys_path(settings)
    if not path.exists():
        if settings.production:
            raise ConfigError("GATEWAY_SIGNING_KEYS must name the private JWKS file in production")
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path.with_suffix(".lock"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            _wait_for(path)
        else:
            os.close(fd)
            _write(path, [new_key()])
    data = json.loads(path.read_text())
    return [RSAKey.import_key(entry) for entry in data["keys"]]


def _wait_for(path: Path, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)


def rotate_keys(settings: Settings, keep: int = 3) -> str:
    """Add a new signing key (published at once, used for signing from the next start) and keep
    the newest `keep` keys so tokens signed by the previous key stay valid until they expire."""
    keys = load_keys(settings)
    key = new_key()
    _write(keys_path(settings), [*keys, key][-keep:])
    return key.kid


class KeyRing:
    """Keys loaded once per process: the signing key set and the public JWKS."""

    def __init__(self, keys: list[RSAKey]) -> None:
        self.keys = keys
        self.signing = KeySet([keys[-1]])
        self.verifying = KeySet([RSAKey.import_key(key.as_dict(private=False)) for key in keys])

    def public_jwks(self) -> dict:
        return self.verifying.as_dict(private=False)


def init_keys(path: Path) -> bool:
    """Create the private JWKS file with one key unless it exists (deployments run this once, before
    the first gateway starts); True when it was created."""
    if path.exists():
        return False
    _write(path, [new_key()])
    return True


def main(argv: list[str] | None = None) -> int:
    """`python -m gateway.keys init PATH` (create once) or `print` (a new private JWKS on stdout,
    for a secret store)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m gateway.keys", description=main.__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("init").add_argument("path", type=Path)
    sub.add_parser("print")
    args = parser.parse_args(argv)
    if args.command == "init":
        print("created" if init_keys(args.path) else "exists", args.path)
    else:
        print(json.dumps({"keys": [new_key().as_dict(private=True)]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
