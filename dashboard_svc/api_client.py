"""The dashboard's only way to data: the public API through the gateway, called with the signed-in
user's own access token (forwarded by the gateway), so the API's team scope is the dashboard's."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests
from flask import copy_current_request_context, current_app, request

from shared.errors import Unauthorized
from shared.web import settings_of

TIMEOUT = (3.05, 30)
_session = requests.Session()  # pooled keep-alive connections, shared by the worker's threads
_session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=32))
_session.mount("https://", requests.adapters.HTTPAdapter(pool_maxsize=32))
_pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="api-call")


class ApiError(Exception):
    """The API answered with an error; `message` is safe to show (the problem's detail), `errors`
    are the problem's `{"field", "reason", ...}` entries (they name fields and ids, never values)."""

    def __init__(self, status: int, message: str, errors: list[dict] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors or []


class SignedOut(Unauthorized):
    """The user's token is gone or no longer accepted: the page answers 401 and the browser goes
    to the sign-in (assets/session.js), then back to the same view."""


def _headers() -> dict[str, str]:
    token = request.headers.get("X-Forwarded-Access-Token", "")
    if not token:
        raise SignedOut("Your sign-in has expired; sign in again.")
    return {
        "Authorization": f"Bearer {token}",
        "X-Request-ID": request.headers.get("X-Request-ID", ""),
    }


def _url(path: str) -> str:
    return settings_of(current_app).gateway_url.rstrip("/") + "/api/v1" + path


def call(method: str, path: str, *, params=None, json=None, data=None, headers=None) -> Any:
    """One API call; the JSON answer, or ApiError with a message fit for the page."""
    try:
        response = _session.request(
            method,
            _url(path),
            params=clean(params),
            json=json,
            data=data,
            headers={**_headers(), **(headers or {})},
            timeout=TIMEOUT,
        )
    except requests.RequestException:
        raise ApiError(503, "The platform is not reachable right now; try again shortly.") from None
    if response.status_code == 401:
        raise SignedOut("Your sign-in has expired; sign in again.")
    if response.status_code >= 400:
        raise ApiError(response.status_code, _problem_message(response), _problem_errors(response))
    return response.json()


def stream(path: str, params: dict[str, Any]) -> tuple[requests.Response, Iterator[bytes]]:
    """A streamed download (exports): the response (for its headers) and its body in chunks."""
    try:
        response = _session.get(
            _url(path), params=clean(params), headers=_headers(), timeout=TIMEOUT, stream=True
        )
    except requests.RequestException:
        raise ApiError(503, "The platform is not reachable right now; try again shortly.") from None
    if response.status_code >= 400:
        message = _problem_message(response)
        response.close()
        raise ApiError(response.status_code, message)
    return response, response.iter_content(64 * 1024)


def together(*calls: Callable[[], Any]) -> list[Any]:
    """Independent API calls of one callback at the same time (each in this request's context,
    so with the user's token); their answers in order, or the first call's error."""
    futures = [_pool.submit(copy_current_request_context(call)) for call in calls]
    return [future.result() for future in futures]


def clean(params: dict[str, Any] | None) -> dict[str, Any] | None:
    """Query parameters without empty values."""
    if params is None:
        return None
    return {key: value for key, value in params.items() if value not in (None, "", [])}


def _problem_errors(response: requests.Response) -> list[dict]:
    try:
        problem = response.json()
    except ValueError:
        return []
    errors = problem.get("errors") if isinstance(problem, dict) else None
    return (
        [error for error in errors if isinstance(error, dict)] if isinstance(errors, list) else []
    )


def _problem_message(response: requests.Response) -> str:
    if response.status_code in (401, 403):
        return "You may not see this with your role or teams."
    if response.status_code == 404:
        return "Not found — or not in your teams."
    if response.status_code == 429:
        return "Too many requests; wait a moment and try again."
    try:
        problem = response.json()
    except ValueError:
        return f"The platform answered {response.status_code}."
    detail = problem.get("detail") or problem.get("title") or f"Error {response.status_code}"
    fields = "; ".join(
        f"{error.get('field')}: {error.get('reason')}" for error in problem.get("errors", [])[:5]
    )
    return f"{detail} {fields}".strip() if response.status_code < 500 else detail


# The calls the pages make, named for what they fetch.


def weekly(filters: dict[str, Any]) -> list[dict]:
    return call("GET", "/trends/weekly", params=trend_params(filters))["items"]


def root_causes(filters: dict[str, Any]) -> list[dict]:
    return call("GET", "/trends/root-causes", params=trend_params(filters))["items"]


def languages(filters: dict[str, Any]) -> list[dict]:
    return call("GET", "/trends/languages", params=trend_params(filters))["items"]


def engineers(filters: dict[str, Any]) -> list[dict]:
    return call("GET", "/trends/engineers", params=trend_params(filters))["items"]


def lookup_engineers(names: list[str]) -> list[str]:
    """The pseudonyms of up to 100 names in one call, in order; the names go in the body only and
    are never kept (each counts against the caller's look-up limit)."""
    items = call("POST", "/engineers/lookup/batch", json={"engineers": names})["items"]
    codes = {item["engineer"]: item["engineer_code"] for item in items}
    return [codes[index] for index in range(len(names))]


def history(engineer_code: str, period_days: int, until: str | None = None) -> dict:
    params = {"period_days": period_days, **({"until": until} if until else {})}
    return call("GET", f"/history/{engineer_code}", params=params)


def alerts(
    status: str | None, team: str | None, category: str | None = None, limit: int = 500
) -> list[dict]:
    """Alerts of one status (`open`: fired and not yet acknowledged or resolved), newest first;
    with `category`, those about that root cause."""
    params = {"status": status, "team": team, "category": category, "limit": limit}
    return call("GET", "/alerts", params=params)["items"]


def decide_alerts(alert_ids: list[str], status: str) -> list[dict]:
    """Acknowledge or resolve these alerts in one call: all of them, or none (ApiError)."""
    return call("POST", "/alerts/decisions", json={"ids": alert_ids, "status": status})["items"]


def start_import(content: bytes, media_type: str, dry_run: bool) -> dict:
    return call(
        "POST",
        "/imports",
        params={"dry_run": "true" if dry_run else "false"},
        data=content,
        headers={"Content-Type": media_type},
    )


def import_report(import_id: str) -> dict:
    return call("GET", f"/imports/{import_id}")


def trend_params(filters: dict[str, Any]) -> dict[str, Any]:
    """The dashboard's filters as the trend endpoints' query parameters."""
    return {
        "team": filters.get("team"),
        "region": filters.get("region"),
        "language": filters.get("language"),
        "root_cause": filters.get("root_cause"),
        "from": filters.get("from"),
        "to": filters.get("to"),
    }
