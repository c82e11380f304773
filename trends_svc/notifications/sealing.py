"""Channel configs at rest: sealed with Fernet under a key derived from NOTIFICATIONS_KEY, and the
masked form answers show (`https://hooks…/…XYZ`), never a whole URL, secret or address."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import urlsplit

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

SECRET_FIELDS = frozenset({"secret"})
URL_FIELDS = frozenset({"url"})
ADDRESS_FIELDS = frozenset({"recipients"})


class SealError(RuntimeError):
    """A sealed config that this key cannot open (the key changed)."""


def fernet_for(key_material: str) -> Fernet:
    """A Fernet whose key is derived from the configured secret (any long random string)."""
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"cr-notification-channels"
    ).derive(key_material.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


def seal(fernet: Fernet, config: dict[str, Any]) -> str:
    return fernet.encrypt(json.dumps(config, sort_keys=True).encode()).decode()


def unseal(fernet: Fernet, sealed: str) -> dict[str, Any]:
    try:
        return json.loads(fernet.decrypt(sealed.encode()))
    except InvalidToken:
        raise SealError("the channel's config cannot be decrypted with NOTIFICATIONS_KEY") from None


def mask_url(url: str) -> str:
    """`https://hooks.slack.com/services/T0/B0/abcXYZ` -> `https://hooks…/…XYZ`."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{(parts.hostname or '')[:5]}…/…{url[-3:]}"


def mask_address(address: str) -> str:
    """`manager@demo.local` -> `m…@demo.local`: enough to recognise, not to copy."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}…@{domain}"


def masked(config: dict[str, Any]) -> dict[str, Any]:
    """The config as an answer may show it: URLs and addresses masked, secrets only as set."""
    shown: dict[str, Any] = {}
    for name, value in config.items():
        if name in SECRET_FIELDS:
            shown[f"{name}_set"] = bool(value)
        elif name in URL_FIELDS:
            shown[name] = mask_url(value)
        elif name in ADDRESS_FIELDS:
            shown[name] = [mask_address(address) for address in value]
        else:
            shown[name] = value
    return shown
