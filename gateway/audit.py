"""The audit trail: which calls are audited, and recording them without ever failing the call."""

from __future__ import annotations

import logging
import re

from flask import g, request

from gateway import store
from shared import db
from shared.tokens import Principal

log = logging.getLogger("cr.audit")

# (method, path below /api/v1 as a pattern) -> action name, for calls audited whatever the outcome.
AUDITED_CALLS: tuple[tuple[str, str, str], ...] = (
    ("GET", r"sessions/export", "sessions.export"),
    ("GET", r"alerts/export", "alerts.export"),
    ("PUT", r"thresholds/[^/]+", "thresholds.change"),
    ("DELETE", r"engineers/[^/]+", "engineers.erase"),
    ("POST", r"imports", "imports.create"),
    ("POST", r"qa/reviews/[^/]+", "qa.review"),
    ("POST", r"alerts/[^/]+/(ack|resolve)", "alerts.decide"),
    ("POST", r"engineers/lookup", "engineers.lookup"),  # who turned names into pseudonyms
)


# The same for browser UI requests (path without the leading slash). The dashboard acts through the
# API (audited above); the QA UI records review decisions itself, so its form posts are listed.
AUDITED_UI_CALLS: tuple[tuple[str, str, str], ...] = (("POST", r"qa/sessions/[^/]+", "qa.review"),)


def audited_action(method: str, path: str, calls=AUDITED_CALLS) -> str | None:
    """The action name of an audited API call (or UI request, with AUDITED_UI_CALLS), or None."""
    for audited_method, pattern, action in calls:
        if method == audited_method and re.fullmatch(pattern, path):
            return action
    return None


def outcome_of(status: int) -> str:
    if status in (401, 403):
        return "denied"
    return "success" if status < 400 else "failure"


def record(
    action: str,
    *,
    principal: Principal | None,
    outcome: str,
    status: int | None = None,
    obj: str | None = None,
    actor: str | None = None,
) -> None:
    """Append an audit event; a failure to write is logged, never raised into the request."""
    try:
        with db.connection() as conn:
            store.insert_audit_event(
                conn,
                {
                    "actor": actor or (principal.subject if principal else "anonymous"),
                    "actor_roles": sorted(principal.roles) if principal else [],
                    "action": action,
                    "object": obj.replace("\x00", "\ufffd") if obj else obj,  # text from a URL
                    "outcome": outcome,
                    "status": status,
                    "request_id": g.get("request_id"),
                },
            )
    except Exception:
        log.exception("audit event not written", extra={"action": action})


def record_request(
    action: str, principal: Principal, status: int, outcome: str | None = None
) -> None:
    """Audit the current request (method and path as the object) with its answer's status."""
    record(
        action,
        principal=principal,
        outcome=outcome or outcome_of(status),
        status=status,
        obj=f"{request.method} {request.path}",
    )
