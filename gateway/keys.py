"""The gateway's signing keys: a private JWKS file; all keys are published, the newest one that every
gateway has had time to publish signs."""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import Callable
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
    return read_keys(ensure_keys(settings))


def ensure_keys(settings: Settings) -> Path:
    """The private JWKS file, created with one key on first use outside production."""
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
    return path


def read_keys(path: Path) -> list[RSAKey]:
    """The private keys of a JWKS file, in its order (oldest first)."""
    data = json.loads(path.read_text())
    return [RSAKey.import_key(entry) for entry in data["keys"]]


def _wait_for(path: Path, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)


def rotate_keys(settings: Settings, keep: int = 3) -> str:
    """Add a new signing key and keep the newest `keep` keys, so that tokens signed by the previous
    key stay valid until they expire. Running gateways publish the new key within
    KeyRing.check_every seconds and sign with it once it is GATEWAY_KEY_ACTIVATION_SECONDS old."""
    keys = load_keys(settings)
    key = new_key()
    _write(keys_path(settings), [*keys, key][-keep:])
    return key.kid


_KID_TIME = re.compile(r"k(\d+)-")


def created_at(key: RSAKey) -> float:
    """When a key was made, from its time-ordered kid (`new_key`); 0 for a kid of another form
    (such a key is old enough to sign)."""
    match = _KID_TIME.match(key.kid or "")
    return float(match.group(1)) if match else 0.0


class KeyRing:
    """The gateway's keys, from the private JWKS file, followed while the process runs: the file is
    looked at no more than every `check_every` seconds and read again when it changed, so a
    rotation needs no restart. Every key in the file is published and verifies at once; the newest
    key signs only when it is `activation_delay` seconds old, by when every gateway reading the same
    file publishes it (no gateway signs a token that another cannot check yet). Until then the key
    before it signs; a first key signs at once."""

    def __init__(
        self,
        path: Path,
        *,
        check_every: float = 10.0,
        activation_delay: float = 120.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = path
        self.check_every = check_every
        self.activation_delay = activation_delay
        self.clock = clock
        self._lock = threading.Lock()
        self._checked_at = float("-inf")
        self._stamp: tuple[int, int] | None = None
        self.keys: list[RSAKey] = []
        self._verifying = KeySet([])
        self._refresh()

    def _refresh(self) -> None:
        now = self.clock()
        if now - self._checked_at < self.check_every:
            return
        with self._lock:
            self._checked_at = now
            status = self.path.stat()
            stamp = (status.st_mtime_ns, status.st_size)
            if stamp == self._stamp:
                return
            keys = read_keys(self.path)  # a broken file raises here and keeps nothing half-read
            self.keys = keys
            self._verifying = KeySet([RSAKey.import_key(k.as_dict(private=False)) for k in keys])
            self._stamp = stamp

    @property
    def verifying(self) -> KeySet:
        """The public keys that tokens of this gateway may be signed with (parsed once per file
        change, not per request)."""
        self._refresh()
        return self._verifying

    def __call__(self, _token: object = None) -> KeySet:
        """joserfc's key callback (BearerVerifier): the current verifying keys."""
        return self.verifying

    @property
    def signing(self) -> KeySet:
        """The key that signs now: the newest one old enough, else the oldest."""
        self._refresh()
        ready = self.clock() - self.activation_delay
        active = [key for key in self.keys if created_at(key) <= ready] or self.keys[:1]
        return KeySet([active[-1]])

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
