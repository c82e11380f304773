"""The client's address: the socket's peer, or, when that peer is a trusted reverse proxy
(TRUSTED_PROXIES), the address the proxy appended to X-Forwarded-For. Nobody else can choose
their address with the header."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from shared.web import settings_of


class TrustedProxyFix:
    """WSGI middleware: werkzeug's ProxyFix (the last X-Forwarded-For entry becomes
    `REMOTE_ADDR`) for requests whose peer is in one of `networks`; every other request as it
    came."""

    def __init__(self, wsgi_app, networks: Iterable[str]) -> None:
        self.wsgi_app = wsgi_app
        self.networks = tuple(ipaddress.ip_network(cidr) for cidr in networks)
        self.behind_proxy = ProxyFix(wsgi_app, x_for=1, x_proto=0, x_host=0, x_port=0, x_prefix=0)

    def trusted(self, peer: str | None) -> bool:
        try:
            address = ipaddress.ip_address(peer or "")
        except ValueError:
            return False
        return any(address in network for network in self.networks)

    def __call__(self, environ, start_response):
        if self.trusted(environ.get("REMOTE_ADDR")):
            return self.behind_proxy(environ, start_response)
        return self.wsgi_app(environ, start_response)


def register_trusted_proxies(app: Flask) -> None:
    """Take the client address from X-Forwarded-For only from TRUSTED_PROXIES (default: nobody)."""
    networks = settings_of(app).trusted_proxies
    if networks:
        app.wsgi_app = TrustedProxyFix(app.wsgi_app, networks)
