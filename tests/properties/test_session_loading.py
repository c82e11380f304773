"""The direct loader of session records (batches and imports) gives exactly what the schema gives:
the same record for every input it takes, and it leaves everything else to the schema."""

import copy

import marshmallow as ma
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from persistence_svc.field_kinds import _PARSED_LANGUAGES
from persistence_svc.field_table import load_direct as _load_direct
from persistence_svc.schemas import SessionInSchema, load_session
from shared.pseudonyms import case_ref, engineer_code

KEY = b"k" * 32
SCHEMA = SessionInSchema()

AS_JSON = {
    "session_id": "0b5e2f4e-8d7c-4a62-9a1e-3c0f3f1d2a10",
    "engineer": "Anna Müller",
    "case_number": "12345678",
    "team": "emea-1",
    "region": "EMEA",
    "record_type": "single",
    "parts": 1,
    "languages": ["EN", "de"],
    "sentiment_score": 0.31,
    "tone_label": "Negative",
    "root_cause": "Knowledge Gap",
    "confidence_analysis": 0.8,
    "confidence_translation": 0.7,
    "started_at": "2026-03-01T09:40:00+01:00",
    "ended_at": "2026-03-01T10:00:00+01:00",
    "agent_version": "3.7.0",
    "model": "gpt-4o",
    "notes": "Customer expected a faster escalation.",
    "attributes": {"channel": "phone", "tries": 2},
}
# The same analysis as CSV cells carry it: every value a string, lists joined with `;`.
AS_CSV = {
    **{name: str(value) for name, value in AS_JSON.items()},
    "languages": "EN;DE",
    "attributes": '{"channel": "phone", "tries": 2}',
}
SERIES_BY_PSEUDONYMS = {
    "engineer_code": engineer_code("Anna Müller", KEY),
    "case_ref": case_ref("12345678", KEY),
    "team": "amer.2",
    "record_type": "Series",
    "parts": "3",
    "languages": "fr, it",
    "sentiment_score": 1,
    "root_cause": "process-issue",
    "confidence_analysis": "0.55",
    "ended_at": "2026-03-01T10:00:00Z",
}
MINIMAL = {
    "engineer": "O'Brien-Smith",
    "case_number": "00000001",
    "team": "t",
    "record_type": "single",
    "languages": ["EN"],
    "sentiment_score": 0,
    "root_cause": "other",
    "confidence_analysis": 1.0,
}
WITH_NULLS = {
    **MINIMAL,
    "region": None,
    "parts": None,
    "tone_label": None,
    "confidence_translation": None,
    "started_at": None,
    "ended_at": None,
    "agent_version": None,
    "model": None,
    "notes": None,
    "attributes": "",
}


@pytest.mark.parametrize(
    "record",
    [AS_JSON, AS_CSV, SERIES_BY_PSEUDONYMS, MINIMAL, WITH_NULLS],
    ids=["json", "csv-cells", "series-by-pseudonyms", "minimal", "nulls"],
)
def test_well_formed_records_load_directly_exactly_as_the_schema_loads_them(record):
    direct = _load_direct(copy.deepcopy(record))
    assert direct is not None
    assert direct == SCHEMA.load(copy.deepcopy(record))


BAD_VALUES = [
    ("session_id", "not-a-uuid"),
    ("engineer", "R2-D2"),
    ("case_number", "1234567"),
    ("team", "emea 1"),
    ("team", None),
    ("region", ""),
    ("record_type", "double"),
    ("parts", 7),
    ("parts", 2),  # a single record has 1 part
    ("parts", True),
    ("languages", ["EN", "XX"]),
    ("languages", []),
    ("sentiment_score", 1.5),
    ("sentiment_score", "nan"),
    ("sentiment_score", False),
    ("tone_label", "angry"),
    ("root_cause", "bad luck"),
    ("confidence_analysis", -0.1),
    ("confidence_translation", "high"),
    ("started_at", "2026-03-01T09:40:00"),  # no zone
    ("ended_at", "2026-03-01T09:00:00+01:00"),  # before started_at
    ("agent_version", "v" * 65),
    ("notes", "x" * 2001),
    ("notes", "nul \x00 inside"),
    ("attributes", "{not json"),
    ("attributes", {"": 1}),
    ("attributes", {"big": "x" * 5000}),
    ("extra_field", 1),
]


@pytest.mark.parametrize(
    ("field", "value"), BAD_VALUES, ids=[f"{f}={v!r}"[:40] for f, v in BAD_VALUES]
)
def test_bad_values_are_left_to_the_schema_which_names_the_field(field, value):
    record = {**AS_JSON, field: value}
    assert _load_direct(record) is None
    with pytest.raises(ma.ValidationError) as raised:
        load_session(record)
    assert field in raised.value.messages


@pytest.mark.parametrize(
    "record",
    [
        {k: v for k, v in AS_JSON.items() if k != "team"},  # required field missing
        {**AS_JSON, "engineer_code": engineer_code("x", KEY)},  # both a name and a code
        {k: v for k, v in AS_JSON.items() if k != "case_number"},  # neither number nor ref
        {**AS_JSON, "record_type": "series", "parts": 1},
        ["not", "an", "object"],
    ],
    ids=["missing-team", "name-and-code", "no-case", "series-of-one", "list"],
)
def test_incomplete_records_are_left_to_the_schema(record):
    assert _load_direct(record) is None
    with pytest.raises(ma.ValidationError):
        load_session(record)


# Values each field may take in the property test: valid ones and the tricky neighbours.
FIELD_VALUES = {
    "session_id": [
        "0b5e2f4e-8d7c-4a62-9a1e-3c0f3f1d2a10",
        "0B5E2F4E8D7C4A629A1E3C0F3F1D2A10",
        "x",
        5,
    ],
    "engineer": ["Anna", "  Zoë   Ürgüp ", "a\tb", "", "José-María O’Neil", 12, None, "A" * 201],
    "case_number": ["12345678", " 12345678 ", "1234567a", 12345678, "１２３４５６７８"],
    "team": ["emea-1", "x" * 64, "x" * 65, "-a", "a\n", "", None],
    "region": ["EMEA", "", None, "r" * 65, 3],
    "record_type": ["single", "Series", " SINGLE ", "x", None, ""],
    "parts": [1, 2, 5, 6, 0, "2", " 2", "2.0", 2.0, None, True, -1],
    "languages": [["EN"], "EN;DE", "de, fr", [" en ", "EN"], "", [], ["EN", 1], "EN;XX", None],
    "sentiment_score": [0, 1, 0.5, "0.25", " 0.5 ", "1e-1", "inf", -0.0, 1.0000001, None, True],
    "tone_label": ["positive", "NEUTRAL", " negative ", "meh", None, ""],
    "root_cause": ["other", "Knowledge Gap", "analytical_error", "process-issue", "?", None],
    "confidence_analysis": [0.8, "0.8", 2, None, "", "1"],
    "confidence_translation": [0.3, None, "0.3", "x", 1.5],
    "started_at": ["2026-03-01T09:40:00+00:00", "2026-03-01T09:40:00Z", "2026-03-01", None, "x"],
    "ended_at": [
        "2026-03-01T10:00:00+02:00",
        "2026-03-01T08:00:00+00:00",
        None,
        "2026-13-01T00:00Z",
    ],
    "agent_version": ["3.7.0", "", None, "v" * 64],
    "model": ["gpt-4o", None, "m" * 65],
    "notes": ["", "plain text", None, "n" * 2000, "n" * 2001],
    "attributes": [
        {},
        {"a": 1},
        '{"a": [1, 2]}',
        "",
        "  ",
        "[1]",
        {"a" * 65: 1},
        None,
        {"k": "\x00"},
    ],
}


CHANGE = st.sampled_from(sorted(FIELD_VALUES)).flatmap(
    lambda name: st.tuples(st.just(name), st.sampled_from(range(len(FIELD_VALUES[name]))))
)


@settings(max_examples=600)
@given(
    base=st.sampled_from([AS_JSON, AS_CSV, SERIES_BY_PSEUDONYMS, MINIMAL]),
    changes=st.lists(CHANGE, max_size=4),
    dropped=st.sets(st.sampled_from(sorted(FIELD_VALUES)), max_size=2),
)
def test_whatever_the_direct_loader_takes_the_schema_loads_the_same(base, changes, dropped):
    record = copy.deepcopy(base)
    for name, index in changes:
        record[name] = copy.deepcopy(FIELD_VALUES[name][index])
    for name in dropped:
        record.pop(name, None)
    direct = _load_direct(copy.deepcopy(record))
    if direct is not None:
        assert direct == SCHEMA.load(copy.deepcopy(record))


def test_remembered_language_values_give_lists_of_their_own():
    first, second = load_session(AS_CSV), load_session(AS_CSV)
    assert first["languages"] == second["languages"] == ["EN", "DE"]
    first["languages"].append("FR")  # the caller's list; the next record's is not touched
    assert load_session(AS_CSV)["languages"] == ["EN", "DE"]


def test_language_values_that_do_not_parse_are_not_remembered():
    for _ in range(2):
        with pytest.raises(ma.ValidationError) as raised:
            load_session({**AS_CSV, "languages": "EN;XX"})
        assert "languages" in raised.value.messages
    assert "EN;XX" not in _PARSED_LANGUAGES
