"""Pseudonyms: keyed HMAC-SHA256 of normalised names and case numbers, stable and not reversible
without the key."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import unicodedata

_ENGINEER_PREFIX = "eng_"
_CASE_PREFIX = "case_"
_CODE_CHARS = 24
_ENGINEER_CODE = re.compile(rf"{_ENGINEER_PREFIX}[a-z2-7]{{{_CODE_CHARS}}}")
_CASE_REF = re.compile(rf"{_CASE_PREFIX}[a-z2-7]{{{_CODE_CHARS}}}")


def normalize_identity(text: str) -> str:
    """Case-, accent- and white-space-insensitive form of a name or id.

    `Anna  Müller`, `anna müller` and `ANNA MULLER` are the same person: accents are folded
    (NFKD, combining marks dropped) because exports from older tools often lost them. Letters that
    are not a base letter plus an accent stay themselves (`ø`, `ł`; `ß` folds to `ss`), the
    typographic apostrophe becomes `'`, and hyphens are kept. Changing this changes every
    pseudonym already stored.
    """
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(stripped.casefold().replace("’", "'").split())


def _pseudonym(prefix: str, domain: bytes, text: str, key: bytes) -> str:
    digest = hmac.new(key, domain + normalize_identity(text).encode(), hashlib.sha256).digest()
    return prefix + base64.b32encode(digest).decode().lower()[:_CODE_CHARS]


def engineer_code(name: str, key: bytes) -> str:
    """The engineer's pseudonym, e.g. `eng_` + 24 base32 characters (120 bits)."""
    return _pseudonym(_ENGINEER_PREFIX, b"engineer\x00", name, key)


def case_ref(case_number: str, key: bytes) -> str:
    """The case number's pseudonym, `case_` + 24 base32 characters; never equal to an engineer
    code of the same text (separate HMAC domains)."""
    return _pseudonym(_CASE_PREFIX, b"case\x00", case_number, key)


def is_engineer_code(text: str) -> bool:
    """True when `text` has the form of an engineer_code (the whole string, nothing around it)."""
    return isinstance(text, str) and _ENGINEER_CODE.fullmatch(text) is not None


def is_case_ref(text: str) -> bool:
    """True when `text` has the form of a case_ref (the whole string, nothing around it)."""
    return isinstance(text, str) and _CASE_REF.fullmatch(text) is not None


def external_subject(issuer: str, subject: str, key: bytes) -> str:
    """A caller known to an external identity provider, as the platform records it: `ext_` + 24
    base32 characters of a keyed hash of issuer and `sub`. Providers may use an e-mail address as
    `sub`; it never reaches a table, a log line or a service. Not normalised: `sub` is an exact id."""
    message = b"external-subject\x00" + issuer.encode() + b"\x00" + subject.encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return "ext_" + base64.b32encode(digest).decode().lower()[:_CODE_CHARS]
