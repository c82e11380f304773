"""The audit trail: which calls are audited, and recording them without ever failing the call."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence

from flask import g, request

from gateway import store_audit
from gateway.bearer import TEAM_NAME
from shared import db
from shared.pseudonyms import is_engineer_code
from shared.tokens import Principal

log = logging.getLogger("cr.audit")

# (method, path below /api/v1 as a pattern) -> action name, for calls audited whatever the outcome.
# Look-ups (a name in, its pseudonym out) are recognised by gateway.lookups: one needs the body.
AUDITED_CALLS: tuple[tuple[str, str, str], ...] = (
    ("GET", r"sessions/export", "sessions.export"),
    ("GET", r"alerts/export", "alerts.export"),
    ("PUT", r"thresholds/[^/]+", "thresholds.change"),
    ("DELETE", r"engineers/[^/]+", "engineers.erase"),
    ("POST", r"imports", "imports.create"),
    ("POST", r"qa/reviews/[^/]+", "qa.review"),
    ("POST", r"qa/scorecards", "qa.scorecard"),
    ("PUT", r"qa/scorecards/[^/]+", "qa.scorecard"),
    ("PUT", r"qa/sampling", "qa.sampling"),
    ("POST", r"qa/sampling/run", "qa.sampling"),
    ("POST", r"qa/assignments/[^/]+", "qa.reassign"),
    ("PATCH", r"qa/reviewers/[^/]+", "qa.reviewer"),
    ("POST", r"qa/calibrations", "qa.calibration"),
    ("POST", r"alerts/decisions", "alerts.decide"),
    ("POST", r"alerts/[^/]+/(ack|resolve)", "alerts.decide"),
    ("POST", r"notifications/(channels|routes|silences)", "notifications.create"),
    ("PUT", r"notifications/(channels|routes)/[^/]+", "notifications.change"),
    ("DELETE", r"notifications/(channels|routes|silences)/[^/]+", "notifications.delete"),
    ("POST", r"notifications/channels/[^/]+/test", "notifications.test"),
    ("POST", r"notifications/routes/[^/]+/confirm", "notifications.confirm"),
    ("POST", r"notifications/deliveries/[^/]+/retry", "notifications.retry"),
)


# The same for browser UI requests (path without the leading slash). The dashboard acts through the
# API (audited above); the QA UI records review decisions itself, so its form posts are listed.
AUDITED_UI_CALLS: tuple[tuple[str, str, str], ...] = (("POST", r"qa/sessions/[^/]+", "qa.review"),)


REDACTED = "{redacted}"
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# The trend rules whose thresholds have a path (trends_svc.thresholds.RULES; a test keeps them equal).
THRESHOLD_RULES = frozenset(
    {"recurring_issue", "performance_decline", "positive_trend", "team_frequent_issue"}
)
_ROUTE_WORD = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")


def _is_uuid(text: str) -> bool:
    return _UUID.fullmatch(text) is not None


def _is_rule_name(text: str) -> bool:
    return text in THRESHOLD_RULES


def _is_message_id(text: str) -> bool:
    """A notification message's id (trends' outbox: a bigint)."""
    return text.isascii() and text.isdigit() and len(text) <= 19


# Paths that carry an id (whole paths as patterns, the id as group 1), and the form of that id.
# Anything else in its place (a name typed into a URL) is recorded as REDACTED, never as sent.
ID_PATHS: tuple[tuple[re.Pattern[str], Callable[[str], bool]], ...] = (
    (re.compile(r"/api/v1/engineers/(?!lookup$)([^/]+)"), is_engineer_code),
    (re.compile(r"/api/v1/history/(?!compare$)([^/]+)"), is_engineer_code),
    (re.compile(r"/api/v1/sessions/(?!export$|batch$)([^/]+)"), _is_uuid),
    (re.compile(r"/api/v1/imports/([^/]+)"), _is_uuid),
    (re.compile(r"/api/v1/erasures/([^/]+)"), _is_uuid),
    (re.compile(r"/api/v1/alerts/(?!export$|decisions$)([^/]+)(?:/(?:ack|resolve))?"), _is_uuid),
    (re.compile(r"/api/v1/thresholds/([^/]+)"), _is_rule_name),
    (re.compile(r"/api/v1/notifications/(?:channels|routes|silences)/([^/]+)(?:/\w+)?"), _is_uuid),
    (re.compile(r"/api/v1/notifications/deliveries/([^/]+)/retry"), _is_message_id),
    (re.compile(r"/api/v1/validation/sessions/([^/]+)"), _is_uuid),
    (re.compile(r"/api/v1/qa/reviews/([^/]+)"), _is_uuid),
    (re.compile(r"/api/v1/qa/scorecards/([^/]+)"), _is_uuid),
    (re.compile(r"/api/v1/qa/assignments/([^/]+)"), _is_uuid),
    (re.compile(r"/api/v1/qa/reviewers/([^/]+)"), _is_uuid),  # reviewers are gateway users
    (re.compile(r"/api/v1/qa/calibrations/([^/]+)(?:/ratings)?"), _is_uuid),
    (re.compile(r"/qa/sessions/([^/]+)"), _is_uuid),  # the QA UI's review page
)


# The browser UIs behind the gateway (gateway.ui). Their page paths are whatever a user typed into
# the address bar, so a UI request is recorded by its route, `/qa/{path}`, never as sent.
UI_ROUTES = frozenset({"dashboard", "qa"})
UI_PAGE = "{path}"


def audited_path(path: str) -> str:
    """`path` as an audit row may hold it: an id that does not have its form is REDACTED (case
    refs are never in a path); a UI page below its UI's root is its route, `/dashboard/{path}`.
    On an API path with no known id only lower-case route words are kept (engineer codes and
    case refs are such words), so the route stays readable."""
    for pattern, well_formed in ID_PATHS:
        match = pattern.fullmatch(path)
        if match:
            if well_formed(match[1]):
                return path
            return path[: match.start(1)] + REDACTED + path[match.end(1) :]
    root, _, page = path.lstrip("/").partition("/")
    if root in UI_ROUTES:
        return f"/{root}/" + (UI_PAGE if page else "")
    return "/".join(
        part if not part or _ROUTE_WORD.fullmatch(part) else REDACTED for part in path.split("/")
    )


def request_object(query_team: Sequence[str] = (), names: int = 0) -> str:
    """The current request as an audit row's object: method and audited path, plus the `team`
    filter when it is the reason (each value that is not shaped like a team id REDACTED), plus
    how many names a look-up of more than one name sent (never the names)."""
    shown = ["team=" + (team if TEAM_NAME.fullmatch(team) else REDACTED) for team in query_team] + (
        [f"names={names}"] if names > 1 else []
    )
    query = "&".join(shown)
    return f"{request.method} {audited_path(request.path)}" + ("?" + query if query else "")


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
            store_audit.insert_audit_event(
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
    action: str,
    principal: Principal,
    status: int,
    outcome: str | None = None,
    *,
    query_team: Sequence[str] = (),
    names: int = 0,
) -> None:
    """Audit the current request (`request_object` as the object) with its answer's status."""
    record(
        action,
        principal=principal,
        outcome=outcome or outcome_of(status),
        status=status,
        obj=request_object(query_team, names),
    )
