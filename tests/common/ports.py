"""A port on 127.0.0.1 where nothing answers, held for as long as a test needs it: an app under
test that calls a service there meets a refused connection, whatever else runs on the machine
(`make run` on the default ports included)."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator

SERVICE_URL_SETTINGS = ("persistence_url", "trends_url", "qa_url", "dashboard_url", "mcp_url")


@contextlib.contextmanager
def refusing_url() -> Iterator[str]:
    """The base URL of a port this process has bound but never listens on: the kernel refuses
    every connection to it, and no other process can take the port while the block runs."""
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        holder.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{holder.getsockname()[1]}"
    finally:
        holder.close()


def unreachable_services(base_url: str) -> dict[str, str]:
    """Settings overrides that send every service call of an app to `base_url`."""
    return dict.fromkeys(SERVICE_URL_SETTINGS, base_url)
