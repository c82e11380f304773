"""CSV lines prepared a column at a time (persistence_svc.imports.columns) make exactly the chunk
that the record path (the marshmallow schema of the field table) makes of the same lines' records:
the same rejected rows with the same problems, the same unchanged repeats, the same COPY data and
content hashes, whatever the header and the cells."""

import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from persistence_svc import sessions
from persistence_svc.fileformats import csv_record
from persistence_svc.imports import chunks, columns
from persistence_svc.schemas import load_session
from shared.pseudonyms import EngineerCodes, case_ref, engineer_code

KEY = b"k" * 32
NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
IDS = ["0b5e2f4e-8d7c-4a62-9a1e-3c0f3f1d2a10", "7d444840-9dc0-11d1-b245-5ffdce74fad2"]

# The cells each column may hold: the first of each list is valid, the others are valid variants,
# tricky neighbours and invalid values.
CELLS = {
    "session_id": [
        IDS[0],
        IDS[1],
        IDS[0].upper(),
        "{" + IDS[1] + "}",
        IDS[1].replace("-", ""),
        "urn:uuid:" + IDS[0],
        "0b5e2f4e-8d7c-4a62-9a1e-3c0f3f1d2a1",
        "not-a-uuid",
        "",
    ],
    "engineer": ["Anna Müller", "O'Brien-Smith", " anna  müller ", "R2-D2", "'=cmd", "", " "],
    "engineer_code": [engineer_code("Bo Li", KEY), "eng_bad", ""],
    "case_number": ["12345678", " 12345678 ", "00000001", "1234567", "１２３４５６７８", ""],
    "case_ref": [case_ref("87654321", KEY), "case_x", ""],
    "team": ["emea-1", "amer.2", "emea 1", "'-team", "x" * 65, ""],
    "region": ["EMEA", "", "Middle East", "r" * 65],
    "record_type": ["single", "Series", " SINGLE ", "series", "double", ""],
    "parts": ["1", "", "3", "01", " 2", "2.0", "7", "0"],
    "languages": ["EN", "EN;DE", "de, fr", "en", "EN;XX", ";", ""],
    "sentiment_score": ["0.31", "1", "0", "-0", " 0.5 ", "1e-1", "1.5", "nan", "inf", "", "x"],
    "tone_label": ["", "Negative", " neutral ", "angry"],
    "root_cause": ["Knowledge Gap", "process-issue", "other", "analytical_error", "bad luck", ""],
    "confidence_analysis": ["0.8", "1.0", "0", "-0.1", "2", ""],
    "confidence_translation": ["0.7", "", "0.3", "high", "1.5"],
    "started_at": [
        "2026-03-01T09:40:00+01:00",
        "",
        "2026-03-01T09:40:00Z",
        "2026-03-01T09:40:00",
        "2026-03-01",
        "x",
    ],
    "ended_at": [
        "2026-03-01T10:00:00+01:00",
        "",
        "2026-03-01T10:00:00+05:30",
        "2026-03-01T09:00:00+01:00",
        "2095-03-01T10:00:00+00:00",
        "2026-13-01T00:00Z",
    ],
    "agent_version": ["3.7.0", "", "v" * 64, "v" * 65],
    "model": ["gpt-4o", "", "m" * 65],
    "notes": [
        "",
        "Customer expected a faster escalation.",
        "'=1+2",
        "Mail anna@example.com please",
        "Anna Müller was late",
        "Call +49 30 1234567",
        "n" * 2000,
        "n" * 2001,
    ],
    "attributes": [
        "",
        '{"channel": "phone", "tries": 2}',
        "{}",
        '{"mail": "a@b.de"}',
        '{"Anna Müller": 1}',
        "{not json",
        "[1]",
        '{"": 1}',
    ],
    "confidence_overall": ["", "0.9", "bad"],  # derived: ignored on import
    "created_at": ["", "2026-03-01T10:00:00Z"],
    "extra_field": ["", "1"],  # unknown
}
# How many of each column's cells (from the first) are valid on their own.
VALID = {
    "session_id": 6,
    "engineer": 3,
    "engineer_code": 1,
    "case_number": 3,
    "case_ref": 1,
    "team": 2,
    "region": 2,
    "record_type": 3,
    "parts": 2,
    "languages": 4,
    "sentiment_score": 6,
    "tone_label": 3,
    "root_cause": 4,
    "confidence_analysis": 3,
    "confidence_translation": 3,
    "started_at": 3,
    "ended_at": 3,
    "agent_version": 3,
    "model": 2,
    "notes": 3,
    "attributes": 3,
    "confidence_overall": 3,
    "created_at": 2,
    "extra_field": 1,
}
REQUIRED = ["team", "record_type", "languages", "sentiment_score", "root_cause"]
IDENTITIES = [("engineer", "engineer_code"), ("case_number", "case_ref")]
OPTIONAL = sorted(
    set(CELLS) - set(REQUIRED) - {"confidence_analysis"} - {n for pair in IDENTITIES for n in pair}
)


@st.composite
def files(draw):
    """A header and lines of cells: mostly valid lines, some with up to three spoiled cells."""
    names = [*REQUIRED, "confidence_analysis"]
    for pair in IDENTITIES:  # one of the pair, sometimes both
        names += [draw(st.sampled_from(pair))] if draw(st.integers(0, 9)) else [*pair]
    names += draw(st.lists(st.sampled_from(OPTIONAL), unique=True, max_size=12))
    if draw(st.integers(0, 9)) == 0:  # sometimes a required column is missing
        names.remove(draw(st.sampled_from(REQUIRED)))
    if draw(st.integers(0, 19)) == 0:  # sometimes a column twice
        names.append(draw(st.sampled_from(names)))
    names = draw(st.permutations(names))
    lines = []
    for _ in range(draw(st.integers(0, 25))):
        cells = [draw(st.sampled_from(CELLS[name][: VALID[name]])) for name in names]
        for _ in range(draw(st.sampled_from([0, 0, 0, 1, 1, 2, 3]))):
            column = draw(st.integers(0, len(names) - 1))
            cells[column] = draw(st.sampled_from(CELLS[names[column]]))
        size = draw(st.sampled_from([len(names)] * 18 + [len(names) - 1, len(names) + 1]))
        lines.append((cells + [""] * len(names))[:size])
    return names, lines


def both_ways(names, lines):
    """The chunk of the lines prepared a column at a time, and the record path's chunk."""
    numbered = [(row, cells) for row, cells in enumerate(lines, start=2)]
    records = [(row, csv_record(cells, names)) for row, cells in numbered]
    with pytest.MonkeyPatch.context() as patch:
        # Records without a session_id get a new one: the same for all, so that both ways agree.
        patch.setattr(uuid, "uuid4", lambda: uuid.UUID(int=7))
        by_columns = chunks.prepare_csv_chunk(numbered, names, KEY, EngineerCodes(KEY), now=NOW)
        by_records = chunks.prepare_chunk(records, KEY, EngineerCodes(KEY), now=NOW)
    return by_columns, by_records


@settings(max_examples=400)
@given(file=files())
def test_a_chunk_prepared_by_columns_is_the_chunk_of_the_records(file):
    names, lines = file
    by_columns, by_records = both_ways(names, lines)
    assert by_columns == by_records


def test_good_lines_are_prepared_by_columns_and_bad_ones_are_left_to_the_records():
    names = list(CELLS)[:-3]  # every input column
    good = [CELLS[name][0] for name in names]
    good[names.index("engineer_code")] = ""  # a name, not a code
    good[names.index("case_ref")] = ""
    second = [*good]
    second[names.index("session_id")] = IDS[1]
    bad = [*good]
    bad[names.index("team")] = "emea 1"
    personal = [*second]
    personal[names.index("notes")] = "Mail anna@example.com please"
    in_attributes = [*second]
    in_attributes[names.index("attributes")] = '{"Anna Müller": 1}'  # the engineer's name
    lines = [good, second, bad, personal, in_attributes, good]  # the last repeats the first

    prepared = columns.prepare_lines(names, lines, key=KEY, codes=EngineerCodes(KEY), now=NOW)
    assert prepared.doubtful == {2, 3, 4}
    assert len(prepared.copy_rows) == 3
    record = csv_record(good, names)
    expected = sessions.prepare_record(load_session(record), KEY, now=NOW, codes=EngineerCodes(KEY))
    assert prepared.content_hashes[0] == expected["content_hash"]
    assert prepared.session_ids[0] == uuid.UUID(IDS[0]).bytes

    by_columns, by_records = both_ways(names, lines)
    assert by_columns == by_records
    assert by_columns.unchanged == 1
    assert [problem[:3] for problem in by_columns.problems] == [
        (4, "team", "invalid"),
        (5, "notes", "personal_data"),
        (6, "attributes.[redacted:person_name]", "personal_data"),
    ]


@pytest.mark.parametrize(
    "text",
    [IDS[0], IDS[0].upper(), "{" + IDS[1] + "}", IDS[1].replace("-", ""), "urn:uuid:" + IDS[0]],
)
def test_session_ids_become_the_bytes_of_their_uuid(text):
    assert columns._session_id(text) == uuid.UUID(text).bytes
