"""Calls that turn an engineer's name into its pseudonym: the look-up, and Compare History by name.
They share one per-caller limit and are audited as look-ups; telling a compare by name from one by
engineer_code means reading its (small, JSON) body before it is forwarded."""

from __future__ import annotations

from flask import current_app, g, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from shared.api import loads_json
from shared.errors import PayloadTooLarge
from shared.web import settings_of

LOOKUP_PATH = "/api/v1/engineers/lookup"
COMPARE_PATH = "/api/v1/history/compare"
LOOKUP_ACTION = "engineers.lookup"
CHUNK = 64 * 1024


def names_an_engineer() -> bool:
    """True when this request sends an engineer's name to be pseudonymised: any look-up, and a
    Compare History whose body is not plainly an object without `engineer` (a body the gateway
    cannot read counts as a name: the limit errs on the side of counting). Never raises."""
    if "names_an_engineer" not in g:
        g.names_an_engineer = _names_an_engineer()
    return g.names_an_engineer


def _names_an_engineer() -> bool:
    if request.method != "POST":
        return False
    if request.path == LOOKUP_PATH:
        return True
    if request.path != COMPARE_PATH:
        return False
    try:
        body = loads_json(buffered_body(settings_of(current_app).max_body_bytes))
    except (HTTPException, ValueError):  # too large, cut off, not JSON, too deep
        return True
    return not (isinstance(body, dict) and "engineer" not in body)


def buffered_body(limit: int) -> bytes:
    """This request's body, read once and kept for forwarding (`has_buffered_body`);
    PayloadTooLarge past `limit` bytes, whether the length is declared or the body is chunked."""
    if "buffered_body" not in g:
        g.buffered_body = _read_body(limit)
    if g.buffered_body is None:
        raise PayloadTooLarge(f"The body is larger than {limit} bytes.")
    return g.buffered_body


def has_buffered_body() -> bool:
    """True when the body was already read by `buffered_body` (the stream is then used up)."""
    return "buffered_body" in g


def _read_body(limit: int) -> bytes | None:
    """The whole body, or None when it is larger than `limit` bytes."""
    length = request.content_length
    if length is not None and length > limit:
        return None
    if length is None and "chunked" not in request.headers.get("Transfer-Encoding", "").lower():
        return b""
    request.max_content_length = limit  # a chunked body is cut off past it
    chunks, seen = [], 0
    try:
        while chunk := request.stream.read(CHUNK):
            seen += len(chunk)
            if seen > limit:
                return None
            chunks.append(chunk)
    except RequestEntityTooLarge:
        return None
    return b"".join(chunks)
