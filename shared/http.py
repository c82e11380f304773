"""Service-to-service HTTP: a pooled `requests` session with timeouts, the caller's request id and
an internal token on every call."""

from __future__ import annotations

from typing import Any

import requests
from flask import g, has_request_context
from requests.adapters import HTTPAdapter

from shared.tokens import Principal, sign_internal_token

SERVICE_PRINCIPAL = Principal(subject="service", roles=frozenset({"service"}), kind="service")


class ServiceClient:
    """Calls one service's API as `principal` (default: the internal `service` role)."""

    def __init__(
        self,
        base_url: str,
        secret: str,
        *,
        timeout: float = 10.0,
        principal: Principal = SERVICE_PRINCIPAL,
        token_ttl: int = 60,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.secret = secret
        self.timeout = timeout
        self.principal = principal
        self.token_ttl = token_ttl
        self.session = requests.Session()
        adapter = HTTPAdapter(pool_connections=2, pool_maxsize=16, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def headers(self) -> dict[str, str]:
        """The internal token, and the current request's id when called while serving one."""
        request_id = g.get("request_id", "") if has_request_context() else ""
        token = sign_internal_token(
            self.principal, self.secret, request_id=request_id, ttl=self.token_ttl
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
