"""Routing of /api/v1/* to the owning service: the caller's token is swapped for an internal one,
bodies stream both ways over pooled keep-alive connections."""

from __future__ import annotations

from urllib.parse import quote

import urllib3
from flask import Blueprint, Flask, Response, current_app, g, request
from urllib3.exceptions import HTTPError as UpstreamError

from gateway import audit, lookups, policy
from shared.errors import (
    BadRequest,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
    field_error,
)
from shared.web import settings_of

proxy = Blueprint("proxy", __name__)

# First path segment after /api/v1/ -> the owning service (its base URL is `<SERVICE>_URL`).
ROUTES = {
    "sessions": "persistence",
    "engineers": "persistence",
    "imports": "persistence",
    "history": "trends",
    "trends": "trends",
    "alerts": "trends",
    "thresholds": "trends",
    "notifications": "trends",
    "validation": "qa",
    "qa": "qa",
}
LARGE_BODY_ROUTES = frozenset({"imports"})
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "host",
        "authorization",
        "content-length",
        "x-request-id",
        "cookie",
        "set-cookie",  # services never set the gateway's cookies
        "x-forwarded-access-token",  # only the gateway puts a user's token here (the UIs)
    }
)
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
UNSAFE_PATH = "The path may not hold dot or empty segments, backslashes or control characters."
CHUNK = 64 * 1024


def register_proxy(app: Flask) -> None:
    """One pooled HTTP client per process, reused for every forwarded request."""
    settings = settings_of(app)
    app.extensions["upstream_pool"] = urllib3.PoolManager(
        num_pools=8,
        maxsize=64,
        block=False,
        retries=False,
        timeout=urllib3.Timeout(connect=2.0, read=settings.upstream_timeout),
    )
    app.register_blueprint(proxy)


def internal_token(principal, service: str) -> str:
    """An internal token for `principal` that only `service` accepts, signed with the gateway's
    current key (services verify it with the keys the gateway publishes) and reused for a while
    (`InternalTokens`); the request id travels beside it as X-Request-ID."""
    return current_app.extensions["internal_tokens"].token_for(principal, service)


def service_url(service: str) -> str:
    """The base URL the gateway reaches `service` at (`<SERVICE>_URL`)."""
    return getattr(settings_of(current_app), f"{service}_url")


@proxy.route("/api/v1/<path:path>", methods=METHODS, merge_slashes=False)  # see unsafe_path
def forward(path: str) -> Response:
    """Forward an authenticated API call to its service and stream the answer back."""
    if unsafe_path(request.path):
        raise BadRequest(errors=[field_error("path", UNSAFE_PATH)])
    segment = path.split("/", 1)[0]
    if segment not in ROUTES:
        raise NotFound("No such API route.")
    principal = g.principal
    roles = policy.allowed_roles(request.method, path)
    if roles is None:
        raise NotFound("No such API route.")
    if not principal.has_role(*roles):
        audit.record_request("access.denied", principal, 403, "denied")
        raise Forbidden("Your role does not allow this action.")
    refuse_other_teams(principal)
    settings = settings_of(current_app)
    limit = settings.max_import_bytes if segment in LARGE_BODY_ROUTES else settings.max_body_bytes
    names = lookups.names_in_request()  # reads a compare or batch body before forwarding it
    upstream = forward_to(ROUTES[segment], principal, limit)
    _audit(principal, path, upstream.status, names)
    return stream_back(upstream)


def unsafe_path(path: str, *, percent: bool = True) -> bool:
    """True for a (decoded) request path that could reach another path than the one the gateway's
    rules were checked on: `.`/`..` segments (the HTTP client resolves them; `%2e` and `%2f` arrive
    decoded, so they are caught too), empty segments, backslashes and control characters; with
    `percent=False` also a `%` left after decoding (`%252e`, double encoding). A trailing `/` is
    the only empty segment allowed."""
    segments = path.removeprefix("/").removesuffix("/").split("/")
    return (
        "\\" in path
        or (not percent and "%" in path)
        or any(segment in {"", ".", ".."} for segment in segments)
        or any(ord(character) < 0x20 or ord(character) == 0x7F for character in path)
    )


def refuse_other_teams(principal) -> None:
    """A team-scoped caller (a manager) filtering on a team outside their token's teams gets 403,
    audited, and nothing is forwarded. The value is never echoed: it may be anything."""
    teams = request.args.getlist("team")
    if all(principal.can_see_team(team) for team in teams):
        return
    audit.record_request("access.denied", principal, 403, "denied", query_team=teams)
    raise Forbidden(
        "You may filter only on your own teams.",
        errors=[field_error("team", "Not one of your teams.")],
    )


def forward_to(service: str, principal, limit: int, extra_headers: dict[str, str] | None = None):
    """Send this request, path and query unchanged, to `service` as `principal` (an internal token
    for that service replaces the caller's credentials); returns the unread upstream response."""
    request.max_content_length = limit
    headers = _request_headers()
    headers.update(extra_headers or {})
    headers["Authorization"] = "Bearer " + internal_token(principal, service)
    try:
        return current_app.extensions["upstream_pool"].urlopen(
            request.method,
            service_url(service) + upstream_target(),
            body=_request_body(limit, headers),
            headers=headers,
            preload_content=False,
            redirect=False,
            decode_content=False,
        )
    except UpstreamError:
        raise ServiceUnavailable(
            "The service behind this route is not reachable; retry later.",
            headers={"Retry-After": "5"},
        ) from None


def upstream_target() -> str:
    """This request's path and query as a service receives them. The path is percent-encoded
    again: a `#`, `?` or `%` inside a path segment stays data instead of ending the path."""
    path = quote(request.path, safe="/:@!$&'()*+,;=~")
    query = request.query_string.decode("latin-1")
    return path + ("?" + query if query else "")


def stream_back(upstream) -> Response:
    """The upstream answer streamed to the caller, without hop-by-hop headers."""
    response = Response(
        upstream.stream(CHUNK, decode_content=False),
        status=upstream.status,
        headers=[(k, v) for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP],
        direct_passthrough=True,
    )
    response.call_on_close(upstream.release_conn)
    return response


def _audit(principal, path: str, status: int, names: int) -> None:
    """Audit the call when its kind is audited (names turned into pseudonyms are a look-up, with
    their number), or when the service denied it (403, or 404 on an object for a team-scoped
    caller: another team's data)."""
    action = lookups.LOOKUP_ACTION if names else audit.audited_action(request.method, path)
    if action:
        audit.record_request(action, principal, status, names=names)
    elif status == 403 or (status == 404 and principal.team_scoped and "/" in path):
        audit.record_request("access.denied", principal, status, "denied")


def _request_headers() -> dict[str, str]:
    headers = {
        key: value for key, value in request.headers.items() if key.lower() not in HOP_BY_HOP
    }
    headers["X-Request-ID"] = g.request_id
    headers["X-Forwarded-For"] = request.remote_addr or ""
    return headers


def _request_body(limit: int, headers: dict[str, str]):
    """The body as a stream: with its length when known, else counted chunk by chunk (or as
    bytes, when the gateway had to read it already)."""
    if lookups.has_buffered_body():
        body = lookups.buffered_body(limit)
        headers["Content-Length"] = str(len(body))
        return body
    length = request.content_length
    if length is not None:
        if length > limit:
            raise PayloadTooLarge(f"The body is larger than {limit} bytes.")
        headers["Content-Length"] = str(length)
        return request.stream if length else None
    if "chunked" not in request.headers.get("Transfer-Encoding", "").lower():
        return None
    return _limited_chunks(request.stream, limit)


def _limited_chunks(stream, limit: int):
    seen = 0
    while chunk := stream.read(CHUNK):
        seen += len(chunk)
        if seen > limit:
            raise PayloadTooLarge(f"The body is larger than {limit} bytes.")
        yield chunk
