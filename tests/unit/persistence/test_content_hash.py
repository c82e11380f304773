"""The content hash is stored with every session: a change to what it covers or how it is written
would make every stored session a conflict for the same file imported again."""

import uuid
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from persistence_svc.sessions import _HASHED_JSON, content_hash, hashed_json

RECORD = {
    "session_id": uuid.UUID("00000000-0000-4000-8000-000000000001"),
    "engineer_code": "eng_" + "a" * 24,
    "case_ref": "case_" + "b" * 24,
    "team": "emea-1",
    "region": "EMEA",
    "record_type": "series",
    "parts": 2,
    "languages": ["EN", "DE"],
    "sentiment_score": 0.25,
    "tone_label": "negative",
    "root_cause": "knowledge_gap",
    "confidence_analysis": 0.9,
    "confidence_translation": 0.8,
    "started_at": datetime(2026, 3, 1, 10, 40, tzinfo=timezone(timedelta(hours=1))),
    "ended_at": datetime(2026, 3, 1, 10, 0, tzinfo=UTC),
    "agent_version": "3.7.0",
    "model": "gpt-4o",
    "notes": "Müller’s case: slow escalation.",
    "attributes": {"channel": "phone", "tier": 2},
}


def test_the_hash_of_a_known_record_never_changes():
    assert content_hash(RECORD).hex() == (
        "1e0a4a20fdce4bbceb4dc4f58591a39455304d92843345d1ee8fe77fad352a73"
    )


def test_the_same_instant_with_another_offset_is_the_same_content():
    moved = {**RECORD, "started_at": datetime(2026, 3, 1, 9, 40, tzinfo=UTC)}
    assert content_hash(moved) == content_hash(RECORD)


def test_the_session_id_and_derived_values_are_not_content():
    other = {**RECORD, "session_id": uuid.uuid4(), "confidence_overall": 0.1}
    assert content_hash(other) == content_hash(RECORD)
    assert content_hash({**RECORD, "notes": "Another note."}) != content_hash(RECORD)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=20,
)


@given(st.lists(JSON_VALUES))
def test_the_hashed_json_is_what_the_configured_encoder_writes(values):
    assert hashed_json(values) == _HASHED_JSON.encode(values)
