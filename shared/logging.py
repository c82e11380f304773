"""JSON log lines on stderr with the service name and the request id; never request bodies."""

from __future__ import annotations

import logging
import sys

from flask import g, has_request_context
from pythonjsonlogger.json import JsonFormatter

_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s"


class RequestContextFilter(logging.Filter):
    """Adds `service` and, inside a request, `request_id` to every record."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self.service
        if has_request_context() and "request_id" in g:
            record.request_id = g.request_id
        return True


def configure_logging(service: str, level: str = "INFO") -> None:
    """Route the root logger to one JSON handler on stderr (idempotent per process)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_cr_json", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler._cr_json = True  # type: ignore[attr-defined]
    handler.setFormatter(
        JsonFormatter(_FIELDS, rename_fields={"levelname": "level", "asctime": "time"})
    )
    handler.addFilter(RequestContextFilter(service))
    root.addHandler(handler)
    root.setLevel(level.upper())
    # Werkzeug's own access lines carry full URLs; the project's access log replaces them.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
