"""The project's flask-smorest base classes: problem+json errors, access rules, keyset pagination."""

from __future__ import annotations

import base64
import binascii
import functools
import json
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

import flask_smorest
import marshmallow as ma
from flask import g
from webargs.flaskparser import FlaskParser, is_json_request

from shared.errors import BadRequest, Forbidden
from shared.tokens import UNRESTRICTED_READERS, Principal

# The roles that read sessions, history, trends and alerts (a manager within their teams only).
READERS = ("manager", *UNRESTRICTED_READERS)

OPENAPI_VERSION = "3.0.3"
MAX_PAGE_SIZE = 500
# The change feed's page summary (JSON) when it answers a page as rows (format=rows).
FEED_PAGE_HEADER = "X-Feed-Page"


# Labels such as a region, an agent version or a model name: no spaces and no `@`, so that a
# person's name or e-mail address cannot be stored as one, and no leading `=`, `+`, `-` or `@`
# (spreadsheet formulas).
class WholeText(ma.validate.Regexp):
    """A pattern the whole text must match: `re.fullmatch`, where marshmallow's Regexp lets `$`
    match before a trailing line break. The pattern stays one that OpenAPI (ECMA-262) can show."""

    def __call__(self, value: str) -> str:
        if self.regex.fullmatch(value) is None:
            raise ma.ValidationError(self._format_error(value))
        return value


LABEL = WholeText(
    r"^[A-Za-z0-9][A-Za-z0-9._:+/-]{0,63}$",
    error="Use 1-64 letters, digits, dots, underscores, colons, plus signs, slashes or hyphens, "
    "starting with a letter or digit.",
)


class Schema(ma.Schema):
    """Base schema: unknown fields are rejected (marshmallow's RAISE), field order kept, and text
    with NUL characters is refused (PostgreSQL cannot store them; a 422 names the field)."""

    class Meta:
        unknown = ma.RAISE
        ordered = True

    @ma.pre_load
    def _refuse_nul_characters(self, data: Any, **_kwargs: Any) -> Any:
        if isinstance(data, Mapping):
            bad = sorted(str(name) for name, value in data.items() if holds_nul(value))
            if bad:
                raise ma.ValidationError(
                    {name: ["Text cannot contain NUL characters."] for name in bad}
                )
        return data


def holds_nul(value: Any) -> bool:
    """True when a string, or any key or item of nested dicts and lists, has a NUL character
    (walked without recursion: any depth of nesting is answered)."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, Mapping):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list | tuple):
            pending.extend(item)
    return False


def nesting_depth(value: Any) -> int:
    """How deeply dicts and lists nest in `value` (a scalar is 0, `{"a": [1]}` is 2), walked
    without recursion."""
    deepest = 0
    pending = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, Mapping):
            item = list(item.values())
        if isinstance(item, list | tuple):
            deepest = max(deepest, depth + 1)
            pending.extend((child, depth + 1) for child in item)
    return deepest


class ProblemFieldSchema(Schema):
    field = ma.fields.String(
        metadata={"description": "The field at fault, dotted for nested ones."}
    )
    reason = ma.fields.String(metadata={"description": "Why it was rejected."})


class ProblemSchema(Schema):
    """RFC 9457 problem details as every error response carries them."""

    type = ma.fields.String()
    title = ma.fields.String()
    status = ma.fields.Integer()
    detail = ma.fields.String()
    errors = ma.fields.List(ma.fields.Nested(ProblemFieldSchema))
    request_id = ma.fields.String()


class Api(flask_smorest.Api):
    """smorest's Api documenting errors as problem details; `shared.web` answers them."""

    ERROR_SCHEMA = ProblemSchema

    def _register_error_handlers(self) -> None:
        """Keep the app's one problem+json handler (shared.web.register_errors) in charge."""


def loads_json(text: str | bytes) -> Any:
    """JSON text as RFC 8259 defines it, as Python values: `NaN` and `Infinity`, which Python's
    parser takes but JSON and PostgreSQL's jsonb do not, are refused, and so is nesting too deep
    for Python's recursion; both as ValueError (json.JSONDecodeError for the constants)."""
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


class _JsonBodyParser(FlaskParser):
    """webargs' parser with request bodies read by `loads_json`: a body that is not JSON by the
    RFC, or nested too deeply, is the 400 of any invalid body instead of a 500."""

    def _raw_load_json(self, req: Any) -> Any:
        if not is_json_request(req):
            return ma.missing
        try:
            return loads_json(req.get_data(cache=True).decode())  # UnicodeDecodeError: webargs
        except json.JSONDecodeError:
            raise  # webargs answers these (an empty body is a missing one)
        except ValueError as error:
            self._handle_invalid_json_error(error, req)  # type: ignore[arg-type]


class Blueprint(flask_smorest.Blueprint):
    """smorest's Blueprint; views declare their access rule with `Blueprint.roles(...)`.

    Arguments in every location follow the schema's `unknown` (RAISE): an unknown query argument
    is a 422 naming it, not silently ignored.
    """

    ARGUMENTS_PARSER = _JsonBodyParser(unknown=None)

    @staticmethod
    def roles(*allowed: str, public: bool = False) -> Callable:
        """Allow a view method to the given roles only (or to anyone, `public=True`).

        The rule is kept on the function so that tests can prove every route declares one.
        """

        def decorator(view: Callable) -> Callable:
            @functools.wraps(view)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                if not public and not current_principal().has_role(*allowed):
                    raise Forbidden("Your role does not allow this action.")
                return view(*args, **kwargs)

            wrapper._cr_access = ("public",) if public else tuple(allowed)  # type: ignore[attr-defined]
            return wrapper

        return decorator


def current_principal() -> Principal:
    """The authenticated caller of this request (set by the internal-token check)."""
    return g.principal


def team_scope() -> list[str] | None:
    """The caller's teams when its reads and writes are limited to them, else None (all teams)."""
    principal = current_principal()
    return sorted(principal.teams) if principal.team_scoped else None


class PageArgsSchema(Schema):
    """Keyset pagination arguments shared by every list."""

    limit = ma.fields.Integer(
        load_default=50,
        validate=ma.validate.Range(1, MAX_PAGE_SIZE),
        metadata={"description": f"Page size, 1 to {MAX_PAGE_SIZE}."},
    )
    cursor = ma.fields.String(
        load_default=None,
        validate=[ma.validate.Length(max=512), ma.validate.Regexp(r"^[A-Za-z0-9_-]*$")],
        metadata={"description": "`next_cursor` of the previous page."},
    )


def encode_cursor(values: Iterable[Any]) -> str:
    """An opaque cursor for the sort key of the last row of a page."""
    raw = json.dumps(list(values), default=str, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, *kinds: Callable[[Any], Any]) -> list[Any]:
    """The sort key inside a cursor, one value per kind (`cursor_time`, `cursor_uuid`,
    `cursor_int`), each read by it; a cursor that was not ours is a 400 naming `cursor`, whatever
    it holds, before any of it reaches SQL."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(values, list) or len(values) != len(kinds):
            raise ValueError("not a sort key of this list")
        return [kind(value) for kind, value in zip(kinds, values, strict=True)]
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise BadRequest(
            errors=[{"field": "cursor", "reason": "Not a cursor this list issued."}]
        ) from None


def cursor_time(value: Any) -> datetime:
    """An aware time in a cursor (written by `datetime.isoformat()`)."""
    if not isinstance(value, str):
        raise TypeError("not a time")
    moment = datetime.fromisoformat(value)
    if moment.utcoffset() is None:
        raise ValueError("a time without offset")
    return moment


def cursor_uuid(value: Any) -> uuid.UUID:
    """A UUID in a cursor."""
    if not isinstance(value, str):
        raise TypeError("not a uuid")
    return uuid.UUID(value)


def cursor_int(value: Any) -> int:
    """A whole number in a cursor (a bigint key)."""
    if type(value) is not int or not -(2**63) <= value < 2**63:
        raise TypeError("not a bigint")
    return value
