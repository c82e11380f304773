"""The PII guard for free text: finds e-mail addresses, phone numbers, IP addresses, IBANs, card
numbers, case numbers, given names and the names of the platform's known engineers; reports
positions and kinds only, never the text."""

from __future__ import annotations

import functools
import ipaddress
import math
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import phonenumbers
from stdnum import iban, luhn

from shared.pseudonyms import KnownEngineers, normalize_identity

# None: international numbers written with a leading + (region "ZZ"); the others read national
# formats such as `0171 2345678` (DE) or `(415) 555-2671` (US).
PHONE_REGIONS = (None, "DE", "US", "GB", "FR", "IT", "ES", "TR", "CZ", "PL")

_EMAIL = re.compile(r"[\w.%+-]+@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}")
_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")
_IPV6 = re.compile(r"(?<![0-9A-Fa-f:])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?![0-9A-Fa-f:])")
_VERSION_BEFORE = re.compile(r"(?:\bv|\bver\.?|\bversion|\brelease|\bbuild)\s*$", re.IGNORECASE)
_IBAN = re.compile(r"\b[A-Za-z]{2}\d{2}(?: ?[A-Za-z0-9]){11,30}\b")
_CARD = re.compile(r"(?<!\d)\d{3,}(?:[ -]\d{3,})*")
_DIGIT_GROUP = re.compile(r"\d+")
_CASE_NUMBER = re.compile(r"(?<![\d.,])\d{8}(?![\d.,]\d|\d)")
_UUID = re.compile(r"\b[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}\b")
_DATE = re.compile(
    r"(?<![\d.])(?:(?P<y1>\d{4})(?P<s1>[-./])(?P<m1>\d{1,2})(?P=s1)(?P<d1>\d{1,2})"
    r"|(?P<a2>\d{1,2})(?P<s2>[-./])(?P<b2>\d{1,2})(?P=s2)(?:\d{4}|\d{2}))(?!\d|[-./]\d)"
)
_PHONE_CANDIDATE = re.compile(r"(?<!\d)\+?\(?\d(?:[ \t./()-]{0,3}\d){6,}")
_DIGITS = re.compile(r"\d")
# A word of a name, in folded text: letters, with apostrophes or hyphens inside (`o'brien`,
# `anne-marie`); and what follows it up to the next word.
_NAME_WORD = r"[^\W\d_]+(?:['-][^\W\d_]+)*"
_WORDS_AND_GAPS = re.compile(rf"({_NAME_WORD})([\W\d_]*)")
_WORDS = re.compile(_NAME_WORD)
MAX_NAME_WORDS = 3
# What may stand between two words of one name: white space, or one `.` or `_` between letters
# (a handle such as `anna.berg`). Anything else (a comma, a digit, `. `) ends the run.
_JOINERS = (".", "_")


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
            if _VERSION_BEFORE.search(text, max(0, match.start() - 12), match.start()):
                continue  # `version 3.7.0.1`, `v1.2.3.4`
            try:
                ipaddress.IPv4Address(match.group())
            except ValueError:
                continue
            yield PiiFinding("ip_address", match.start(), match.end())
    if text.count(":") >= 2:
        for match in _IPV6.finditer(text):
            candidate = match.group()
            if not any(char.isalnum() for char in candidate):
                continue
            try:
                ipaddress.IPv6Address(candidate)
            except ValueError:
                continue
            yield PiiFinding("ip_address", match.start(), match.end())


def _ibans(text: str) -> Iterable[PiiFinding]:
    for match in _IBAN.finditer(text):
        candidate = match.group()
        # The candidate may run on into the next word (`… 0130 00 BIC COBADEFF`): try it whole,
        # then cut at each space from the right.
        ends = [len(candidate)] + [
            i for i in range(len(candidate) - 1, 0, -1) if candidate[i] == " "
        ]
        for end in ends:
            if end >= 15 and iban.is_valid(candidate[:end]):
                yield PiiFinding("iban", match.start(), match.start() + end)
                break


def _card_numbers(text: str) -> Iterable[PiiFinding]:
    for match in _CARD.finditer(text):
        candidate = match.group()
        groups = [(g.start(), g.end()) for g in _DIGIT_GROUP.finditer(candidate)]
        first = 0
        # Group-aligned spans of 13 to 19 digits, longest first, so `4111 1111 1111 1111 12/27`
        # still finds the card before the expiry date.
        while first < len(groups):
            spans: list[tuple[int, str]] = []
            digits = ""
            for last in range(first, len(groups)):
                digits += candidate[groups[last][0] : groups[last][1]]
                if len(digits) > 19:
                    break
                spans.append((last, digits))
            found = next(
                (last for last, d in reversed(spans) if len(d) >= 13 and luhn.is_valid(d)), None
            )
            if found is None:
                first += 1
                continue
            yield PiiFinding(
                "card_number", match.start() + groups[first][0], match.start() + groups[found][1]
            )
            first = found + 1


def _case_numbers(text: str) -> Iterable[PiiFinding]:
    for match in _CASE_NUMBER.finditer(text):
        yield PiiFinding("case_number", match.start(), match.end())


def _is_date(match: re.Match[str]) -> bool:
    if match["y1"]:
        return 1 <= int(match["m1"]) <= 12 and 1 <= int(match["d1"]) <= 31
    low, high = sorted((int(match["a2"]), int(match["b2"])))
    return 1 <= low <= 12 and high <= 31


def _without_dates(text: str) -> str:
    """`text` with calendar dates blanked out (same length), so `24.11.2026` is no phone number."""
    return _DATE.sub(lambda m: " " * len(m.group()) if _is_date(m) else m.group(), text)


def _phones(text: str) -> Iterable[PiiFinding]:
    masked = _without_dates(text)
    seen: set[tuple[int, int]] = set()
    for candidate in _PHONE_CANDIDATE.finditer(masked):
        # Match inside the candidate and one character of context each side: fast, and the
        # matcher still sees whether the number touches a letter.
        base = max(0, candidate.start() - 1)
        window = masked[base : candidate.end() + 1]
        international = candidate.group().startswith("+")
        for region in PHONE_REGIONS if not international else (None,):
            matcher = phonenumbers.PhoneNumberMatcher(
                window, region or "ZZ", leniency=phonenumbers.Leniency.VALID
            )
            for match in matcher:
                span = (base + match.start, base + match.end)
                if span in seen or len(_DIGITS.findall(match.raw_string)) < 7:
                    continue
                seen.add(span)
                yield PiiFinding("phone", *span)


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
def _name_patterns(name: str) -> tuple[tuple[str, bool, re.Pattern[str]], ...]:
    """For a name: the whole name and each word of three letters or more (a surname alone), each
    with a cheap substring to test first, whether it is a single word of a longer name, and the
    whole-word pattern to confirm."""
    words = normalize_identity(name).split()
    if not words:
        return ()
    candidates = [words] + ([[word] for word in words if len(word) >= 3] if len(words) > 1 else [])
    return tuple(
        (
            candidate[0],
            candidate is not words,
            re.compile(r"(?<!\w)" + r"\s+".join(map(re.escape, candidate)) + r"(?!\w)"),
        )
        for candidate in candidates
    )


def _names(text: str, names: Iterable[str]) -> Iterable[PiiFinding]:
    patterns = [pattern for name in names if name for pattern in _name_patterns(name)]
    if not patterns:
        return
    folded, index = _fold(text.replace("’", "'"))
    for probe, single_word, pattern in patterns:
        if probe not in folded:
            continue
        for match in pattern.finditer(folded):
            start, end = match.start(), match.end()
            if index is not None:
                start, end = index[start], index[end - 1] + 1
            # One word of a name counts only when written as a name: `Will was late`, not
            # `the customer will call` (the whole name counts in any case).
            if single_word and not text[start].isupper():
                continue
            yield PiiFinding("person_name", start, end)


def _joins(gap: str) -> bool:
    """True when the text between two words lets them belong to one name."""
    return gap == " " or gap in _JOINERS or gap.isspace()


def name_runs(folded: str) -> set[str]:
    """Every run of one to MAX_NAME_WORDS (3) words of folded text (`_fold`), each in the form
    `normalize_identity` gives a name: words joined by one space. A run ends where the text
    between two words is more than white space or one `.`/`_`; a last word ending in `'s` also
    counts without it (`Anna Berg's`)."""
    tokens = _WORDS_AND_GAPS.findall(folded)
    words = [word for word, _ in tokens]
    runs = set(words)
    # pairs and triples of words, where the gaps between them join
    joined = [gap == " " or gap in _JOINERS or gap.isspace() for _, gap in tokens]
    last = len(tokens) - 1
    for first in range(last):
        if joined[first]:
            pair = words[first] + " " + words[first + 1]
            runs.add(pair)
            if first + 1 < last and joined[first + 1]:
                runs.add(pair + " " + words[first + 2])
    if "'s" in folded:
        runs.update([run[:-2] for run in runs if run.endswith("'s")])
    return runs


def _known_names(text: str, known: KnownEngineers | None) -> Iterable[PiiFinding]:
    """The runs of words of `text` that are a known engineer's name: every run's engineer code is
    made (one HMAC each, each distinct run once) and looked up among the known codes."""
    if not known:
        return
    folded, index = _fold(text.replace("’", "'"))
    found = known.names_among(name_runs(folded))
    if not found:
        return
    # Rare: where are they? Walk the words again, with their positions.
    for run, start, end in _runs_with_spans(folded):
        if run in found:
            if index is not None:
                start, end = index[start], index[end - 1] + 1
            yield PiiFinding("person_name", start, end)


def _runs_with_spans(folded: str) -> Iterable[tuple[str, int, int]]:
    """`name_runs` of folded text, each with its start and end there."""
    words = [(match.start(), match.end(), match.group()) for match in _WORDS.finditer(folded)]
    for first, (start, _, _) in enumerate(words):
        run = ""
        for position in range(first, min(first + MAX_NAME_WORDS, len(words))):
            if position > first and not _joins(folded[words[position - 1][1] : words[position][0]]):
                break
            _, end, word = words[position]
            run = f"{run} {word}" if run else word
            yield run, start, end
            if word.endswith("'s"):
                yield run[:-2], start, end - 2


def find_pii(
    text: str | None, *, names: Iterable[str] = (), known: KnownEngineers | None = None
) -> list[PiiFinding]:
    """Every piece of personal data in `text`, sorted by position, overlaps resolved (the longer
    finding wins). Empty text, and text with fewer than four digits and without `@`, `:`,
    names or known engineers, return at once.

    `names` (the names sent with the text) match whole words after the pseudonyms' normalisation
    (case, accents, white space); a single word of a multi-word name (`Berg` of `Anna Berg`)
    matches only when capitalised. `known`: any run of one to three words (`name_runs`) whose
    engineer code is a known engineer's is a name too, in any letter case."""
    if not text:
        return []
    names = tuple(names)
    # Every kind but e-mail, IPv6 and names needs at least four digits (`1.2.3.4`).
    has_digit = len(_DIGITS.findall(text)) >= 4
    if not has_digit and "@" not in text and ":" not in text and not names and not known:
        return []
    findings: list[PiiFinding] = [
        *_emails(text),
        *_names(text, names),
        *_known_names(text, known),
    ]
    if has_digit:
        findings += [
            *_ip_addresses(text),
            *_ibans(text),
            *_card_numbers(text),
            *_case_numbers(text),
            *_phones(text),
        ]
        if "-" in text:
            findings = _outside_uuids(text, findings)
    elif ":" in text:
        findings += list(_ip_addresses(text))
    return _without_overlaps(findings)


def _outside_uuids(text: str, findings: list[PiiFinding]) -> list[PiiFinding]:
    """Drop digit findings inside a UUID (a session id in a note is no personal data)."""
    spans = [(match.start(), match.end()) for match in _UUID.finditer(text)]
    if not spans:
        return findings
    return [
        finding
        for finding in findings
        if finding.kind in ("email", "person_name")
        or not any(start <= finding.start and finding.end <= end for start, end in spans)
    ]


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


def _scannable(value: Any) -> str | None:
    """The text to check of a scalar: strings, and numbers as they would be written (a case
    number sent as `73915847` or `73915847.0` is the text `73915847`)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        return str(int(value)) if value.is_integer() else repr(value)
    return None


def scan_value(
    value: Any,
    *,
    names: Iterable[str] = (),
    known: KnownEngineers | None = None,
    path: str = "",
) -> list[tuple[str, str]]:
    """Walk nested dicts/lists and return `(dotted path, kind)` for each piece of personal data in
    a string or number value or a key (`find_pii` with `names` and `known`), e.g.
    `("comment", "email")`; `path` prefixes the paths (`path="attributes"` gives
    `attributes.comment`). A key with personal data is shown redacted in the path
    (`attributes.[redacted:email]`)."""
    names = tuple(names)
    hits: list[tuple[str, str]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            # A key holding personal data appears redacted in the path, which callers echo.
            key_findings = find_pii(str(key), names=names, known=known)
            key_text = redact(str(key), key_findings)
            child = f"{path}.{key_text}" if path else key_text
            hits += [(child, finding.kind) for finding in key_findings]
            hits += scan_value(item, names=names, known=known, path=child)
    elif isinstance(value, list | tuple):
        for position, item in enumerate(value):
            child = f"{path}.{position}" if path else str(position)
            hits += scan_value(item, names=names, known=known, path=child)
    elif (text := _scannable(value)) is not None:
        hits += [(path, finding.kind) for finding in find_pii(text, names=names, known=known)]
    return hits


def redact_value(
    value: Any, *, names: Iterable[str] = (), known: KnownEngineers | None = None
) -> Any:
    """A copy of a nested value with personal data in its strings, numbers and keys redacted (a
    number that held personal data becomes the redacted string)."""
    names = tuple(names)
    if isinstance(value, dict):
        return {
            redact(str(k), find_pii(str(k), names=names, known=known)): redact_value(
                v, names=names, known=known
            )
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact_value(item, names=names, known=known) for item in value]
    text = _scannable(value)
    if text is None:
        return value
    findings = find_pii(text, names=names, known=known)
    if not findings:
        return value
    return redact(text, findings)
