"""Demo data is reproducible and passes the same validation the agent's writes pass."""

from datetime import UTC, datetime

from devstack.demo import demo_reviews, demo_sessions, demo_validation_events
from persistence_svc.schemas import SessionInSchema
from qa_svc.schemas import EventBatchSchema, ReviewInSchema

NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)


def test_demo_sessions_are_valid_and_reproducible():
    first = list(demo_sessions(200, now=NOW))
    assert first == list(demo_sessions(200, now=NOW))
    schema = SessionInSchema()
    for body in first:
        schema.load(body)
    assert len({body["session_id"] for body in first}) == 200 + 14  # + the scripted patterns
    assert {body["team"] for body in first} == {"emea-1", "emea-2", "amer-1", "apac-1"}
    assert {body["root_cause"] for body in first} == {
        "communication_issue",
        "knowledge_gap",
        "analytical_error",
        "process_issue",
        "other",
    }


def test_full_demo_has_about_fifty_engineers_over_six_months():
    sessions = list(demo_sessions(now=NOW))
    assert len({body["engineer"] for body in sessions}) == 4 * 12 + 3
    oldest = min(datetime.fromisoformat(body["ended_at"]) for body in sessions)
    assert (NOW - oldest).days >= 170


def test_demo_validation_log_is_valid_and_carries_no_entered_values():
    sessions = list(demo_sessions(now=NOW))
    events = demo_validation_events(sessions)
    EventBatchSchema().load({"events": events[:500]})
    logged = {event["session_id"] for event in events}
    assert 0.15 < len(logged) / len(sessions) < 0.35
    restarts = {
        event["session_id"]
        for event in events
        if event["code"] == "invalid_case_number" and event["attempt"] == 3
    }
    assert restarts, "some sessions show a restart offer"
    names = {body["engineer"] for body in sessions} | {body["case_number"] for body in sessions}
    assert not any(value in str(event) for event in events for value in names)
    reviews = demo_reviews(sorted(logged))
    assert len(reviews) == 24
    for _session_id, status, notes in reviews:
        ReviewInSchema().load({"status": status, "notes": notes})
