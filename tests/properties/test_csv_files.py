"""Session CSV files: what the platform writes, it reads back exactly, whatever the text holds
(quotes, separators, line breaks, a byte-order mark, formula-looking cells); cut into blocks for
an import's workers, the blocks read back the same records with the same row numbers."""

import csv
import io
import json
from unittest import mock

from hypothesis import given
from hypothesis import strategies as st

from persistence_svc import fileformats
from persistence_svc.fileformats import (
    CSV,
    INPUT_COLUMNS,
    NDJSON,
    read_block,
    read_records,
    scan_file,
)
from shared.spreadsheet import FORMULA_STARTS, neutralise, restore

# Any text, often starting like a formula or like a neutralised one (the interesting edges).
PREFIXES = st.sampled_from(["", "", "'", "=", "'=", "''+", "-", "'@", "\t", "\r", '"'])
TEXT = st.builds(
    str.__add__,
    PREFIXES,
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
        max_size=40,
    ),
)
CELL = TEXT.filter(lambda text: text.strip() != "")
COLUMNS = st.lists(st.sampled_from(INPUT_COLUMNS), min_size=1, max_size=6, unique=True)


@st.composite
def files(draw):
    columns = draw(COLUMNS)
    rows = draw(
        st.lists(
            st.fixed_dictionaries({}, optional={column: CELL for column in columns}).filter(bool),
            max_size=8,
        )
    )
    # Excel-style CRLF with minimal quoting (as the platform writes), or LF with every cell quoted
    dialect = draw(st.sampled_from([("\r\n", csv.QUOTE_MINIMAL), ("\n", csv.QUOTE_ALL)]))
    return columns, rows, dialect, draw(st.booleans())


def write(columns, rows, dialect, bom) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=dialect[0], quoting=dialect[1])
    writer.writerow(columns)
    for row in rows:
        writer.writerow([neutralise(row.get(column, "")) for column in columns])
    return ("\ufeff" if bom else "").encode() + out.getvalue().encode()


@given(files())
def test_a_written_file_reads_back_exactly(file):
    columns, rows, dialect, bom = file
    records = list(read_records(io.BytesIO(write(columns, rows, dialect, bom)), CSV))
    assert [record for _, record in records] == rows
    assert [row for row, _ in records] == list(range(2, len(rows) + 2))  # spreadsheet rows


@given(TEXT)
def test_neutralised_cells_never_start_a_formula_and_restore_exactly(text):
    cell = neutralise(text)
    assert not cell.startswith(FORMULA_STARTS)
    assert restore(cell) == text


def blocks_read(data: bytes, media_type: str, block_records: int) -> list:
    scan = scan_file(
        io.BytesIO(data), media_type, block_records=block_records, max_records=len(data)
    )
    assert all(0 < block.records <= block_records for block in scan.blocks)
    stream = io.BytesIO(data)
    rows = [
        row for block in scan.blocks for row in read_block(stream, media_type, block, scan.columns)
    ]
    assert scan.total == len(rows) == sum(block.records for block in scan.blocks)
    return rows


# Lines a file may hold between records: counted as rows, never records.
BLANK_LINES = st.sampled_from(["", "\r\n", "\n", ",,\r\n", " \n"])


def with_blank_lines(file, blanks) -> bytes:
    """The file, with the blank lines after the header, between records and at the end."""
    columns, rows, dialect, bom = file
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=dialect[0], quoting=dialect[1])
    writer.writerow(columns)
    for position, row in enumerate([*rows, None]):
        out.write("".join(blanks[2 * position : 2 * position + 2]))
        if row is not None:
            writer.writerow([neutralise(row.get(column, "")) for column in columns])
    return ("\ufeff" if bom else "").encode() + out.getvalue().encode()


@given(files(), st.lists(BLANK_LINES, max_size=10), st.integers(1, 3))
def test_blocks_of_a_csv_file_read_as_the_whole_file(file, blanks, block_records):
    data = with_blank_lines(file, blanks)
    assert blocks_read(data, CSV, block_records) == list(read_records(io.BytesIO(data), CSV))


# Pieces of a few bytes: the lines of a file fall into pieces the quick scan reads and pieces that
# need the csv module (quotes), one after the other.
@given(
    files(),
    st.lists(BLANK_LINES, max_size=10),
    st.integers(1, 3),
    st.sampled_from([1, 16, 100, fileformats.SCAN_PIECE]),
)
def test_the_quick_scan_cuts_the_blocks_the_csv_module_cuts(file, blanks, block_records, piece):
    data = with_blank_lines(file, blanks)

    def scan():
        return scan_file(io.BytesIO(data), CSV, block_records=block_records, max_records=len(data))

    with mock.patch.object(fileformats, "SCAN_PIECE", piece):
        quick = scan()
    with mock.patch.object(fileformats, "_plain_lines", lambda piece, position: None):
        assert scan() == quick


@given(
    st.lists(st.one_of(st.just(""), st.dictionaries(st.sampled_from(INPUT_COLUMNS), TEXT))),
    st.booleans(),
    st.integers(1, 3),
)
def test_blocks_of_an_ndjson_file_read_as_the_whole_file(items, bom, block_records):
    lines = [json.dumps(item, ensure_ascii=False) if item != "" else "  " for item in items]
    data = ("\ufeff" if bom else "").encode() + "\n".join(lines).encode()
    assert blocks_read(data, NDJSON, block_records) == list(read_records(io.BytesIO(data), NDJSON))
