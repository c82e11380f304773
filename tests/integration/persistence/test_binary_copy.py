"""The platform's own binary COPY writer (shared.binary_copy): what PostgreSQL reads back from its
data is exactly the rows it was given, for every column type an import copies."""

import math
from datetime import UTC, datetime, timedelta, timezone

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared import binary_copy, db

TYPES = ("text", "bytea", "int2", "int4", "float8", "timestamptz")
VALUES = {
    "text": st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")),
    "bytea": st.binary(max_size=40),
    "int2": st.integers(-(2**15), 2**15 - 1),
    "int4": st.integers(-(2**31), 2**31 - 1),
    "float8": st.floats(allow_nan=False) | st.sampled_from([0.0, -0.0, 0.5]),
    "timestamptz": st.datetimes(
        min_value=datetime(1, 1, 2),
        max_value=datetime(9999, 12, 30),
        timezones=st.sampled_from([UTC, timezone(timedelta(hours=-23, minutes=-59))]),
    ),
}


def rows_of(types):
    """Rows of the types, each column with NULLs or without, and values that repeat or not."""
    row = st.tuples(*(st.none() | VALUES[name] for name in types))
    few = st.lists(row, min_size=1, max_size=3)
    return st.one_of(
        st.lists(row, max_size=30),
        few.flatmap(lambda rows: st.lists(st.sampled_from(rows), min_size=8, max_size=40)),
    )


@pytest.fixture(scope="module")
def conn(pg_server):
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(
            "CREATE TEMP TABLE copied (n serial, "
            + ", ".join(f"c{i} {name}" for i, name in enumerate(TYPES))
            + ")"
        )
        yield conn


def copied_back(conn, data: bytes) -> list[tuple]:
    conn.execute("TRUNCATE copied RESTART IDENTITY")
    columns = ", ".join(f"c{i}" for i in range(len(TYPES)))
    with conn.cursor() as cursor:
        with cursor.copy(f"COPY copied ({columns}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.write(data)
        return cursor.execute(f"SELECT {columns} FROM copied ORDER BY n").fetchall()


def same(sent, stored) -> bool:
    if isinstance(sent, float):
        return sent == stored and math.copysign(1, sent) == math.copysign(1, stored)
    return sent == stored


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=rows_of(TYPES))
def test_postgresql_reads_back_exactly_the_rows_written(conn, rows):
    stored = copied_back(conn, binary_copy.rows_data(rows, TYPES))
    assert len(stored) == len(rows)
    for sent_row, stored_row in zip(rows, stored, strict=True):
        assert all(map(same, sent_row, stored_row)), (sent_row, stored_row)


def test_minus_zero_and_zero_stay_apart_in_one_column(conn):
    rows = [(None, None, None, None, value, None) for value in [0.0, -0.0] * 10]
    stored = copied_back(conn, binary_copy.rows_data(rows, TYPES))
    assert [math.copysign(1, row[4]) for row in stored] == [1.0, -1.0] * 10


def test_rows_by_column_give_the_same_data():
    rows = [("a", b"\x01", 1, 2, 0.5, datetime(2026, 1, 1, tzinfo=UTC))] * 3
    columns = [list(column) for column in zip(*rows, strict=True)]
    assert binary_copy.columns_data(columns, TYPES) == binary_copy.rows_data(rows, TYPES)


def test_no_rows_is_the_header_alone():
    assert binary_copy.rows_data([], TYPES) == binary_copy.HEADER
    assert binary_copy.rows_data([], TYPES).startswith(b"PGCOPY\n\xff\r\n\x00")


def test_rows_of_another_width_are_refused():
    with pytest.raises(ValueError, match="6 values"):
        binary_copy.rows_data([("a",)], TYPES)


def test_a_naive_time_is_refused():
    row = (None, None, None, None, None, datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="aware"):
        binary_copy.rows_data([row], TYPES)


@pytest.mark.parametrize("codes", [[], ["EN"], ["EN", "DE", "PT-BR"]])
def test_a_text_array_is_written_as_postgresql_sends_it(conn, codes):
    (sent,) = conn.execute("SELECT array_send(%s::text[])", (codes,)).fetchone()
    assert db.binary_value(codes, "text[]") == sent


@pytest.mark.parametrize(
    "rows",
    [
        [("same", b"\x01", 1, 2, 0.5, datetime(2026, 1, 1, tzinfo=UTC))] * 9,  # every column
        [(team, b"\x01", 1, None, 0.5, None) for team in ["a", "b"] * 6],  # after a table
        [(str(n), b"\x01", n, 2, -0.0, None) for n in range(12)],  # after unique values
        # distinct values of one length: one length for all, then the values, then a constant
        [(f"{n:02}", bytes([n]) * 16, 7, None, 0.5, None) for n in range(12)],
    ],
    ids=["all-constant", "constant-after-table", "constant-after-unique", "one-length"],
)
def test_columns_with_one_value_on_every_row_are_read_back(conn, rows):
    stored = copied_back(conn, binary_copy.rows_data(rows, TYPES))
    assert [tuple(row) for row in stored] == rows
    assert all(
        math.copysign(1, row[4]) == math.copysign(1, sent[4])
        for row, sent in zip(stored, rows, strict=True)
    )
