"""The fields of a session as a client sends them, in one table: per field its name, kind (type,
limits, allowed values), whether it is required or may be null, and its default; then the rules
across fields. Everything that validates a session is made from it: the marshmallow schema of
POST /sessions (persistence_svc.schemas), the direct checks that load well-formed records
without the schema (`load_direct`), and the checks of an import's CSV columns
(persistence_svc.imports.columns).

A kind gives two things: the marshmallow field, whose messages are the answer for bad input, and
`check`, a fast test of a value that returns the loaded value, or UNSET when it doubts it (then
the schema decides and names the problem). A kind's `check` accepts no value the field refuses
and loads what the field loads (tests/properties/test_session_loading.py).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from shared import domain
from shared.api import WholeText, holds_nul, loads_json, nesting_depth
from shared.pseudonyms import is_case_ref, is_engineer_code

UNSET: Any = object()  # a direct check's "not sure": the schema decides
TEAM = WholeText(domain.TEAM_PATTERN, error=domain.TEAM_RULE)
# The labels' shapes (shared.domain): no name, address or case number fits in one.
REGION = WholeText(domain.REGION_PATTERN, error=domain.REGION_RULE)
AGENT_VERSION = WholeText(domain.AGENT_VERSION_PATTERN, error=domain.AGENT_VERSION_RULE)
MODEL = WholeText(domain.MODEL_PATTERN, error=domain.MODEL_RULE)
MAX_ATTRIBUTES_BYTES = 4096
MAX_ATTRIBUTES_DEPTH = 32
MAX_DURATION_SECONDS = 2**31 - 1  # duration_seconds is stored as a PostgreSQL integer
MAX_NORMALIZED_TEXT = 10_000  # longer text is no choice: the schema answers


def _is_text(value: Any, max_length: int | None = None) -> bool:
    return (
        type(value) is str
        and (max_length is None or len(value) <= max_length)
        and "\x00" not in value
    )


# -- kinds --------------------------------------------------------------------------------------


class Uuid:
    """A UUID in any form uuid.UUID reads."""

    # The form files write: one pattern match and one hex decoding serve a whole CSV column.
    CANONICAL = re.compile(r"[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")

    def schema_field(self, **options: Any) -> ma.fields.Field:
        return fields.UUID(**options)

    def check(self, value: Any) -> Any:
        return uuid.UUID(value) if type(value) is str else UNSET


@dataclass(frozen=True)
class Text:
    """Text up to `max_length` characters that `accepts` (when given); `problem` is the schema's
    message for text it does not accept."""

    max_length: int | None = None
    accepts: Callable[[str], bool] | None = None
    problem: Callable[[str], str] | None = None
    # A pattern of CSV cells that `accepts` takes whole (checked once for a whole column).
    column_pattern: re.Pattern[str] | None = None

    def schema_field(self, **options: Any) -> ma.fields.Field:
        if self.max_length is not None:
            options["validate"] = validate.Length(max=self.max_length)
        return fields.String(**options)

    def check(self, value: Any) -> Any:
        if not _is_text(value, self.max_length) or (self.accepts and not self.accepts(value)):
            return UNSET
        return value


@dataclass(frozen=True)
class Label:
    """Text of one shape (shared.domain's label patterns)."""

    shape: WholeText

    def schema_field(self, **options: Any) -> ma.fields.Field:
        return fields.String(validate=self.shape, **options)

    def check(self, value: Any) -> Any:
        return value if type(value) is str and self.shape.regex.fullmatch(value) else UNSET


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


@dataclass(frozen=True)
class Choice:
    """One of a few values, written loosely (case, spaces, hyphens): `normalize` names it."""

    normalize: Callable[[str], str]
    reason: str

    def schema_field(self, **options: Any) -> ma.fields.Field:
        return Normalized(self.normalize, self.reason, **options)

    def check(self, value: Any) -> Any:
        return self.normalize(value) if _is_text(value, MAX_NORMALIZED_TEXT) else UNSET


@dataclass(frozen=True)
class Count:
    """A whole number from `low` to `high` (also written as digits)."""

    low: int
    high: int
    error: str

    def schema_field(self, **options: Any) -> ma.fields.Field:
        range_ = validate.Range(self.low, self.high, error=self.error)
        return fields.Integer(strict=False, validate=range_, **options)

    def check(self, value: Any) -> Any:
        if type(value) is int:
            number = value
        elif type(value) is str and value.isascii() and value.isdigit():
            number = int(value)
        else:
            return UNSET
        return number if self.low <= number <= self.high else UNSET


class Fraction:
    """A number from 0 to 1 (also written as text), never NaN."""

    def schema_field(self, **options: Any) -> ma.fields.Field:
        return fields.Float(validate=validate.Range(0, 1), allow_nan=False, **options)

    def check(self, value: Any) -> Any:
        if value is True or value is False or type(value) not in (float, int, str):
            return UNSET
        number = float(value)
        return number if 0 <= number <= 1 else UNSET  # NaN fails both comparisons


class Moment:
    """A point in time in ISO 8601 with its offset from UTC."""

    def schema_field(self, **options: Any) -> ma.fields.Field:
        return fields.AwareDateTime(**options)

    def check(self, value: Any) -> Any:
        if type(value) is not str:
            return UNSET
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None or moment.tzinfo.utcoffset(moment) is None:
            return UNSET
        return moment


class LanguagesField(fields.Field):
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


# Language fields as files write them ("EN;DE"), each with the codes it parsed to: a file repeats a
# few such values on every row. Only values that parsed are kept (codes and separators, nothing
# else), and at most _PARSED_LANGUAGES_LIMIT of them.
_PARSED_LANGUAGES: dict[str, tuple[str, ...]] = {}
_PARSED_LANGUAGES_LIMIT = 1000


class Languages:
    """Supported language codes: a list, or one text joined with `;` or `,`."""

    def schema_field(self, **options: Any) -> ma.fields.Field:
        return LanguagesField(**options)

    def check(self, value: Any) -> Any:
        if type(value) is str:
            return self._parsed(value)
        if type(value) is not list or any(not _is_text(item) for item in value):
            return UNSET
        return domain.parse_languages_strict(value)

    @staticmethod
    def _parsed(text: str) -> Any:
        if (codes := _PARSED_LANGUAGES.get(text)) is None:
            if "\x00" in text:
                return UNSET
            codes = tuple(domain.parse_languages_strict(text))
            if len(_PARSED_LANGUAGES) < _PARSED_LANGUAGES_LIMIT:
                _PARSED_LANGUAGES[text] = codes
        return list(codes)


def attributes_json(value: dict) -> str:
    """Attributes as the JSON text that is stored; ValueError for a NaN or infinite number."""
    import json

    return json.dumps(value, separators=(",", ":"), allow_nan=False)


class AttributesField(fields.Dict):
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


class Attributes:
    """A JSON object of at most MAX_ATTRIBUTES_BYTES, keys of 1 to 64 characters."""

    def schema_field(self, **options: Any) -> ma.fields.Field:
        return AttributesField(keys=fields.String(validate=validate.Length(1, 64)), **options)

    def check(self, value: Any) -> Any:
        if type(value) is str:
            if "\x00" in value:
                return UNSET
            value = loads_json(value) if value.strip() else {}
        if (
            type(value) is not dict
            or holds_nul(value)
            or nesting_depth(value) > MAX_ATTRIBUTES_DEPTH
        ):
            return UNSET
        if any(type(key) is not str or not 1 <= len(key) <= 64 for key in value):
            return UNSET
        if len(attributes_json(value)) > MAX_ATTRIBUTES_BYTES:  # ValueError: left to the schema
            return UNSET
        return dict(value)


# -- the table ----------------------------------------------------------------------------------

_NO_DEFAULT: Any = ma.missing


@dataclass(frozen=True)
class Field:
    """One field of a session as a client sends it."""

    name: str
    kind: Any
    required: bool = False
    nullable: bool = False
    default: Any = _NO_DEFAULT  # a value, or a function that makes one
    load_only: bool = False  # accepted, never stored or returned (names, case numbers)
    description: str | None = None

    def schema_field(self) -> ma.fields.Field:
        options: dict[str, Any] = {}
        if self.required:
            options["required"] = True
        if self.nullable:
            options["allow_none"] = True
        if self.default is not _NO_DEFAULT:
            options["load_default"] = self.default
        if self.load_only:
            options["load_only"] = True
        if self.description:
            options["metadata"] = {"description": self.description}
        return self.kind.schema_field(**options)

    def check(self, value: Any) -> Any:
        """The loaded value, or UNSET when the schema must decide."""
        if value is None:
            # marshmallow takes None where the default is None, too
            return None if self.nullable or self.default is None else UNSET
        return self.kind.check(value)


def _engineer_name_problem(name: str) -> str:
    return domain.check_engineer_name(name).message


def _case_number_problem(number: str) -> str:
    return domain.check_case_number(number).message


FIELDS = (
    Field("session_id", Uuid(), description="Optional client id; makes the call idempotent."),
    Field(
        "engineer",
        Text(200, domain.is_engineer_name, _engineer_name_problem),
        load_only=True,
        description="Engineer name or id; pseudonymised to engineer_code, never stored.",
    ),
    Field(
        "engineer_code",
        Text(None, is_engineer_code, lambda _: "Not an engineer_code this platform issued."),
        description="Pseudonym instead of a name.",
    ),
    Field(
        "case_number",
        Text(None, domain.is_case_number, _case_number_problem, re.compile(r"[0-9]{8}")),
        load_only=True,
        description="8-digit case number; pseudonymised to case_ref, never stored.",
    ),
    Field(
        "case_ref",
        Text(None, is_case_ref, lambda _: "Not a case_ref this platform issued."),
        description="Pseudonym instead of a case number.",
    ),
    Field("team", Label(TEAM), required=True),
    Field("region", Label(REGION), nullable=True),
    Field(
        "record_type",
        Choice(domain.normalize_record_type, "Use 'single' or 'series'."),
        required=True,
    ),
    Field("parts", Count(1, 5, "Use 1 to 5 parts."), default=None),
    Field(
        "languages",
        Languages(),
        required=True,
        description='Supported codes only, e.g. ["EN", "DE"].',
    ),
    Field("sentiment_score", Fraction(), required=True),
    Field(
        "tone_label",
        Choice(domain.normalize_tone_label, "Use positive, neutral or negative."),
        nullable=True,
        default=None,
    ),
    Field(
        "root_cause",
        Choice(domain.normalize_root_cause, "Use one of: " + ", ".join(domain.ROOT_CAUSES) + "."),
        required=True,
    ),
    Field("confidence_analysis", Fraction(), required=True),
    Field("confidence_translation", Fraction(), nullable=True, default=None),
    Field("started_at", Moment(), nullable=True, default=None),
    Field("ended_at", Moment(), nullable=True, default=None),
    Field("agent_version", Label(AGENT_VERSION), nullable=True, default=None),
    Field("model", Label(MODEL), nullable=True, default=None),
    Field("notes", Text(2000), nullable=True, default=None),
    Field("attributes", Attributes(), default=dict),
)
BY_NAME = {field.name: field for field in FIELDS}
NAMES = frozenset(BY_NAME)
REQUIRED = frozenset(field.name for field in FIELDS if field.required)
# The value of a field the record leaves out: a constant, or made anew for each record (a dict).
PLAIN_DEFAULTS = {
    field.name: field.default
    for field in FIELDS
    if field.default is not _NO_DEFAULT and not callable(field.default)
}
MADE_DEFAULTS = tuple((field.name, field.default) for field in FIELDS if callable(field.default))
CHECKS = {field.name: field.check for field in FIELDS}


# -- rules across fields --------------------------------------------------------------------------

# Each pair: a record gives exactly one of the two (a name, or its pseudonym).
ONE_OF = (("engineer", "engineer_code"), ("case_number", "case_ref"))


def one_of_problem(first: str, second: str) -> str:
    return f"Give exactly one of {first} or {second}."


def parts_problem(record_type: str | None, parts: int | None) -> str | None:
    """What is wrong with the number of parts of a record of this type (None: nothing)."""
    if record_type == "series" and parts is not None and not 2 <= parts <= 5:
        return "A series has 2 to 5 parts."
    if record_type == "single" and parts not in (None, 1):
        return "A single record has 1 part."
    if record_type == "series" and parts is None:
        return "A series needs its number of parts (2 to 5)."
    return None


def duration_problem(started: datetime | None, ended: datetime | None) -> str | None:
    """What is wrong with a record's start and end times (None: nothing)."""
    if started and ended and ended < started:
        return "ended_at is before started_at."
    if started and ended and domain.duration_seconds(started, ended) > MAX_DURATION_SECONDS:
        return "ended_at is more than 68 years after started_at."
    return None


@dataclass(frozen=True)
class RecordRule:
    """A rule over loaded fields; a problem is reported on `reported_on`."""

    names: tuple[str, ...]
    reported_on: str
    problem: Callable[..., str | None]

    def holds(self, *values: Any) -> bool:
        return self.problem(*values) is None


RECORD_RULES = (
    RecordRule(("record_type", "parts"), "parts", parts_problem),
    RecordRule(("started_at", "ended_at"), "ended_at", duration_problem),
)


# -- what is made of it -------------------------------------------------------------------------


def schema_class(base: type[ma.Schema], name: str, doc: str) -> type[ma.Schema]:
    """The marshmallow schema of the table: its fields, a validator per field whose kind has a
    `problem`, and the rules across fields (all messages name the field, never echo the value)."""
    namespace: dict[str, Any] = {"__doc__": doc}
    namespace.update({field.name: field.schema_field() for field in FIELDS})
    namespace["_check_text"] = ma.validates(*TEXT_CHECK_ORDER)(_check_text)
    namespace["_cross_field"] = ma.validates_schema(skip_on_field_errors=False, pass_original=True)(
        _cross_field
    )
    return type(name, (base,), namespace)


# The text fields whose kind has a `problem`, in the order a record's problems with them are
# listed (as import reports have always listed them).
TEXT_CHECK_ORDER = ("case_number", "case_ref", "engineer_code", "engineer")


def _check_text(_schema: ma.Schema, value: str, data_key: str, **_kwargs: Any) -> None:
    kind = BY_NAME[data_key].kind
    if not kind.accepts(value):
        raise ma.ValidationError(kind.problem(value))


def _cross_field(_schema: ma.Schema, data: dict, original: Any, **_kwargs: Any) -> None:
    if not isinstance(original, dict):
        return  # not an object at all: marshmallow already says "Invalid input type"
    errors: dict[str, list[str]] = {}
    for first, second in ONE_OF:
        if (first in original) == (second in original):
            errors.setdefault(first, []).append(one_of_problem(first, second))
    for rule in RECORD_RULES:
        if (problem := rule.problem(*map(data.get, rule.names))) is not None:
            errors.setdefault(rule.reported_on, []).append(problem)
    if errors:
        raise ma.ValidationError(errors)


def load_direct(data: Any) -> dict[str, Any] | None:
    """The loaded record when every field is plainly valid, else None (never an error: doubtful
    input is left to the schema, so the messages have one home)."""
    if not isinstance(data, dict) or not data.keys() <= NAMES:
        return None
    for first, second in ONE_OF:
        if (first in data) == (second in data):
            return None
    out: dict[str, Any] = dict(PLAIN_DEFAULTS)
    for name, make in MADE_DEFAULTS:
        out[name] = make()
    try:
        for name, value in data.items():
            loaded = CHECKS[name](value)
            if loaded is UNSET:
                return None
            out[name] = loaded
    except Exception:  # whatever the direct checks trip on, the schema answers
        return None
    if not out.keys() >= REQUIRED:
        return None
    for rule in RECORD_RULES:
        if not rule.holds(*map(out.get, rule.names)):
            return None
    return out
