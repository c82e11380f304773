"""The CR Assistant Agent's workflow rules (v3.6 spec): validation, normalisation, derived values."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

SUPPORTED_LANGUAGES = ("EN", "DE", "FR", "IT", "ES", "TR", "CS", "PL")
ROOT_CAUSES = ("communication_issue", "knowledge_gap", "analytical_error", "process_issue", "other")
RECORD_TYPES = ("single", "series")
TONE_LABELS = ("positive", "neutral", "negative")
RESTART_AFTER_ATTEMPTS = 3
DEFAULTS = {"languages": ["EN"], "record_type": "Single"}

# The agent's own texts, exactly as the v3.6 specification writes them.
MESSAGES = {
    "invalid_engineer_name": "Invalid Engineer Name format — please enter only letters, spaces, "
    "hyphens, or apostrophes.",
    "invalid_case_number": "Invalid Case Number — please enter exactly 8 digits.",
    "unsupported_language": "Unsupported language code entered. Supported codes: EN, DE, FR, IT, "
    "ES, TR, CS, PL.",
    "invalid_record_type": "Invalid record type — please enter 'Single' or 'Series' only.",
    "invalid_part_count": "Invalid entry — please enter a number between 2 and 5.",
    "incomplete_review": "Incomplete or invalid data detected — please update the highlighted "
    "field(s).",
}

MAX_NAME_LENGTH = 200
_FLOAT_NOISE = 1e-9
_APOSTROPHES = "'’"
_CASE_NUMBER = re.compile(r"[0-9]{8}")
_ASCII_NAME = re.compile(r"[A-Za-z' -]*[A-Za-z][A-Za-z' -]*")
_LANGUAGE_SEPARATORS = re.compile(r"[\s,;]+")


@dataclass(frozen=True)
class RuleResult:
    """Outcome of one check: valid or not, the normalised value, and the spec's code and message."""

    valid: bool
    normalized: Any = None
    code: str | None = None
    message: str | None = None
    warnings: tuple[str, ...] = field(default_factory=tuple)


def _invalid(code: str) -> RuleResult:
    return RuleResult(valid=False, code=code, message=MESSAGES[code])


def check_engineer_name(value: Any) -> RuleResult:
    """Step 1: letters (any script, accented too), spaces, hyphens and apostrophes; at least one
    letter. The normalised name has its white space collapsed."""
    if not isinstance(value, str):
        return _invalid("invalid_engineer_name")
    name = " ".join(value.split())
    if not name or len(name) > MAX_NAME_LENGTH:
        return _invalid("invalid_engineer_name")
    if name.isascii():  # the common case, without a look at each character's category
        if _ASCII_NAME.fullmatch(name):
            return RuleResult(valid=True, normalized=name)
        return _invalid("invalid_engineer_name")
    has_letter = False
    for char in unicodedata.normalize("NFC", name):
        category = unicodedata.category(char)
        if category.startswith("L"):
            has_letter = True
        elif category == "Mn":
            continue  # combining accents of decomposed letters
        elif char not in " -" + _APOSTROPHES:
            return _invalid("invalid_engineer_name")
    if not has_letter:
        return _invalid("invalid_engineer_name")
    return RuleResult(valid=True, normalized=unicodedata.normalize("NFC", name))


def is_engineer_name(value: Any) -> bool:
    """`check_engineer_name(value).valid`, without making the result for the common case of an
    ASCII name (imports check one name per row)."""
    if type(value) is str and value.isascii():
        name = " ".join(value.split())
        return 0 < len(name) <= MAX_NAME_LENGTH and _ASCII_NAME.fullmatch(name) is not None
    return check_engineer_name(value).valid


def is_case_number(value: Any) -> bool:
    """`check_case_number(value).valid`, without making the result (imports check one per row)."""
    if type(value) is str:
        return _CASE_NUMBER.fullmatch(value.strip()) is not None
    return check_case_number(value).valid


def check_case_number(value: Any) -> RuleResult:
    """Step 2: exactly 8 ASCII digits (surrounding white space ignored). An int is accepted when it
    has 8 digits itself: `1234` is not padded to `00001234`, since the digits typed were 4."""
    if isinstance(value, bool):
        return _invalid("invalid_case_number")
    text = str(value) if isinstance(value, int) else value
    if not isinstance(text, str) or not _CASE_NUMBER.fullmatch(text.strip()):
        return _invalid("invalid_case_number")
    return RuleResult(valid=True, normalized=text.strip())


def _language_tokens(value: Any) -> list[str] | None:
    if isinstance(value, str):
        return [token for token in _LANGUAGE_SEPARATORS.split(value) if token]
    if isinstance(value, list | tuple) and all(isinstance(item, str) for item in value):
        return [token.strip() for token in value if token.strip()]
    return None


def check_languages(value: Any) -> RuleResult:
    """Step 3: supported codes are kept (upper case, first occurrence order); unsupported ones are
    dropped with the spec's warning; nothing left means EN."""
    tokens = _language_tokens(value)
    if tokens is None:
        return RuleResult(
            valid=True,
            normalized=list(DEFAULTS["languages"]),
            code="unsupported_language",
            message=MESSAGES["unsupported_language"],
            warnings=(MESSAGES["unsupported_language"],),
        )
    kept: list[str] = []
    dropped = 0
    for token in tokens:
        code = token.upper()
        if code in SUPPORTED_LANGUAGES:
            if code not in kept:
                kept.append(code)
        else:
            dropped += 1
    if not kept:
        kept = list(DEFAULTS["languages"])
    if dropped:
        return RuleResult(
            valid=True,
            normalized=kept,
            code="unsupported_language",
            message=MESSAGES["unsupported_language"],
            warnings=(MESSAGES["unsupported_language"],),
        )
    return RuleResult(valid=True, normalized=kept)


def parse_languages_strict(value: Any) -> list[str]:
    """Language codes for the API, which rejects instead of dropping: ValueError on any unsupported
    code or an empty list (the message never repeats the value)."""
    tokens = _language_tokens(value)
    if not tokens:
        raise ValueError("at least one supported language code is needed")
    codes: list[str] = []
    for token in tokens:
        code = normalize_language_code(token)
        if code not in codes:
            codes.append(code)
    return codes


def normalize_language_code(value: Any) -> str:
    """`de` → `DE`; ValueError for an unsupported code or a value that is no text."""
    code = value.strip().upper() if isinstance(value, str) else None
    if code not in SUPPORTED_LANGUAGES:
        raise ValueError("unsupported language code")
    return code


def check_record_type(value: Any) -> RuleResult:
    """Step 4: `Single` or `Series`, any case; normalised the way the agent shows it."""
    try:
        record_type = normalize_record_type(value)
    except ValueError:
        return _invalid("invalid_record_type")
    return RuleResult(valid=True, normalized=record_type.capitalize())


def normalize_record_type(value: Any) -> str:
    """`Series`/`SERIES` → `series` (the API's value); ValueError otherwise."""
    if isinstance(value, str) and value.strip().lower() in RECORD_TYPES:
        return value.strip().lower()
    raise ValueError("record type must be single or series")


def check_part_count(value: Any, record_type: str = "series") -> RuleResult:
    """Step 4b: a series has 2 to 5 parts; a single record has 1."""
    try:
        parts = int(str(value).strip()) if not isinstance(value, bool) else None
    except ValueError:
        parts = None
    series = str(record_type).strip().lower() == "series"
    if parts is None or (series and not 2 <= parts <= 5) or (not series and parts != 1):
        return _invalid("invalid_part_count")
    return RuleResult(valid=True, normalized=parts)


_LABEL_SEPARATORS = re.compile(r"[\s_-]+")


def _label_key(value: str) -> str:
    return _LABEL_SEPARATORS.sub("_", value.strip().lower())


def normalize_root_cause(value: Any) -> str:
    """The API value of a root cause from its API value or spec label (`Knowledge Gap`,
    `knowledge-gap`, `KNOWLEDGE_GAP`); ValueError otherwise."""
    if not isinstance(value, str):
        raise ValueError("unknown root cause")
    if value in ROOT_CAUSES:  # already the API value: the common case of bulk imports
        return value
    if (key := _label_key(value)) in ROOT_CAUSES:
        return key
    raise ValueError("unknown root cause")


def normalize_tone_label(value: Any) -> str:
    """`Positive`/`NEGATIVE` → `positive`/`negative`; ValueError otherwise."""
    if isinstance(value, str) and value.strip().lower() in TONE_LABELS:
        return value.strip().lower()
    raise ValueError("unknown tone label")


def tone_for_sentiment(score: float) -> str:
    """Default tone for a sentiment score: below 0.4 negative, below 0.6 neutral, else positive."""
    if score < 0.4:
        return "negative"
    if score < 0.6:
        return "neutral"
    return "positive"


def overall_confidence(
    analysis: float,
    translation: float | None,
    languages: list[str] | tuple[str, ...] | str = (),
) -> float:
    """0.7 × analysis + 0.3 × translation, rounded to 4 places; the analysis confidence alone when
    there is no translation (no translation confidence, or output only in EN). Without languages
    the formula applies whenever a translation confidence is given."""
    if translation is None:
        return round(analysis, 4)
    codes = [languages] if isinstance(languages, str) else languages
    if bool(codes) and all(str(code).strip().upper() == "EN" for code in codes):  # English only
        return round(analysis, 4)
    return round(0.7 * analysis + 0.3 * translation, 4)


HIGH_CONFIDENCE_FROM = 0.8
LOW_CONFIDENCE_BELOW = 0.5


def confidence_rating(overall: float) -> str:
    """High at 0.80 and above, Medium from 0.50, Low below; float noise such as
    0.7 × 0.8 + 0.3 × 0.8 = 0.7999999999999999 does not push a value under a boundary."""
    value = overall + _FLOAT_NOISE
    if value >= HIGH_CONFIDENCE_FROM:
        return "High"
    if value >= LOW_CONFIDENCE_BELOW:
        return "Medium"
    return "Low"


# Labels: a shape each, narrow enough that no name, address or case number fits (issue #21,
# finding 6). The patterns are ECMA-262 as well (OpenAPI shows them); `re.fullmatch` applies them.
AGENT_VERSION_PATTERN = (
    r"^(?:0|[1-9][0-9]{0,3})\.(?:0|[1-9][0-9]{0,3})\.(?:0|[1-9][0-9]{0,3})"
    r"(?:-(?:alpha|beta|rc|dev|preview)(?:\.(?:0|[1-9][0-9]{0,3}))?)?$"
)
AGENT_VERSION_RULE = (
    "Use a semantic version MAJOR.MINOR.PATCH (each 0-9999), optionally with -alpha, -beta, "
    "-rc, -dev or -preview and a number (3.7.0, 3.8.0-rc.1)."
)
TEAM_PATTERN = r"^(?![a-z0-9._-]*[0-9]{6})[a-z0-9][a-z0-9._-]{0,63}$"
TEAM_RULE = (
    "Use a lower-case slug: 1-64 lower-case letters, digits, dots, hyphens or underscores, "
    "starting with a letter or digit, without six digits in a row."
)
# Model names as vendors write them: family words, version numbers, size and date parts.
MODEL_WORDS = (
    "gpt", "chatgpt", "claude", "gemini", "gemma", "llama", "mistral", "mixtral", "codestral",
    "command", "qwen", "deepseek", "phi", "sonnet", "opus", "haiku", "turbo", "mini", "nano",
    "pro", "flash", "lite", "preview", "latest", "instruct", "chat", "large", "medium", "small",
    "plus", "max", "ultra", "vision", "omni", "realtime", "audio", "search", "reasoner", "coder",
    "exp", "it",
)  # fmt: skip
_MODEL_PART = r"(?:[0-9]{1,4}[a-z]?|[a-z][0-9]{1,2}|" + "|".join(MODEL_WORDS) + ")"
MODEL_PATTERN = rf"^{_MODEL_PART}(?:[.-]{_MODEL_PART}){{0,9}}$"
MODEL_RULE = (
    "Use a model name as its vendor writes it (gpt-4o, gpt-4.1-mini, o3-mini, "
    "gpt-4o-2024-08-06): lower-case family words, versions and dates joined by - or ."
)
# Regions: an ISO 3166-1 country code (`DE`), an ISO 3166-2 subdivision (`US-CA`, `AT-5`), or one
# of the multi-country regions support organisations use.
REGIONS = (
    "EMEA", "AMER", "APAC", "APJ", "LATAM", "NORAM", "MEA", "ANZ", "DACH", "CEE", "NORDICS",
    "BENELUX", "GCC",
)  # fmt: skip
REGION_PATTERN = r"^(?:[A-Z]{2}(?:-[A-Z0-9]{1,3})?|" + "|".join(REGIONS) + ")$"
REGION_RULE = (
    "Use an ISO 3166 country or subdivision code (DE, US-CA) or one of " + ", ".join(REGIONS) + "."
)
# The validation events the agent reports itself: the fields of its workflow and of its runtime,
# and the codes of the spec's messages and of runtime problems (docs/api.md lists both).
EVENT_FIELDS = (
    "engineer", "case_number", "languages", "record_type", "parts", "feedback", "review",
    "analysis", "model", "translation", "output",
)  # fmt: skip
EVENT_CODES = (
    *MESSAGES,
    "model_timeout", "model_error", "rate_limited", "translation_failed", "output_too_long",
    "content_filtered", "tool_error", "network_error", "restart_offered", "restart_accepted",
)  # fmt: skip


def duration_seconds(started_at: datetime | None, ended_at: datetime | None) -> int | None:
    """Whole seconds from start to end, or None when either is missing."""
    if started_at is None or ended_at is None:
        return None
    return int((ended_at - started_at).total_seconds())
