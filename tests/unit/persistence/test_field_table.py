"""The field table is the one source of a session's rules: the schema of POST /sessions, the direct
checks and the import's column checks are made from it, so a rule changed there changes all three."""

import marshmallow as ma
import pytest

from persistence_svc import field_table
from persistence_svc.imports import columns
from persistence_svc.schemas import SessionInSchema, load_session

SCHEMA = SessionInSchema()


def test_the_schema_has_the_tables_fields_in_its_order_with_their_options():
    loaded = SCHEMA.load_fields
    assert list(loaded) == [field.name for field in field_table.FIELDS]
    for field in field_table.FIELDS:
        made = loaded[field.name]
        assert made.required == field.required, field.name
        assert made.allow_none == (field.nullable or field.default is None), field.name
        default = made.load_default
        assert (default is ma.missing) == (field.default is ma.missing), field.name
        assert made.load_only == field.load_only, field.name


def test_the_column_checks_are_the_tables_checks():
    assert columns.CHECKS is field_table.CHECKS
    assert columns.REQUIRED is field_table.REQUIRED
    assert columns.RECORD_RULES is field_table.RECORD_RULES


GOOD = {
    "engineer": "Anna Müller",
    "case_number": "12345678",
    "team": "emea-1",
    "record_type": "series",
    "parts": 3,
    "languages": ["EN"],
    "sentiment_score": 0.5,
    "root_cause": "other",
    "confidence_analysis": 0.9,
}


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"parts": 1}, "parts", "A series has 2 to 5 parts."),
        ({"record_type": "single", "parts": 2}, "parts", "A single record has 1 part."),
        ({"parts": None}, "parts", "A series needs its number of parts (2 to 5)."),
        (
            {"started_at": "2026-03-01T10:00:00Z", "ended_at": "2026-03-01T09:00:00Z"},
            "ended_at",
            "ended_at is before started_at.",
        ),
        ({"engineer_code": "eng_x"}, "engineer", "Give exactly one of engineer or engineer_code."),
        ({"case_ref": "case_x"}, "case_ref", "Not a case_ref this platform issued."),
        ({"parts": 9}, "parts", "Use 1 to 5 parts."),
    ],
)
def test_a_rule_of_the_table_is_the_schemas_message_and_the_direct_checks_doubt(
    change, field, message
):
    record = {**GOOD, **change}
    assert field_table.load_direct(record) is None
    with pytest.raises(ma.ValidationError) as raised:
        load_session(record)
    assert message in raised.value.messages[field]


def test_a_record_the_rules_accept_loads_directly_as_the_schema_loads_it():
    assert field_table.load_direct(dict(GOOD)) == SCHEMA.load(dict(GOOD))
