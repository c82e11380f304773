"""File downloads of the dashboard (session and alert exports): the API's stream passed through
with the user's token, so the file holds exactly what the user may see."""

from __future__ import annotations

from flask import Blueprint, Response, request

from dashboard_svc import api_client
from dashboard_svc.api_client import ApiError
from shared.errors import BadRequest, Forbidden, ServiceUnavailable

downloads = Blueprint("downloads", __name__)
SESSION_KEYS = ("format", "team", "region", "language", "root_cause", "from", "to")
ALERT_KEYS = ("format", "status", "team", "rule", "category")
PASSED_HEADERS = ("Content-Type", "Content-Disposition")


@downloads.get("/dashboard/download/sessions")
def sessions_file() -> Response:
    return _pass_through("/sessions/export", SESSION_KEYS)


@downloads.get("/dashboard/download/alerts")
def alerts_file() -> Response:
    return _pass_through("/alerts/export", ALERT_KEYS)


def _pass_through(path: str, keys: tuple[str, ...]) -> Response:
    params = {key: request.args[key] for key in keys if request.args.get(key)}
    try:
        upstream, body = api_client.stream(path, params)
    except ApiError as error:
        if error.status == 403:  # a manager's filter on another team: refused and audited
            raise Forbidden(error.message) from None
        kind = BadRequest if error.status < 500 else ServiceUnavailable
        raise kind(error.message) from None
    response = Response(
        body,
        headers={
            name: upstream.headers[name] for name in PASSED_HEADERS if name in upstream.headers
        },
    )
    response.call_on_close(upstream.close)
    return response
