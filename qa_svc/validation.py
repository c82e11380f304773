"""The agent's input checks (shared.domain rules, the spec's messages), the three-attempt restart
offer, and the validation log summary (Show Validation Log)."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg

from qa_svc import store
from shared import domain

STEPS = {"engineer": 1, "case_number": 2, "languages": 3, "record_type": 4, "parts": 4, "review": 6}
NON_PERSONAL = frozenset({"languages", "record_type", "parts"})
REQUIRED_FOR_REVIEW = ("engineer", "case_number", "languages", "record_type")


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
) -> dict[str, Any]:
    """Check one input, log it without the raw value, and offer a restart on the third invalid
    entry for the same field in the session."""
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


def session_log(conn: psycopg.Connection, session_id: uuid.UUID) -> dict[str, Any] | None:
    """Show Validation Log: the spec's summary fields, the timeline and a text rendering."""
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
