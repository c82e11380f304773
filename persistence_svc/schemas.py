"""Request and response schemas of the persistence API: the validation layer for sessions."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from shared import domain
from shared.api import (
    LABEL,
    MAX_PAGE_SIZE,
    PageArgsSchema,
    Schema,
    WholeText,
    holds_nul,
    loads_json,
    nesting_depth,
)
from shared.pseudonyms import is_case_ref, is_engineer_code

TEAM = WholeText(domain.TEAM_PATTERN, error=domain.TEAM_RULE)
# The labels' shapes (shared.domain): no name, address or case number fits in one.
REGION = WholeText(domain.REGION_PATTERN, error=domain.REGION_RULE)
AGENT_VERSION = WholeText(domain.AGENT_VERSION_PATTERN, error=domain.AGENT_VERSION_RULE)
MODEL = WholeText(domain.MODEL_PATTERN, error=domain.MODEL_RULE)
MAX_ATTRIBUTES_BYTES = 4096
MAX_ATTRIBUTES_DEPTH = 32
MAX_DURATION_SECONDS = 2**31 - 1  # duration_seconds is stored as a PostgreSQL integer
MAX_BATCH = 1000


class Normalized(fields.String):
    """A string normalised by a domain function; its ValueError becomes the field's message."""

    def __init__(self, normalize, reason: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.normalize = normalize
        self.reason = reason

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return self.normalize(text)
        except ValueError:
            raise ma.ValidationError(self.reason) from None


class Languages(fields.Field):
    """Output language codes: a list, or one string joined with `;` or `,` (CSV cells)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, list | str):
            raise ma.ValidationError("Give a list of language codes.")
        try:
            return domain.parse_languages_strict(value)
        except ValueError:
            raise ma.ValidationError(
                "Supported codes: " + ", ".join(domain.SUPPORTED_LANGUAGES) + "."
            ) from None

    def _serialize(self, value, attr, obj, **kwargs):
        return list(value) if value is not None else None


class Attributes(fields.Dict):
    """A small JSON object (also accepted as JSON text, as CSV cells carry it)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            try:
                value = loads_json(value) if value.strip() else {}
            except ValueError:
                raise ma.ValidationError("Not valid JSON text.") from None
        if isinstance(value, Mapping) and nesting_depth(value) > MAX_ATTRIBUTES_DEPTH:
            raise ma.ValidationError(f"Nest attributes at most {MAX_ATTRIBUTES_DEPTH} levels deep.")
        result = super()._deserialize(value, attr, data, **kwargs)
        try:
            size = len(attributes_json(result))
        except ValueError:
            raise ma.ValidationError("Numbers must be finite (no NaN or Infinity).") from None
        if size > MAX_ATTRIBUTES_BYTES:
            raise ma.ValidationError(f"Keep attributes under {MAX_ATTRIBUTES_BYTES} bytes.")
        return result


def attributes_json(value: dict) -> str:
    """Attributes as the JSON text that is stored; ValueError for a NaN or infinite number."""
    return json.dumps(value, separators=(",", ":"), allow_nan=False)


class SessionInSchema(Schema):
    """One analysis as the agent posts it; names and case numbers are load-only and never stored."""

    session_id = fields.UUID(
        metadata={"description": "Optional client id; makes the call idempotent."}
    )
    engineer = fields.String(
        load_only=True,
        validate=validate.Length(max=200),
        metadata={
            "description": "Engineer name or id; pseudonymised to engineer_code, never stored."
        },
    )
    engineer_code = fields.String(metadata={"description": "Pseudonym instead of a name."})
    case_number = fields.String(
        load_only=True,
        metadata={"description": "8-digit case number; pseudonymised to case_ref, never stored."},
    )
    case_ref = fields.String(metadata={"description": "Pseudonym instead of a case number."})
    team = fields.String(required=True, validate=TEAM)
    region = fields.String(allow_none=True, validate=REGION)
    record_type = Normalized(
        domain.normalize_record_type, "Use 'single' or 'series'.", required=True
    )
    parts = fields.Integer(
        load_default=None, strict=False, validate=validate.Range(1, 5, error="Use 1 to 5 parts.")
    )
    languages = Languages(
        required=True, metadata={"description": 'Supported codes only, e.g. ["EN", "DE"].'}
    )
    sentiment_score = fields.Float(required=True, validate=validate.Range(0, 1), allow_nan=False)
    tone_label = Normalized(
        domain.normalize_tone_label,
        "Use positive, neutral or negative.",
        load_default=None,
        allow_none=True,
    )
    root_cause = Normalized(
        domain.normalize_root_cause,
        "Use one of: " + ", ".join(domain.ROOT_CAUSES) + ".",
        required=True,
    )
    confidence_analysis = fields.Float(
        required=True, validate=validate.Range(0, 1), allow_nan=False
    )
    confidence_translation = fields.Float(
        load_default=None, allow_none=True, validate=validate.Range(0, 1), allow_nan=False
    )
    started_at = fields.AwareDateTime(load_default=None, allow_none=True)
    ended_at = fields.AwareDateTime(load_default=None, allow_none=True)
    agent_version = fields.String(load_default=None, allow_none=True, validate=AGENT_VERSION)
    model = fields.String(load_default=None, allow_none=True, validate=MODEL)
    notes = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))
    attributes = Attributes(keys=fields.String(validate=validate.Length(1, 64)), load_default=dict)

    @ma.validates("engineer_code")
    def _engineer_code_format(self, value: str, **_kwargs) -> None:
        if not is_engineer_code(value):
            raise ma.ValidationError("Not an engineer_code this platform issued.")

    @ma.validates("case_ref")
    def _case_ref_format(self, value: str, **_kwargs) -> None:
        if not is_case_ref(value):
            raise ma.ValidationError("Not a case_ref this platform issued.")

    @ma.validates("engineer")
    def _engineer_name(self, value: str, **_kwargs) -> None:
        result = domain.check_engineer_name(value)
        if not result.valid:
            raise ma.ValidationError(result.message)

    @ma.validates("case_number")
    def _case_number(self, value: str, **_kwargs) -> None:
        result = domain.check_case_number(value)
        if not result.valid:
            raise ma.ValidationError(result.message)

    @ma.validates_schema(skip_on_field_errors=False, pass_original=True)
    def _cross_field(self, data: dict, original: dict, **_kwargs) -> None:
        if not isinstance(original, dict):
            return  # not an object at all: marshmallow already says "Invalid input type"
        errors: dict[str, list[str]] = {}
        for name, code in (("engineer", "engineer_code"), ("case_number", "case_ref")):
            if (name in original) == (code in original):
                errors.setdefault(name, []).append(f"Give exactly one of {name} or {code}.")
        record_type, parts = data.get("record_type"), data.get("parts")
        if record_type == "series" and parts is not None and not 2 <= parts <= 5:
            errors.setdefault("parts", []).append("A series has 2 to 5 parts.")
        if record_type == "single" and parts not in (None, 1):
            errors.setdefault("parts", []).append("A single record has 1 part.")
        if record_type == "series" and parts is None:
            errors.setdefault("parts", []).append("A series needs its number of parts (2 to 5).")
        started, ended = data.get("started_at"), data.get("ended_at")
        if started and ended and ended < started:
            errors.setdefault("ended_at", []).append("ended_at is before started_at.")
        elif started and ended and domain.duration_seconds(started, ended) > MAX_DURATION_SECONDS:
            errors.setdefault("ended_at", []).append(
                "ended_at is more than 68 years after started_at."
            )
        if errors:
            raise ma.ValidationError(errors)


_SESSION_IN = SessionInSchema()
UNSET = object()
# What the schema declares, read from it: the fields, the required ones, the defaults of the others.
SESSION_IN_FIELDS = frozenset(_SESSION_IN.load_fields)
REQUIRED_FIELDS = frozenset(
    name for name, field in _SESSION_IN.load_fields.items() if field.required
)
_DEFAULTS = tuple(
    (name, field.load_default)
    for name, field in _SESSION_IN.load_fields.items()
    if field.load_default is not ma.missing
)
PLAIN_DEFAULTS = {name: default for name, default in _DEFAULTS if not callable(default)}
MADE_DEFAULTS = tuple((name, default) for name, default in _DEFAULTS if callable(default))


def load_session(data: Any) -> dict[str, Any]:
    """`SessionInSchema().load(data)`, faster for well-formed records (batches and imports load
    thousands): a record that passes the direct checks of `_load_direct` comes out exactly as the
    schema loads it (tests/properties/test_session_loading.py compares the two); any other goes
    through the schema, whose ValidationError is the answer."""
    loaded = _load_direct(data)
    if loaded is not None:
        return loaded
    return _SESSION_IN.load(data)


def _load_direct(data: Any) -> dict[str, Any] | None:
    """The loaded record when every field is plainly valid, else None (never an error: doubtful
    input is left to the schema, so the rules and messages have one home)."""
    if not isinstance(data, dict) or not data.keys() <= SESSION_IN_FIELDS:
        return None
    if ("engineer" in data) == ("engineer_code" in data):
        return None
    if ("case_number" in data) == ("case_ref" in data):
        return None
    out: dict[str, Any] = dict(PLAIN_DEFAULTS)
    for name, make in MADE_DEFAULTS:
        out[name] = make()
    try:
        for name, value in data.items():
            loaded = DIRECT_CHECKS[name](value)
            if loaded is UNSET:
                return None
            out[name] = loaded
    except Exception:  # whatever the direct checks trip on, the schema answers
        return None
    if not out.keys() >= REQUIRED_FIELDS:
        return None
    if not parts_fit(out["record_type"], out["parts"]):
        return None
    if not duration_fits(out["started_at"], out["ended_at"]):
        return None
    return out


def parts_fit(record_type: str, parts: int | None) -> bool:
    """The direct check of a loaded record type and number of parts (False: the schema answers)."""
    return not (
        (record_type == "series" and not (parts and 2 <= parts <= 5))
        or (record_type == "single" and parts not in (None, 1))
    )


def duration_fits(started: datetime | None, ended: datetime | None) -> bool:
    """The direct check of loaded start and end times (False: the schema answers)."""
    return not (
        started and ended and not 0 <= (ended - started).total_seconds() <= MAX_DURATION_SECONDS
    )


def _text(value: Any, max_length: int, min_length: int = 0) -> Any:
    if type(value) is not str or not min_length <= len(value) <= max_length or "\x00" in value:
        return UNSET
    return value


def _optional_label(shape: WholeText):
    def load(value: Any) -> Any:
        if value is None:
            return None
        return value if type(value) is str and shape.regex.fullmatch(value) else UNSET

    return load


def _optional_text(max_length: int, min_length: int = 0):
    return lambda value: None if value is None else _text(value, max_length, min_length)


def _fraction(value: Any) -> Any:
    if value is True or value is False or type(value) not in (float, int, str):
        return UNSET
    number = float(value)
    return number if 0 <= number <= 1 else UNSET  # NaN fails both comparisons


def _optional_fraction(value: Any) -> Any:
    return None if value is None else _fraction(value)


def _parts(value: Any) -> Any:
    if value is None:
        return None
    if type(value) is int:
        number = value
    elif type(value) is str and value.isascii() and value.isdigit():
        number = int(value)
    else:
        return UNSET
    return number if 1 <= number <= 5 else UNSET


def _aware_datetime(value: Any) -> Any:
    if value is None:
        return None
    if type(value) is not str:
        return UNSET
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None or moment.tzinfo.utcoffset(moment) is None:
        return UNSET
    return moment


def _engineer(value: Any) -> Any:
    if _text(value, 200) is UNSET or not domain.is_engineer_name(value):
        return UNSET
    return value


def _case_number(value: Any) -> Any:
    if _text(value, 200) is UNSET or not domain.is_case_number(value):
        return UNSET
    return value


def _code(check):
    return lambda value: value if _text(value, 200) is not UNSET and check(value) else UNSET


def _normalized(normalize, *, optional: bool = False):
    def load(value: Any) -> Any:
        if value is None and optional:
            return None
        if _text(value, 10_000) is UNSET:
            return UNSET
        return normalize(value)

    return load


def _team(value: Any) -> Any:
    return value if type(value) is str and TEAM.regex.fullmatch(value) else UNSET


# Language fields as files write them ("EN;DE"), each with the codes it parsed to: a file repeats a
# few such values on every row. Only values that parsed are kept (codes and separators, nothing
# else), and at most _PARSED_LANGUAGES_LIMIT of them.
_PARSED_LANGUAGES: dict[str, tuple[str, ...]] = {}
_PARSED_LANGUAGES_LIMIT = 1000


def _languages(value: Any) -> Any:
    if type(value) is str:
        return _parsed_languages(value)
    if type(value) is not list or any(type(item) is not str or "\x00" in item for item in value):
        return UNSET
    return domain.parse_languages_strict(value)


def _parsed_languages(text: str) -> Any:
    if (codes := _PARSED_LANGUAGES.get(text)) is None:
        if "\x00" in text:
            return UNSET
        codes = tuple(domain.parse_languages_strict(text))
        if len(_PARSED_LANGUAGES) < _PARSED_LANGUAGES_LIMIT:
            _PARSED_LANGUAGES[text] = codes
    return list(codes)


def _attributes(value: Any) -> Any:
    if type(value) is str:
        if "\x00" in value:
            return UNSET
        value = loads_json(value) if value.strip() else {}
    if type(value) is not dict or holds_nul(value) or nesting_depth(value) > MAX_ATTRIBUTES_DEPTH:
        return UNSET
    if any(type(key) is not str or not 1 <= len(key) <= 64 for key in value):
        return UNSET
    if len(attributes_json(value)) > MAX_ATTRIBUTES_BYTES:  # ValueError: left to the schema
        return UNSET
    return dict(value)


DIRECT_CHECKS = {
    "session_id": lambda value: uuid.UUID(value) if type(value) is str else UNSET,
    "engineer": _engineer,
    "engineer_code": _code(is_engineer_code),
    "case_number": _case_number,
    "case_ref": _code(is_case_ref),
    "team": _team,
    "region": _optional_label(REGION),
    "record_type": _normalized(domain.normalize_record_type),
    "parts": _parts,
    "languages": _languages,
    "sentiment_score": _fraction,
    "tone_label": _normalized(domain.normalize_tone_label, optional=True),
    "root_cause": _normalized(domain.normalize_root_cause),
    "confidence_analysis": _fraction,
    "confidence_translation": _optional_fraction,
    "started_at": _aware_datetime,
    "ended_at": _aware_datetime,
    "agent_version": _optional_label(AGENT_VERSION),
    "model": _optional_label(MODEL),
    "notes": _optional_text(2000),
    "attributes": _attributes,
}


class SessionSchema(Schema):
    """A stored session as the API returns it."""

    session_id = fields.UUID()
    engineer_code = fields.String()
    case_ref = fields.String()
    team = fields.String()
    region = fields.String(allow_none=True)
    record_type = fields.String()
    parts = fields.Integer()
    languages = fields.List(fields.String())
    sentiment_score = fields.Float()
    tone_label = fields.String()
    root_cause = fields.String()
    confidence_analysis = fields.Float()
    confidence_translation = fields.Float(allow_none=True)
    confidence_overall = fields.Float()
    confidence_rating = fields.String()
    started_at = fields.AwareDateTime(allow_none=True)
    ended_at = fields.AwareDateTime(allow_none=True)
    analysed_at = fields.AwareDateTime()
    duration_seconds = fields.Integer(allow_none=True)
    agent_version = fields.String(allow_none=True)
    model = fields.String(allow_none=True)
    notes = fields.String(allow_none=True)
    attributes = fields.Dict()
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


class SessionWriteArgsSchema(Schema):
    redact = fields.Boolean(
        load_default=False,
        metadata={
            "description": "Redact personal data found in notes/attributes instead of rejecting."
        },
    )


class BatchInSchema(Schema):
    """Up to 1000 sessions; each item is validated on its own."""

    items = fields.List(
        fields.Dict(),
        required=True,
        validate=validate.Length(1, MAX_BATCH, error=f"Send 1 to {MAX_BATCH} items."),
    )


class BatchItemResultSchema(Schema):
    index = fields.Integer()
    session_id = fields.UUID(allow_none=True)
    status = fields.String(metadata={"description": "created, unchanged, conflict or invalid"})
    errors = fields.List(fields.Dict())


class BatchResultSchema(Schema):
    created = fields.Integer()
    unchanged = fields.Integer()
    conflicts = fields.Integer()
    invalid = fields.Integer()
    items = fields.List(fields.Nested(BatchItemResultSchema))


class SessionFilterSchema(Schema):
    """Filters of the session list and export."""

    team = fields.String(validate=TEAM)
    region = fields.String(validate=LABEL)
    engineer_code = fields.String(validate=validate.Length(max=64))
    root_cause = fields.String(validate=validate.OneOf(domain.ROOT_CAUSES))
    language = fields.String(validate=validate.OneOf(domain.SUPPORTED_LANGUAGES))
    from_ = fields.AwareDateTime(data_key="from", metadata={"description": "analysed_at >= from"})
    to = fields.AwareDateTime(metadata={"description": "analysed_at < to"})


class SessionQueryArgsSchema(SessionFilterSchema, PageArgsSchema):
    """Filters and keyset pagination of the session list."""


class ExportArgsSchema(SessionFilterSchema):
    """Filters of the export and its format."""

    format = fields.String(load_default="csv", validate=validate.OneOf(("csv", "json", "ndjson")))


class ImportArgsSchema(Schema):
    dry_run = fields.Boolean(
        load_default=False, metadata={"description": "Validate and count, write nothing."}
    )


class ImportErrorSchema(Schema):
    row = fields.Integer(metadata={"description": "Spreadsheet row: header = 1, first record = 2."})
    field = fields.String()
    code = fields.String()
    message = fields.String()


class ImportReportSchema(Schema):
    id = fields.UUID()
    status = fields.String(metadata={"description": "running, completed or failed"})
    dry_run = fields.Boolean()
    total = fields.Integer(allow_none=True)
    processed = fields.Integer()
    inserted = fields.Integer()
    unchanged = fields.Integer()
    rejected = fields.Integer()
    errors = fields.List(fields.Nested(ImportErrorSchema))
    failure = fields.String(allow_none=True)


class SessionPageSchema(Schema):
    items = fields.List(fields.Nested(SessionSchema))
    next_cursor = fields.String(allow_none=True)


class EngineerLookupSchema(Schema):
    engineer = fields.String(required=True, load_only=True, validate=validate.Length(1, 200))


class EngineerCodeSchema(Schema):
    engineer_code = fields.String()


class ErasureResultSchema(Schema):
    engineer_code = fields.String()
    sessions_deleted = fields.Integer()


MAX_CHECKED_TEXTS = 1000
MAX_CHECKED_TEXT = 10_000


class FreeTextCheckSchema(Schema):
    """Free text of another service to check for personal data (never stored or logged)."""

    texts = fields.List(
        fields.String(validate=validate.Length(max=MAX_CHECKED_TEXT)),
        required=True,
        load_only=True,
        validate=validate.Length(1, MAX_CHECKED_TEXTS),
    )


class FindingSchema(Schema):
    kind = fields.String(metadata={"description": "e.g. person_name, email, case_number"})
    start = fields.Integer()
    end = fields.Integer()


class TextFindingsSchema(Schema):
    findings = fields.List(fields.Nested(FindingSchema))


class FreeTextFindingsSchema(Schema):
    items = fields.List(
        fields.Nested(TextFindingsSchema), metadata={"description": "One per text, in order."}
    )


class ChangeArgsSchema(Schema):
    after = fields.String(
        load_default="",
        validate=validate.Length(max=64),
        metadata={"description": "`next_cursor` of the previous page; empty for the beginning."},
    )
    limit = fields.Integer(load_default=500, validate=validate.Range(1, MAX_PAGE_SIZE * 10))


class ChangeSchema(Schema):
    cursor = fields.String()
    operation = fields.String(metadata={"description": "insert, update or delete"})
    session_id = fields.UUID()
    changed_at = fields.AwareDateTime()
    session = fields.Dict(
        allow_none=True,
        metadata={
            "description": "The session as it is now (null for a delete or when erased since)."
        },
    )


class ChangeHeadSchema(Schema):
    pending = fields.Integer(
        metadata={
            "description": "Changes committed after `next_cursor` (a lower bound past 10,000 "
            "log rows)."
        }
    )
    pending_since = fields.AwareDateTime(
        allow_none=True, metadata={"description": "When the oldest of them was written."}
    )


class ChangePageSchema(Schema):
    items = fields.List(fields.Nested(ChangeSchema))
    next_cursor = fields.String()
    head = fields.Nested(ChangeHeadSchema)
