"""Who may call which API route: the role table of the architecture, checked at the gateway before
forwarding (each service checks again, and applies team scope in its queries)."""

from __future__ import annotations

import re
from dataclasses import dataclass

AGENT, MANAGER, QA_LEAD, ADMIN = "agent", "manager", "qa_lead", "admin"
READERS = (MANAGER, QA_LEAD, ADMIN)


@dataclass(frozen=True)
class Rule:
    """Roles allowed to call `method` on paths matching `pattern` (below /api/v1)."""

    method: str
    pattern: str
    roles: tuple[str, ...]

    def matches(self, method: str, path: str) -> bool:
        return self.method == method and re.fullmatch(self.pattern, path) is not None


SEGMENT = r"[^/]+"
RULES: tuple[Rule, ...] = (
    # persistence_svc
    Rule("GET", r"sessions", READERS),
    Rule("POST", r"sessions", (AGENT, ADMIN)),
    Rule("POST", r"sessions/batch", (AGENT, ADMIN)),
    Rule("GET", r"sessions/export", READERS),
    Rule("GET", rf"sessions/{SEGMENT}", READERS),
    Rule("POST", r"engineers/lookup", (AGENT, *READERS)),
    Rule("POST", r"engineers/lookup/batch", (AGENT, *READERS)),
    Rule("DELETE", rf"engineers/{SEGMENT}", (ADMIN,)),
    Rule("GET", rf"erasures/{SEGMENT}", (ADMIN,)),  # answered by the gateway (gateway/erasure.py)
    Rule("POST", r"imports", (ADMIN,)),
    Rule("GET", rf"imports/{SEGMENT}", (ADMIN,)),
    # trends_svc
    Rule("POST", r"history/compare", (AGENT, *READERS)),
    Rule("GET", rf"history/{SEGMENT}", (AGENT, *READERS)),
    Rule("GET", r"trends/(weekly|languages|root-causes|engineers)", READERS),
    Rule("POST", r"trends/evaluate", (ADMIN,)),
    Rule("GET", r"alerts", READERS),
    Rule("GET", r"alerts/export", READERS),
    Rule("POST", r"alerts/decisions", (MANAGER, ADMIN)),
    Rule("POST", rf"alerts/{SEGMENT}/(ack|resolve)", (MANAGER, ADMIN)),
    Rule("GET", r"thresholds", READERS),
    Rule("GET", rf"thresholds/{SEGMENT}", READERS),
    Rule("PUT", rf"thresholds/{SEGMENT}", (ADMIN,)),
    # trends_svc: notifications (issue #26); managers have their self-service routes and silences
    Rule("GET", r"notifications/(channels|deliveries)", (ADMIN,)),
    Rule("POST", r"notifications/channels", (ADMIN,)),
    Rule("GET", rf"notifications/channels/{SEGMENT}", (ADMIN,)),
    Rule("PUT", rf"notifications/channels/{SEGMENT}", (ADMIN,)),
    Rule("DELETE", rf"notifications/channels/{SEGMENT}", (ADMIN,)),
    Rule("POST", rf"notifications/channels/{SEGMENT}/test", (ADMIN,)),
    Rule("POST", rf"notifications/deliveries/{SEGMENT}/retry", (ADMIN,)),
    Rule("GET", r"notifications/(routes|silences)", (MANAGER, ADMIN)),
    Rule("POST", r"notifications/(routes|silences)", (MANAGER, ADMIN)),
    Rule("GET", rf"notifications/routes/{SEGMENT}", (MANAGER, ADMIN)),
    Rule("PUT", rf"notifications/routes/{SEGMENT}", (ADMIN,)),
    Rule("DELETE", rf"notifications/(routes|silences)/{SEGMENT}", (MANAGER, ADMIN)),
    Rule("POST", rf"notifications/routes/{SEGMENT}/confirm", (MANAGER, ADMIN)),
    # qa_svc
    Rule("POST", r"validation/check", (AGENT, ADMIN)),
    Rule("POST", r"validation/events", (AGENT, ADMIN)),
    Rule("GET", rf"validation/sessions/{SEGMENT}", (AGENT, QA_LEAD, ADMIN)),
    Rule("GET", r"validation/(summary|metrics)", (QA_LEAD, ADMIN)),
    Rule("GET", r"qa/reviews", (QA_LEAD, ADMIN)),
    Rule("POST", rf"qa/reviews/{SEGMENT}", (QA_LEAD, ADMIN)),
    Rule("GET", r"qa/scorecards", (QA_LEAD, ADMIN)),
    Rule("POST", r"qa/scorecards", (QA_LEAD, ADMIN)),
    Rule("GET", rf"qa/scorecards/{SEGMENT}", (QA_LEAD, ADMIN)),
    Rule("PUT", rf"qa/scorecards/{SEGMENT}", (QA_LEAD, ADMIN)),
    Rule("GET", r"qa/quality", (QA_LEAD, ADMIN)),
    Rule("GET", r"qa/reviewers", (QA_LEAD, ADMIN)),
    Rule("PATCH", rf"qa/reviewers/{SEGMENT}", (QA_LEAD, ADMIN)),
    Rule("GET", r"qa/sampling", (QA_LEAD, ADMIN)),
    Rule("PUT", r"qa/sampling", (QA_LEAD, ADMIN)),
    Rule("POST", r"qa/sampling/run", (QA_LEAD, ADMIN)),
    Rule("POST", rf"qa/assignments/{SEGMENT}", (QA_LEAD, ADMIN)),
    Rule("GET", r"qa/calibrations", (QA_LEAD, ADMIN)),
    Rule("POST", r"qa/calibrations", (QA_LEAD, ADMIN)),
    Rule("GET", rf"qa/calibrations/{SEGMENT}", (QA_LEAD, ADMIN)),
    Rule("POST", rf"qa/calibrations/{SEGMENT}/ratings", (QA_LEAD, ADMIN)),
)


def allowed_roles(method: str, path: str) -> tuple[str, ...] | None:
    """The roles of the first rule for this call (path below /api/v1/), None when no rule exists.

    Exact routes are listed before `{id}` routes so that `sessions/export` is not read as an id.
    """
    for rule in RULES:
        if rule.matches(method, path):
            return rule.roles
    return None
