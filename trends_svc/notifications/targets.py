"""The SSRF guard of notification targets: in production a URL whose host is (or resolves to) a
loopback, private, link-local or otherwise non-public address is refused unless the host or
network is listed in NOTIFICATIONS_ALLOWED_TARGETS."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class TargetRefused(ValueError):
    """The URL may not be called from this deployment; the message says why (never the URL)."""


def addresses_of(host: str) -> list[Address]:
    """Every address `host` stands for (itself when it is a literal address)."""
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except socket.gaierror:
        raise TargetRefused("The host does not resolve.") from None
    return [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]


def is_public(address: Address) -> bool:
    return address.is_global and not address.is_multicast


def allowed_by(host: str, addresses: Iterable[Address], allowed: Iterable[str]) -> bool:
    """True when the host name, or every address, is within the allow-list (hosts or CIDRs)."""
    networks = []
    for entry in allowed:
        if entry.lower() == host.lower():
            return True
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            continue
    addresses = list(addresses)
    return bool(networks) and all(any(a in net for net in networks) for a in addresses)


def check_target(url: str, *, production: bool, allowed: Iterable[str] = ()) -> None:
    """Refuse a URL that is not http(s), and in production one that reaches a non-public address
    not allowed by the setting. Called when a channel is saved and again before each send (the
    name may resolve elsewhere by then)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError for a port that is no number)
    except ValueError:
        raise TargetRefused("Not a valid URL.") from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise TargetRefused("Only http(s) URLs with a host.")
    if parts.username or parts.password:
        raise TargetRefused("Credentials do not belong in the URL.")
    if not production:
        return
    if parts.hostname.lower() in {entry.lower() for entry in allowed}:
        return  # an allowed relay inside the network may speak plain http
    addresses = addresses_of(parts.hostname)
    if allowed_by(parts.hostname, addresses, allowed):
        return  # an allowed relay inside the network may speak plain http
    if parts.scheme != "https":
        raise TargetRefused("Only https URLs in production.")
    if not all(is_public(a) for a in addresses):
        raise TargetRefused(
            "The host is on a loopback or private network; allow it in "
            "NOTIFICATIONS_ALLOWED_TARGETS if it is meant to be reached."
        )
