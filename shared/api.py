"""The project's flask-smorest base classes: problem+json errors, access rules, keyset pagination."""

from __future__ import annotations

import base64
import binascii
import functools
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import flask_smorest
import marshmallow as ma
from flask import g
from webargs.flaskparser import FlaskParser

from shared.errors import BadRequest, Forbidden
from shared.tokens import Principal

OPENAPI_VERSION = "3.0.3"
MAX_PAGE_SIZE = 500


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
    """True when a string, or any key or item of nested dicts and lists, has a NUL character."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, Mapping):
        return any(holds_nul(key) or holds_nul(item) for key, item in value.items())
    if isinstance(value, list | tuple):
        return any(holds_nul(item) for item in value)
    return False


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


class Blueprint(flask_smorest.Blueprint):
    """smorest's Blueprint; views declare their access rule with `Blueprint.roles(...)`.

    Arguments in every location follow the schema's `unknown` (RAISE): an unknown query argument
    is a 422 naming it, not silently ignored.
    """

    ARGUMENTS_PARSER = FlaskParser(unknown=None)

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


def decode_cursor(cursor: str, size: int) -> list[Any]:
    """The sort key inside a cursor; a cursor that was not ours is a 400 naming `cursor`."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        values = None
    if not isinstance(values, list) or len(values) != size:
        raise BadRequest(errors=[{"field": "cursor", "reason": "Not a cursor this list issued."}])
    return values
