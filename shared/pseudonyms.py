"""Pseudonyms: keyed HMAC-SHA256 of normalised names and case numbers, stable and not reversible
without the key."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import re
import unicodedata
from collections.abc import Iterable

_ENGINEER_PREFIX = "eng_"
_CASE_PREFIX = "case_"
_ENGINEER_DOMAIN = b"engineer\x00"
_CODE_CHARS = 24
_CODE_BYTES = _CODE_CHARS * 5 // 8  # 24 base32 characters are exactly 15 bytes
_BASE32_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
# Every three base32 characters (15 bits): 32,768 strings, 1.7 MB per process.
_BASE32_TRIPLES = [
    a + b + c for a in _BASE32_ALPHABET for b in _BASE32_ALPHABET for c in _BASE32_ALPHABET
]
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
    if text.isdigit() and text.isascii():  # a case number: its own normal form
        return text
    if text.isascii():  # ASCII is its own NFKD form, without marks; casefold() is lower() here
        return " ".join(text.lower().split())
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(stripped.casefold().replace("’", "'").split())


def _base32(digest: bytes) -> str:
    """The first 24 characters of the lower-case RFC 4648 base32 text of `digest`, which are exactly
    `base64.b32encode(digest[:15]).decode().lower()`, in a fraction of its time: three characters
    (15 bits) per table look-up, eight look-ups written out (imports pseudonymise a value per row)."""
    n = int.from_bytes(digest[:_CODE_BYTES], "big")
    t = _BASE32_TRIPLES
    return (
        f"{t[n >> 105]}{t[n >> 90 & 0x7FFF]}{t[n >> 75 & 0x7FFF]}{t[n >> 60 & 0x7FFF]}"
        f"{t[n >> 45 & 0x7FFF]}{t[n >> 30 & 0x7FFF]}{t[n >> 15 & 0x7FFF]}{t[n & 0x7FFF]}"
    )


@functools.lru_cache(maxsize=8)
def _keyed(key: bytes, domain: bytes) -> hmac.HMAC:
    """HMAC-SHA256 under `key`, with the domain already hashed: a copy per value saves setting up
    the key every time (a third of a pseudonym's HMAC time)."""
    return hmac.new(key, domain, hashlib.sha256)


def _pseudonym(prefix: str, domain: bytes, text: str, key: bytes) -> str:
    return _pseudonyms(prefix, domain, (text,), key)[0]


def _pseudonyms(prefix: str, domain: bytes, texts: Iterable[str], key: bytes) -> list[str]:
    keyed = _keyed(key, domain).copy
    pseudonyms = []
    for text in texts:
        one = keyed()
        one.update(normalize_identity(text).encode())
        pseudonyms.append(prefix + _base32(one.digest()))
    return pseudonyms


def engineer_code(name: str, key: bytes) -> str:
    """The engineer's pseudonym, e.g. `eng_` + 24 base32 characters (120 bits)."""
    return _pseudonym(_ENGINEER_PREFIX, _ENGINEER_DOMAIN, name, key)


class EngineerCodes:
    """engineer_code under one key for the many records of one import or batch, which name the
    same engineers again and again: a name seen before is looked up instead of hashed again. Holds
    at most `limit` names, in memory only, for as long as its owner keeps it (one import or batch)."""

    def __init__(self, key: bytes, limit: int = 10_000) -> None:
        self._key = key
        self._limit = limit
        self._codes: dict[str, str] = {}

    def __call__(self, name: str) -> str:
        code = self._codes.get(name)
        if code is None:
            code = engineer_code(name, self._key)
            if len(self._codes) < self._limit:
                self._codes[name] = code
        return code


class KnownEngineers:
    """The engineer codes stored on this platform, held as the HMAC digests they were made from,
    with the key: `names_among` tells which of some names are known engineers' names, by making
    each one's code (no name is ever stored). A snapshot; its owner decides when to take a new one.
    Pickles (import workers receive it when they start)."""

    def __init__(self, codes: Iterable[str], key: bytes) -> None:
        self._key = key
        # A code of another form (a row written by hand, say) can name no one: it is left out
        # rather than failing every write that consults the set.
        self._digests = frozenset(
            base64.b32decode(code[len(_ENGINEER_PREFIX) :].upper())
            for code in codes
            if is_engineer_code(code)
        )

    def __len__(self) -> int:
        return len(self._digests)

    def names_among(self, names: Iterable[str]) -> set[str]:
        """The names among `names` (each already in `normalize_identity` form) whose
        engineer_code is a known one: one HMAC per name, a set look-up for its digest."""
        if not self._digests:
            return set()
        keyed, digests = _keyed(self._key, _ENGINEER_DOMAIN).copy, self._digests
        found = set()
        for name in names:
            one = keyed()
            one.update(name.encode())
            if one.digest()[:_CODE_BYTES] in digests:
                found.add(name)
        return found


def case_ref(case_number: str, key: bytes) -> str:
    """The case number's pseudonym, `case_` + 24 base32 characters; never equal to an engineer
    code of the same text (separate HMAC domains)."""
    return _pseudonym(_CASE_PREFIX, b"case\x00", case_number, key)


def case_refs(case_numbers: Iterable[str], key: bytes) -> list[str]:
    """case_ref of each case number (the many of an import chunk)."""
    return _pseudonyms(_CASE_PREFIX, b"case\x00", case_numbers, key)


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
    digest = hmac.digest(key, message, hashlib.sha256)
    return "ext_" + _base32(digest)
