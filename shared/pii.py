"""The PII guard for free text: finds e-mail addresses, phone numbers, IP addresses, IBANs, card
numbers, case numbers and given names; reports positions and kinds only, never the text."""

from __future__ import annotations

import functools
import ipaddress
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import phonenumbers
from stdnum import iban, luhn

from shared.pseudonyms import normalize_identity

PHONE_REGIONS = (None, "DE", "US", "GB", "FR", "IT", "ES", "TR", "CZ", "PL")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")
_IPV6 = re.compile(r"(?<![0-9A-Fa-f:])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?![0-9A-Fa-f:])")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b")
_CARD = re.compile(r"(?<!\d)\d(?:[ -]?\d){12,18}(?!\d)")
_CASE_NUMBER = re.compile(r"(?<![\d.,])\d{8}(?![\d.,]\d|\d)")
_DATE = re.compile(r"^\d{4}[-./]\d{1,2}[-./]\d{1,2}$|^\d{1,2}[-./]\d{1,2}[-./]\d{2,4}$")
_DIGITS = re.compile(r"\d")
_DIGIT_RUN = re.compile(r"\d[\d\s()./-]{5,}\d")


@dataclass(frozen=True)
class PiiFinding:
    """Where personal data was found (`start`/`end` offsets) and what kind it is."""

    kind: str
    start: int
    end: int


def _emails(text: str) -> Iterable[PiiFinding]:
    if "@" in text:
        for match in _EMAIL.finditer(text):
            yield PiiFinding("email", match.start(), match.end())


def _ip_addresses(text: str) -> Iterable[PiiFinding]:
    if "." in text:
        for match in _IPV4.finditer(text):
            try:
                ipaddress.IPv4Address(match.group())
            except ValueError:
                continue
            yield PiiFinding("ip_address", match.start(), match.end())
    if text.count(":") >= 2:
        for match in _IPV6.finditer(text):
            candidate = match.group()
            if candidate.count(":") < 2 or not any(c.isalnum() for c in candidate):
                continue
            try:
                ipaddress.IPv6Address(candidate)
            except ValueError:
                continue
            yield PiiFinding("ip_address", match.start(), match.end())


def _bank_numbers(text: str) -> Iterable[PiiFinding]:
    for match in _IBAN.finditer(text):
        if iban.is_valid(match.group().replace(" ", "")):
            yield PiiFinding("iban", match.start(), match.end())
    for match in _CARD.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        if 13 <= len(digits) <= 19 and luhn.is_valid(digits):
            yield PiiFinding("card_number", match.start(), match.end())


def _case_numbers(text: str) -> Iterable[PiiFinding]:
    for match in _CASE_NUMBER.finditer(text):
        yield PiiFinding("case_number", match.start(), match.end())


def _phones(text: str) -> Iterable[PiiFinding]:
    if not _DIGIT_RUN.search(text):
        return
    seen: set[tuple[int, int]] = set()
    for region in PHONE_REGIONS:
        if region is None and "+" not in text:
            continue
        matcher = phonenumbers.PhoneNumberMatcher(
            text, region or "ZZ", leniency=phonenumbers.Leniency.VALID
        )
        for match in matcher:
            span = (match.start, match.end)
            raw = match.raw_string
            if span in seen or _DATE.match(raw.strip()) or len(_DIGITS.findall(raw)) < 7:
                continue
            seen.add(span)
            yield PiiFinding("phone", match.start, match.end)


def _fold(text: str) -> tuple[str, list[int] | None]:
    """Accent- and case-folded text with, for each folded character, its index in `text`
    (None when they coincide, as for ASCII text)."""
    if text.isascii():
        return text.lower(), None
    folded: list[str] = []
    index: list[int] = []
    for position, char in enumerate(text):
        decomposed = unicodedata.normalize("NFKD", char)
        for piece in "".join(c for c in decomposed if not unicodedata.combining(c)).casefold():
            folded.append(piece)
            index.append(position)
    return "".join(folded), index


@functools.lru_cache(maxsize=4096)
def _name_patterns(name: str) -> tuple[tuple[str, re.Pattern[str]], ...]:
    """For a name: the whole name and each word of three letters or more (a surname alone), each
    with a cheap substring to test first and the whole-word pattern to confirm."""
    words = normalize_identity(name).split()
    candidates = [words] + ([[word] for word in words if len(word) >= 3] if len(words) > 1 else [])
    return tuple(
        (candidate[0], re.compile(r"(?<!\w)" + r"\s+".join(map(re.escape, candidate)) + r"(?!\w)"))
        for candidate in candidates
    )


def _names(text: str, names: Iterable[str]) -> Iterable[PiiFinding]:
    patterns = [
        pattern for name in names if name and name.strip() for pattern in _name_patterns(name)
    ]
    if not patterns:
        return
    folded, index = _fold(text.replace("’", "'"))
    for probe, pattern in patterns:
        if probe not in folded:
            continue
        for match in pattern.finditer(folded):
            start, end = match.start(), match.end()
            if index is not None:
                start, end = index[start], index[end - 1] + 1
            yield PiiFinding("person_name", start, end)


def find_pii(text: str | None, *, names: Iterable[str] = ()) -> list[PiiFinding]:
    """Every piece of personal data in `text`, sorted by position, overlaps resolved (the longer
    finding wins). Empty text and text without digits, `@` or names return at once."""
    if not text:
        return []
    names = tuple(names)
    has_digit = bool(_DIGITS.search(text))
    if not has_digit and "@" not in text and ":" not in text and not names:
        return []
    findings: list[PiiFinding] = [*_emails(text), *_names(text, names)]
    if has_digit:
        findings += [
            *_ip_addresses(text),
            *_bank_numbers(text),
            *_case_numbers(text),
            *_phones(text),
        ]
    elif ":" in text:
        findings += list(_ip_addresses(text))
    return _without_overlaps(findings)


def _without_overlaps(findings: list[PiiFinding]) -> list[PiiFinding]:
    kept: list[PiiFinding] = []
    for finding in sorted(findings, key=lambda f: (-(f.end - f.start), f.start)):
        if all(finding.end <= other.start or finding.start >= other.end for other in kept):
            kept.append(finding)
    return sorted(kept, key=lambda f: f.start)


def redact(text: str, findings: Iterable[PiiFinding]) -> str:
    """`text` with each finding replaced by `[redacted:<kind>]`."""
    result = text
    for finding in sorted(findings, key=lambda f: f.start, reverse=True):
        result = f"{result[: finding.start]}[redacted:{finding.kind}]{result[finding.end :]}"
    return result


def scan_value(value: Any, *, names: Iterable[str] = (), path: str = "") -> list[tuple[str, str]]:
    """Walk nested dicts/lists and return `(dotted path, kind)` for each piece of personal data in
    a string value or key (e.g. `("comment", "email")`)."""
    names = tuple(names)
    hits: list[tuple[str, str]] = []
    if isinstance(value, str):
        hits += [(path, finding.kind) for finding in find_pii(value, names=names)]
    elif isinstance(value, dict):
        for key, item in value.items():
            child = f"{path}.{key}" if path else str(key)
            hits += [(child, finding.kind) for finding in find_pii(str(key), names=names)]
            hits += scan_value(item, names=names, path=child)
    elif isinstance(value, list | tuple):
        for position, item in enumerate(value):
            hits += scan_value(
                item, names=names, path=f"{path}.{position}" if path else str(position)
            )
    return hits


def redact_value(value: Any, *, names: Iterable[str] = ()) -> Any:
    """A copy of a nested value with personal data in its strings redacted."""
    names = tuple(names)
    if isinstance(value, str):
        return redact(value, find_pii(value, names=names))
    if isinstance(value, dict):
        return {
            redact(str(k), find_pii(str(k), names=names)): redact_value(v, names=names)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact_value(item, names=names) for item in value]
    return value
