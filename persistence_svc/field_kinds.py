"""The kinds of a session's fields (persistence_svc.field_table): each gives the marshmallow field,
whose messages are the answer for bad input, and `check`, a fast test of a value that returns the
loaded value, or UNSET when it doubts it (then the schema decides and names the problem). A kind's
`check` accepts no value its field refuses and loads what the field loads
(tests/properties/test_session_loading.py)."""

from __future__ import annotations

import json
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

UNSET: Any = object()  # a direct check's "not sure": the schema decides
MAX_ATTRIBUTES_BYTES = 4096
MAX_ATTRIBUTES_DEPTH = 32
MAX_NORMALIZED_TEXT = 10_000  # longer text is no choice: the schema answers


def _is_text(value: Any, max_length: int | None = None) -> bool:
    return (
        type(value) is str
        and (max_length is None or len(value) <= max_length)
        and "\x00" not in value
    )


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
