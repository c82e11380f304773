"""Service-to-service HTTP: a pooled `requests` session with timeouts, the caller's request id and
an internal token of the call on every request."""

from __future__ import annotations

from typing import Any

import requests
from flask import g, has_request_context
from requests.adapters import HTTPAdapter

from shared.config import Settings, secret_value
from shared.tokens import Principal, call_key, service_call, sign_internal_token


class ServiceClient:
    """Calls `target` as `caller`: one permitted service call of `shared.tokens.SERVICE_CALLS`,
    signed with that call's own key, so the target gives it that call's roles and nothing else."""

    def __init__(
        self,
        base_url: str,
        *,
        caller: str,
        target: str,
        key: str,
        timeout: float = 10.0,
        token_ttl: int = 30,
    ) -> None:
        call = service_call(caller, target)  # KeyError for a call the table does not permit
        self.base_url = base_url.rstrip("/")
        self.call = call
        self.key = call_key(caller, key)
        self.principal = Principal(subject=caller, roles=call.roles, kind="service")
        self.timeout = timeout
        self.token_ttl = token_ttl
        self.session = requests.Session()
        adapter = HTTPAdapter(pool_connections=2, pool_maxsize=16, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def headers(self) -> dict[str, str]:
        """The call's internal token, and the current request's id when called while serving one."""
        request_id = g.get("request_id", "") if has_request_context() else ""
        token = sign_internal_token(
            self.principal,
            self.key,
            audience=self.call.target,
            issuer=self.call.issuer,
            request_id=request_id,
            ttl=self.token_ttl,
        )
        headers = {"Authorization": f"Bearer {token}"}
        if request_id:
            headers["X-Request-ID"] = request_id
        return headers

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """One call; raises `requests.RequestException` on network failure or timeout."""
        kwargs.setdefault("timeout", self.timeout)
        headers = {**self.headers(), **kwargs.pop("headers", {})}
        return self.session.request(method, self.base_url + path, headers=headers, **kwargs)

    def get_json(self, path: str, **kwargs: Any) -> Any:
        """GET and decode JSON; raises `requests.HTTPError` for a 4xx/5xx answer."""
        response = self.request("GET", path, **kwargs)
        response.raise_for_status()
        return response.json()

    def close(self) -> None:
        self.session.close()


def service_client(settings: Settings, caller: str, target: str) -> ServiceClient:
    """The client of the permitted call `caller` -> `target` as the settings configure it: the
    target's `<TARGET>_URL`, the call's key (SERVICE_CALLS' `key_setting`), UPSTREAM_TIMEOUT and
    INTERNAL_TOKEN_TTL."""
    call = service_call(caller, target)
    return ServiceClient(
        getattr(settings, f"{target}_url"),
        caller=caller,
        target=target,
        key=secret_value(settings, call.key_setting),
        timeout=settings.upstream_timeout,
        token_ttl=settings.internal_token_ttl,
    )
