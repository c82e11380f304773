"""Builders of valid request bodies; tests override only what they are about."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

_case_numbers = itertools.count(10_000_001)


def make_session(**overrides: Any) -> dict[str, Any]:
    """A valid POST /sessions body for one analysis ended an hour ago."""
    ended = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    body: dict[str, Any] = {
        "session_id": str(uuid.uuid4()),
        "engineer": "Anna Berg",
        "case_number": str(next(_case_numbers)),
        "team": "emea-1",
        "region": "EMEA",
        "record_type": "single",
        "parts": 1,
        "languages": ["EN", "DE"],
        "sentiment_score": 0.35,
        "tone_label": "negative",
        "root_cause": "knowledge_gap",
        "confidence_analysis": 0.9,
        "confidence_translation": 0.8,
        "started_at": (ended - timedelta(minutes=20)).isoformat(),
        "ended_at": ended.isoformat(),
        "agent_version": "3.7.0",
        "model": "gpt-4o",
        "notes": "Customer expected a faster escalation.",
        "attributes": {"channel": "phone"},
    }
    body.update(overrides)
    return {key: value for key, value in body.items() if value is not ...}


def csv_of_sessions(bodies: list[dict[str, Any]]) -> bytes:
    """An import file (CRLF CSV) of session bodies that hold no nested values but `languages`."""
    columns = [column for column in bodies[0] if column != "languages"] + ["languages"]
    lines = [",".join(columns)]
    for body in bodies:
        cells = [";".join(body[c]) if c == "languages" else str(body[c]) for c in columns]
        lines.append(",".join(cells))
    return ("\r\n".join(lines) + "\r\n").encode()
