"""Calls that turn engineers' names into pseudonyms: the look-up, the batch look-up, and Compare
History by name. Each name counts once against one per-caller limit, and the calls are audited as
look-ups; counting a batch's names, or telling a compare by name from one by engineer_code, means
reading its (small, JSON) body before it is forwarded."""

from __future__ import annotations

from flask import current_app, g, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from shared.api import loads_json
from shared.errors import PayloadTooLarge
from shared.web import settings_of

LOOKUP_PATH = "/api/v1/engineers/lookup"
BATCH_LOOKUP_PATH = "/api/v1/engineers/lookup/batch"
COMPARE_PATH = "/api/v1/history/compare"
NAMING_PATHS = frozenset({LOOKUP_PATH, BATCH_LOOKUP_PATH, COMPARE_PATH})
LOOKUP_ACTION = "engineers.lookup"
CHUNK = 64 * 1024


def names_in_request() -> int:
    """How many names this request sends to be pseudonymised: one for a look-up, one for a
    Compare History whose body is not plainly an object without `engineer`, every item of a batch
    look-up's `engineers`; 0 for any other call. A body the gateway cannot read counts as one
    name (the limit errs on the side of counting). Never raises."""
    if "names_in_request" not in g:
        g.names_in_request = _names_in_request()
    return g.names_in_request


def _names_in_request() -> int:
    if request.method != "POST" or request.path not in NAMING_PATHS:
        return 0
    if request.path == LOOKUP_PATH:
        return 1
    try:
        body = loads_json(buffered_body(settings_of(current_app).max_body_bytes))
    except (HTTPException, ValueError):  # too large, cut off, not JSON, too deep
        return 1
    if request.path == BATCH_LOOKUP_PATH:
        names = body.get("engineers") if isinstance(body, dict) else None
        return max(1, len(names)) if isinstance(names, list) else 1
    return 0 if isinstance(body, dict) and "engineer" not in body else 1


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
