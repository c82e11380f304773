"""Slow clients (slowloris) for the tests and the benchmark: connections that have sent the start of
a request and trickle or stop in the middle of its header."""

from __future__ import annotations

import contextlib
import select
import socket
import threading
from collections.abc import Iterator
from urllib.parse import urlsplit

PARTIAL_HEADER = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "


def connect(base_url: str) -> socket.socket:
    """A socket to the server that has sent the start of a request but not the end of its header."""
    address = urlsplit(base_url)
    sock = socket.create_connection((address.hostname, address.port), timeout=5)
    sock.sendall(PARTIAL_HEADER)
    return sock


def is_open(sock: socket.socket) -> bool:
    """Neither an answer nor a close from the server is waiting on the socket."""
    readable, _, _ = select.select([sock], [], [], 0)
    return not readable


@contextlib.contextmanager
def stalled_connections(base_url: str, count: int) -> Iterator[list[socket.socket]]:
    """`count` connections stopped mid-header; every other one trickles a header byte every
    half second, the rest send nothing more."""
    sockets = [connect(base_url) for _ in range(count)]
    stop = threading.Event()

    def trickle() -> None:
        while not stop.wait(0.5):
            for sock in sockets[::2]:
                with contextlib.suppress(OSError):
                    sock.send(b"a")

    trickler = threading.Thread(target=trickle, name="slow-clients", daemon=True)
    trickler.start()
    try:
        yield sockets
    finally:
        stop.set()
        trickler.join()
        for sock in sockets:
            sock.close()
