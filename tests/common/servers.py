"""Small real HTTP servers on 127.0.0.1 for tests (a WSGI app in a thread)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from flask import Flask, Response, request
from werkzeug.serving import make_server

from devstack.postgres import free_port


@contextlib.contextmanager
def serve(app) -> Iterator[str]:
    """Serve a WSGI app on a free port for the duration of the block; yields its base URL."""
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        thread.join(5)


def echo_app() -> Flask:
    """Answers every /api/v1/* call with what reached it (path, method, headers, body length)."""
    echo = Flask("echo")

    @echo.route("/api/v1/<path:path>", methods=["GET", "POST", "PUT", "DELETE"])
    def answer(path):
        if path.endswith("/missing"):
            return {"status": 404}, 404
        if path == "sessions/export":
            return Response((b"x" * 1000 for _ in range(1000)), mimetype="text/csv")
        if path == "sessions/cookie":  # a service that tries to set a cookie on the caller
            return (
                {"path": request.full_path},
                200,
                {"Set-Cookie": "cr_session=forged; Path=/", "Proxy-Authenticate": "Basic"},
            )
        return {
            "path": request.full_path,
            "method": request.method,
            "headers": dict(request.headers),
            "body_length": len(request.get_data()),
        }, 201

    return echo
