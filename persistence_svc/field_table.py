"""The fields of a session as a client sends them, in one table: per field its name, kind (type,
limits, allowed values: persistence_svc.field_kinds), whether it is required or may be null, and
its default; then the rules across fields. Everything that validates a session is made from it:
the marshmallow schema of POST /sessions (persistence_svc.schemas), the direct checks that load
well-formed records without the schema (`load_direct`), and the checks of an import's CSV columns
(persistence_svc.imports.columns)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import marshmallow as ma

from persistence_svc.field_kinds import (
    UNSET,
    Attributes,
    Choice,
    Count,
    Fraction,
    Label,
    Languages,
    Moment,
    Text,
    Uuid,
)
from shared import domain
from shared.api import WholeText
from shared.pseudonyms import is_case_ref, is_engineer_code

TEAM = WholeText(domain.TEAM_PATTERN, error=domain.TEAM_RULE)
# The labels' shapes (shared.domain): no name, address or case number fits in one.
REGION = WholeText(domain.REGION_PATTERN, error=domain.REGION_RULE)
AGENT_VERSION = WholeText(domain.AGENT_VERSION_PATTERN, error=domain.AGENT_VERSION_RULE)
MODEL = WholeText(domain.MODEL_PATTERN, error=domain.MODEL_RULE)
MAX_DURATION_SECONDS = 2**31 - 1  # duration_seconds is stored as a PostgreSQL integer


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
