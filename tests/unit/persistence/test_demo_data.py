"""Demo data is reproducible and passes the same validation the agent's writes pass."""

from datetime import UTC, datetime

from persistence_svc.schemas import SessionInSchema
from shared.demo import demo_sessions

NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)


def test_demo_sessions_are_valid_and_reproducible():
    first = list(demo_sessions(200, now=NOW))
    assert first == list(demo_sessions(200, now=NOW))
    schema = SessionInSchema()
    for body in first:
        schema.load(body)
    assert len({body["session_id"] for body in first}) == 200
    assert {body["team"] for body in first} == {"emea-1", "emea-2", "amer-1", "apac-1"}
    assert {body["root_cause"] for body in first} == {
        "communication_issue",
        "knowledge_gap",
        "analytical_error",
        "process_issue",
        "other",
    }
