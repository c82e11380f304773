"""HTTP errors as RFC 9457 problem details: the status, a reason, and the fields at fault."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from flask import g, has_request_context
from werkzeug.exceptions import HTTPException

PROBLEM_MEDIA_TYPE = "application/problem+json"
# A part of a field path that an error may repeat: shaped like a field name or a list index. Keys
# of another shape come from the client and could be personal data (someone's name as a key, an
# e-mail address), so errors name them UNNAMED_FIELD instead.
_FIELD_NAME_PART = re.compile(r"[A-Za-z0-9_]{1,64}")
UNNAMED_FIELD = "(unnamed)"


def reportable_field(path: str, fallback: str) -> str:
    """`path` (dotted) when every part of it may be repeated in an error, else `fallback`."""
    parts = path.split(".")
    return path if all(_FIELD_NAME_PART.fullmatch(part) for part in parts) else fallback


class ApiError(HTTPException):
    """An error answered as problem details; `errors` lists `{"field", "reason"}` entries."""

    code = 500
    title = "Internal Server Error"
    problem_type = "about:blank"

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: Iterable[Mapping[str, Any]] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(description=detail)
        self.detail = detail
        self.errors = [dict(error) for error in errors]
        self.extra_headers = dict(headers or {})


class BadRequest(ApiError):
    code, title = 400, "Bad Request"


class Unauthorized(ApiError):
    code, title = 401, "Unauthorized"


class Forbidden(ApiError):
    code, title = 403, "Forbidden"


class NotFound(ApiError):
    code, title = 404, "Not Found"


class Conflict(ApiError):
    code, title = 409, "Conflict"


class PreconditionFailed(ApiError):
    code, title = 412, "Precondition Failed"


class PayloadTooLarge(ApiError):
    code, title = 413, "Content Too Large"


class UnsupportedMediaType(ApiError):
    code, title = 415, "Unsupported Media Type"


class Unprocessable(ApiError):
    code, title = 422, "Unprocessable Content"


class PreconditionRequired(ApiError):
    code, title = 428, "Precondition Required"


class TooManyRequests(ApiError):
    code, title = 429, "Too Many Requests"


class ServiceUnavailable(ApiError):
    code, title = 503, "Service Unavailable"


def field_error(field: str, reason: str) -> dict[str, str]:
    """One entry of a problem's `errors` list."""
    return {"field": field, "reason": reason}


# The parts of a request that webargs names at the top of its messages (dropped from paths).
REQUEST_LOCATIONS = frozenset({"json", "query", "form", "files", "headers", "view_args"})


def flatten_messages(
    messages: Any,
    prefix: str = "",
    *,
    root: str = "body",
    locations: frozenset[str] = REQUEST_LOCATIONS,
) -> list[dict[str, str]]:
    """Turn marshmallow/webargs nested messages into `[{"field": "a.b", "reason": "..."}]`.

    The location level (`json`, `query`: `locations`) is dropped from the path, and messages
    about the input as a whole are named `root`; marshmallow's own messages never contain the
    rejected value, so they are safe to return. A key that is not shaped like a field name (an
    unknown key can be anything) is named UNNAMED_FIELD.
    """
    if isinstance(messages, Mapping):
        entries: list[dict[str, str]] = []
        for key, value in messages.items():
            name = str(key)
            if not _FIELD_NAME_PART.fullmatch(name):
                name = UNNAMED_FIELD
            if not prefix and name in locations:
                path = ""
            elif name == "_schema":
                path = prefix
            else:
                path = f"{prefix}.{name}" if prefix else name
            entries.extend(flatten_messages(value, path, root=root, locations=locations))
        return entries
    if isinstance(messages, list | tuple):
        if all(isinstance(item, str) for item in messages):
            return [field_error(prefix or root, " ".join(messages))]
        entries = []
        for item in messages:
            entries.extend(flatten_messages(item, prefix, root=root, locations=locations))
        return entries
    return [field_error(prefix or root, str(messages))]


# RFC 9110's names where werkzeug still uses the older ones, so that one status has one title
# whichever code raised it (webargs' 422, werkzeug's 413 and ours).
RFC_9110_TITLES = {413: "Content Too Large", 422: "Unprocessable Content"}


def problem_body(error: HTTPException) -> dict[str, Any]:
    """The JSON body for any HTTP error, including werkzeug's own (404 route, 405, 413)."""
    body: dict[str, Any] = {
        "type": getattr(error, "problem_type", "about:blank"),
        "title": getattr(error, "title", None) or RFC_9110_TITLES.get(error.code) or error.name,
        "status": error.code,
    }
    detail = getattr(error, "detail", None)
    errors = list(getattr(error, "errors", []) or [])
    data = getattr(error, "data", None)  # webargs/smorest abort() puts validation messages here
    if data:
        detail = detail or data.get("message")
        if "messages" in data or "errors" in data:
            errors = flatten_messages(data.get("errors") or data.get("messages"))
    if detail is None and not isinstance(error, ApiError) and error.code and error.code < 500:
        detail = error.description
    if detail is None and errors:
        detail = f"{len(errors)} field(s) are invalid."
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    if has_request_context() and "request_id" in g:
        body["request_id"] = g.request_id
    return body
