"""Slow clients (slowloris): connections that trickle or stop in the middle of their request header
must not stall the gateway, and the gateway closes them after HEADER_TIMEOUT. Against a real
gateway process started the way `make run` starts it, on 127.0.0.1."""

import contextlib
import select
import socket
import time

import pytest
import requests

from devstack.processes import start_platform
from tests.common.slow_clients import connect, is_open, stalled_connections

HEADER_TIMEOUT = 5  # seconds, low for the test (the default is the settings table's)
SLOW_CONNECTIONS = 200


@pytest.fixture(scope="module")
def gateway(platform_db, tmp_path_factory):
    running = start_platform(
        platform_db,
        tmp_path_factory.mktemp("slow-clients"),
        names=["gateway"],
        extra_env={"HEADER_TIMEOUT": str(HEADER_TIMEOUT)},
    )
    yield running.gateway
    running.stop()


def seconds_until_closed(sock: socket.socket, limit: float, trickle: bool) -> float | None:
    """How long the server takes to close `sock` (None: still open after `limit` seconds),
    sending one more header byte every half second when `trickle`."""
    started = time.monotonic()
    while (waited := time.monotonic() - started) < limit:
        readable, _, _ = select.select([sock], [], [], 0.5)
        if readable:
            try:
                data = sock.recv(4096)
            except ConnectionResetError:
                return waited
            assert data == b"", data  # the server must not answer an unfinished request
            return waited
        if trickle:
            try:
                sock.send(b"a")
            except (BrokenPipeError, ConnectionResetError):
                return time.monotonic() - started
    return None


def test_healthz_answers_while_200_connections_stall_mid_header(gateway):
    with stalled_connections(gateway, SLOW_CONNECTIONS) as sockets:
        time.sleep(0.5)  # the server has accepted them and waits for the rest of their headers
        response = requests.get(f"{gateway}/healthz", timeout=3)
        assert response.status_code == 200
        # the stalled connections were all still held by the server while /healthz answered
        assert sum(is_open(sock) for sock in sockets) == SLOW_CONNECTIONS


@pytest.mark.parametrize("trickle", [False, True], ids=["stops", "trickles"])
def test_a_connection_unfinished_mid_header_is_closed_after_the_header_timeout(gateway, trickle):
    with contextlib.closing(connect(gateway)) as sock:
        waited = seconds_until_closed(sock, HEADER_TIMEOUT + 5, trickle)
    assert waited is not None, "the server kept the unfinished request open"
    assert HEADER_TIMEOUT - 1 <= waited <= HEADER_TIMEOUT + 2, waited


def test_an_idle_kept_alive_connection_is_closed_after_the_header_timeout(gateway):
    with contextlib.closing(connect(gateway)) as sock:
        sock.sendall(b"a\r\n\r\n")  # the end of the header: a whole request
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.endswith(b"}\n"):
            answer += sock.recv(4096)
        assert answer.startswith(b"HTTP/1.1 200 ")
        assert b"connection: close" not in answer.lower()
        waited = seconds_until_closed(sock, HEADER_TIMEOUT + 5, trickle=False)
    assert waited is not None, "the server kept the idle connection open"
    assert HEADER_TIMEOUT - 1 <= waited <= HEADER_TIMEOUT + 2, waited
