"""The agent's input checks (shared.domain rules, the spec's messages), the three-attempt restart
offer, and the validation log summary (Show Validation Log)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import psycopg

from qa_svc import store
from shared import domain
from shared.errors import Forbidden

STEPS = {"engineer": 1, "case_number": 2, "languages": 3, "record_type": 4, "parts": 4, "review": 6}
NON_PERSONAL = frozenset({"languages", "record_type", "parts"})
REQUIRED_FOR_REVIEW = ("engineer", "case_number", "languages", "record_type")
ANOTHER_TEAM = "Logged for another team than this caller acts for."


def run_rule(field: str, value: Any, record_type: str | None) -> domain.RuleResult:
    """The spec's rule for one field."""
    if field == "engineer":
        return domain.check_engineer_name(value)
    if field == "case_number":
        return domain.check_case_number(value)
    if field == "languages":
        return domain.check_languages(value)
    if field == "record_type":
        return domain.check_record_type(value)
    if field == "parts":
        return domain.check_part_count(value, record_type or "series")
    return check_review(value if isinstance(value, dict) else {})


def check_review(draft: dict[str, Any]) -> domain.RuleResult:
    """Step 6: every field present and valid, else the spec's message and the fields at fault."""
    problems = [name for name in REQUIRED_FOR_REVIEW if draft.get(name) in (None, "", [])]
    for name in REQUIRED_FOR_REVIEW:
        if name not in problems and not run_rule(name, draft[name], draft.get("record_type")).valid:
            problems.append(name)
    record_type = draft.get("record_type")
    if (
        isinstance(record_type, str)
        and record_type.strip().lower() == "series"
        and not (domain.check_part_count(draft.get("parts"), "series").valid)
    ):
        problems.append("parts")
    if problems:
        return domain.RuleResult(
            valid=False,
            normalized=problems,
            code="incomplete_review",
            message=domain.MESSAGES["incomplete_review"],
        )
    return domain.RuleResult(valid=True, normalized=[])


def within_scope(logged_for: Sequence[str], teams: Sequence[str] | None) -> bool:
    """True when a caller limited to `teams` (None: not limited) may read and append to a log
    whose first writer was scoped to `logged_for` (empty: an unscoped writer, whose logs are
    not any one team's)."""
    return teams is None or (bool(logged_for) and set(logged_for) <= set(teams))


def claim_sessions(
    conn: psycopg.Connection, fields: dict[str, uuid.UUID], teams: Sequence[str] | None
) -> None:
    """Record the caller's teams on the sessions new to the log; when any of the sessions, keyed
    by the request field naming it, was logged for a team outside `teams`, refuse with a 403
    naming each such field (nothing is recorded)."""
    logged_for = store.claim_sessions(conn, list(fields.values()), teams or ())
    outside = [
        {"field": field, "reason": ANOTHER_TEAM}
        for field, session_id in fields.items()
        if not within_scope(logged_for[session_id], teams)
    ]
    if outside:
        raise Forbidden("The validation log of this session is not this caller's.", errors=outside)


def outcome_of(result: domain.RuleResult) -> str:
    if not result.valid:
        return "invalid"
    return "warning" if result.warnings else "valid"


def check(
    conn: psycopg.Connection,
    session_id: uuid.UUID,
    field: str,
    value: Any,
    *,
    attempt: int | None,
    record_type: str | None,
    agent_version: str | None,
    teams: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Check one input, log it without the raw value, and offer a restart on the third invalid
    entry for the same field in the session. A caller limited to `teams` checks only within a
    session logged for those teams, or a new one (see claim_sessions)."""
    claim_sessions(conn, {"session_id": session_id}, teams)
    result = run_rule(field, value, record_type)
    attempt = attempt or store.attempts(conn, session_id, field) + 1
    normalized = result.normalized if result.valid or field == "review" else None
    store.insert_events(
        conn,
        [
            {
                "session_id": session_id,
                "source": "check",
                "step": STEPS[field],
                "field": field,
                "outcome": outcome_of(result),
                "code": result.code,
                "attempt": attempt,
                "normalized": _loggable(field, normalized),
                "message": result.message,
                "agent_version": agent_version,
                "occurred_at": None,
                "confidence_overall": draft_confidence(value) if field == "review" else None,
            }
        ],
    )
    invalid = store.invalid_attempts(conn, session_id, field)
    restart = not result.valid and invalid >= domain.RESTART_AFTER_ATTEMPTS
    answer = {
        "valid": result.valid,
        "normalized": normalized,
        "code": result.code,
        "message": result.message,
        "warnings": list(result.warnings),
        "attempt": attempt,
        "restart_offered": restart,
    }
    if restart:
        answer["defaults"] = {
            "languages": domain.DEFAULTS["languages"],
            "record_type": domain.DEFAULTS["record_type"],
        }
    return answer


def record_events(
    conn: psycopg.Connection, events: Sequence[dict[str, Any]], teams: Sequence[str] | None
) -> int:
    """Append the agent's reported events; a caller limited to `teams` reports only within
    sessions logged for those teams, or new ones (see claim_sessions). Returns how many."""
    claim_sessions(
        conn,
        {f"events.{index}.session_id": event["session_id"] for index, event in enumerate(events)},
        teams,
    )
    store.insert_events(
        conn,
        [
            {
                "session_id": event["session_id"],
                "source": "agent",
                "step": event["step"],
                "field": event["field"],
                "outcome": event["outcome"],
                "code": event["code"],
                "attempt": event["attempt"],
                "normalized": None,
                "message": event["message"],
                "agent_version": event["agent_version"],
                "occurred_at": event["time"],
                "confidence_overall": event["confidence_overall"],
            }
            for event in events
        ],
    )
    return len(events)


def draft_confidence(draft: Any) -> float | None:
    """The overall confidence of a step-6 draft (the spec's formula), when its numbers allow it."""
    if not isinstance(draft, dict):
        return None
    analysis, translation = draft.get("confidence_analysis"), draft.get("confidence_translation")
    numbers = [value for value in (analysis, translation) if value is not None]
    if analysis is None or not all(
        isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1
        for value in numbers
    ):
        return None
    languages = draft.get("languages")
    return domain.overall_confidence(
        analysis, translation, languages if isinstance(languages, list | str) else ()
    )


def _loggable(field: str, normalized: Any) -> str | None:
    if field not in NON_PERSONAL or normalized is None:
        return None
    return ";".join(normalized) if isinstance(normalized, list) else str(normalized)


def session_log(
    conn: psycopg.Connection, session_id: uuid.UUID, teams: Sequence[str] | None = None
) -> dict[str, Any] | None:
    """Show Validation Log: the spec's summary fields, the timeline and a text rendering; None
    when the session has no log, or none a caller limited to `teams` may read (within_scope)."""
    if teams is not None and not within_scope(store.logged_for(conn, session_id) or (), teams):
        return None  # exactly like a session without a log: no existence oracle
    events = store.session_events(conn, session_id)
    if not events:
        return None
    engineer = [event for event in events if event["field"] == "engineer"]
    record_type = [event for event in events if event["field"] == "record_type"]
    errors = [event for event in events if event["outcome"] in ("invalid", "error")]
    restart = any(
        sum(1 for event in events if event["field"] == field and event["outcome"] == "invalid")
        >= domain.RESTART_AFTER_ATTEMPTS
        for field in STEPS
    )
    summary = {
        "session_id": session_id,
        "engineer_validity": bool(engineer) and engineer[-1]["outcome"] != "invalid",
        "case_attempts": sum(1 for event in events if event["field"] == "case_number"),
        "language_warnings": sum(1 for event in events if event["code"] == "unsupported_language"),
        "record_type_status": (record_type[-1]["normalized"] or "invalid")
        if record_type
        else "not checked",
        "timestamp": errors[-1]["occurred_at"] if errors else None,
        "restart_offered": restart,
        "events": [
            {
                key: event[key]
                for key in (
                    "occurred_at",
                    "source",
                    "step",
                    "field",
                    "outcome",
                    "code",
                    "attempt",
                    "message",
                    "agent_version",
                )
            }
            for event in events
        ],
    }
    summary["text"] = log_text(summary)
    return summary


def log_text(summary: dict[str, Any]) -> str:
    """The validation log as the agent can show it."""
    lines = [
        "Validation log",
        f"- Engineer name valid: {'yes' if summary['engineer_validity'] else 'no'}",
        f"- Case number attempts: {summary['case_attempts']}",
        f"- Unsupported language codes entered: {summary['language_warnings']}",
        f"- Record type: {summary['record_type_status']}",
        f"- Last error: {summary['timestamp'].isoformat() if summary['timestamp'] else 'none'}",
    ]
    if summary["restart_offered"]:
        lines.append(
            "- A restart with defaults (EN, Single) was offered after three invalid entries."
        )
    return "\n".join(lines)
