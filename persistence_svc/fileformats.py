"""Session files: reading CSV / JSON arrays / NDJSON record by record, their columns, and
neutralising spreadsheet formulas (persistence_svc.exports writes the files)."""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import itertools
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Any

import ijson

from shared.api import loads_json
from shared.spreadsheet import restore

CSV, JSON, NDJSON = "text/csv", "application/json", "application/x-ndjson"
MEDIA_TYPES = {CSV: "csv", JSON: "json", NDJSON: "ndjson"}

# Columns of a session file, in the order exports write them. The first group is what a client
# sends; the second is computed by the server and ignored on import (recomputed instead).
INPUT_COLUMNS = (
    "session_id",
    "engineer_code",
    "case_ref",
    "team",
    "region",
    "record_type",
    "parts",
    "languages",
    "sentiment_score",
    "tone_label",
    "root_cause",
    "confidence_analysis",
    "confidence_translation",
    "started_at",
    "ended_at",
    "agent_version",
    "model",
    "notes",
    "attributes",
)
DERIVED_COLUMNS = (
    "confidence_overall",
    "confidence_rating",
    "duration_seconds",
    "analysed_at",
    "created_at",
    "updated_at",
)
EXPORT_COLUMNS = INPUT_COLUMNS + DERIVED_COLUMNS
IMPORT_ONLY_COLUMNS = ("engineer", "case_number")  # accepted, pseudonymised, never exported


class FileError(ValueError):
    """The file cannot be read as the format it claims (answered 400, nothing written)."""


def read_records(stream: IO[bytes], media_type: str) -> Iterator[tuple[int, Any]]:
    """(row, record) pairs; `row` counts like a spreadsheet (header = 1, first record = 2).

    A CSV record is a dict of its non-empty cells; JSON and NDJSON records are whatever the item
    is (the caller rejects non-objects per row). Raises FileError when the file is malformed.
    """
    if media_type == CSV:
        return _csv_records(stream)
    if media_type == JSON:
        return _json_records(stream)
    return _ndjson_records(stream)


@contextlib.contextmanager
def _text(stream: IO[bytes]) -> Iterator[io.TextIOWrapper]:
    """A text view of the byte stream that leaves the stream open afterwards."""
    wrapper = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    try:
        yield wrapper
    finally:
        wrapper.detach()


def _csv_records(stream: IO[bytes]) -> Iterator[tuple[int, Any]]:
    with _text(stream) as text:
        reader = csv.reader(text, strict=True)
        try:
            names = _header(reader)
        except (csv.Error, UnicodeDecodeError) as error:
            raise FileError(f"The CSV file is malformed near row {reader.line_num}.") from error
        yield from _csv_rows(reader, names, after_row=1)


def _header(reader) -> list[str]:
    header = next(reader, None)
    if not header:
        raise FileError("The CSV file has no header row.")
    return [name.strip() for name in header]


def _blank(cells: list[str]) -> bool:
    """An empty line, or one of empty cells only (white space is empty): counted as a row, not a
    record."""
    return not any(map(str.strip, cells))


def _csv_rows(
    reader: Iterable[list[str]], names: list[str], after_row: int, *, apostrophes: bool = True
) -> Iterator[tuple[int, Any]]:
    """The records after the row numbered `after_row`, as (row, dict of its non-empty cells);
    without `apostrophes` (none in the text) no cell is looked at for `restore`."""
    for row, cells in _csv_lines(reader, after_row):
        yield row, csv_record(cells, names, apostrophes=apostrophes)


def _csv_lines(reader: Iterable[list[str]], after_row: int) -> Iterator[tuple[int, list[str]]]:
    """The (row, cells) of the lines after the row numbered `after_row` that are not blank."""
    row = after_row
    try:
        for cells in reader:
            row += 1
            if not _blank(cells):  # an empty line: counted, not a record
                yield row, cells
    except (csv.Error, UnicodeDecodeError) as error:
        raise FileError(f"The CSV file is malformed near row {row}.") from error


def csv_record(
    cells: list[str], names: Sequence[str], *, apostrophes: bool = True
) -> dict[str, Any]:
    """The record of a CSV line: its non-empty cells by column name (a cell of white space is
    empty), the apostrophe that neutralises a formula removed; a line with more cells than the
    header is `{"__extra_cells__": how many more}`. Without `apostrophes` (none in the text) no
    cell is looked at for `restore`."""
    if len(cells) > len(names):
        return {"__extra_cells__": len(cells) - len(names)}
    named = zip(names, cells, strict=False)  # a short line: the missing cells are empty
    if not apostrophes:  # cell_value without the look at the first character
        return {name: cell for name, cell in named if cell and not cell.isspace()}
    values = zip(names, map(cell_value, cells), strict=False)
    return {name: value for name, value in values if value is not None}


def cell_value(cell: str) -> str | None:
    """What a CSV cell gives its line's record: None for an empty cell or one of white space, else
    its text, the apostrophe that neutralised a formula removed."""
    if not cell or cell.isspace():
        return None
    return restore(cell) if cell[:1] == "'" else cell


@dataclass(frozen=True)
class Block:
    """Whole records of a CSV or NDJSON file: the bytes from `start` to `end`, whose first line
    is the row after `after_row`. Any process can read its records with `read_block`, so an
    import's workers read the file themselves instead of being sent its records."""

    start: int
    end: int
    after_row: int
    records: int


@dataclass(frozen=True)
class FileScan:
    """What reading a whole file found: its number of records, a CSV file's column names, and
    (CSV, NDJSON) the file cut into blocks of whole records; a JSON array has no blocks."""

    media_type: str
    total: int
    columns: tuple[str, ...] = ()
    blocks: tuple[Block, ...] = ()


class TooManyRecords(FileError):
    """The file holds more records than allowed (the rest of it is not read)."""


def scan_file(
    stream: IO[bytes],
    media_type: str,
    *,
    block_records: int,
    max_records: int,
    on_block: Callable[[Block], None] | None = None,
) -> FileScan:
    """Read the whole file as `read_records` would (raising FileError where it would, and
    TooManyRecords soon after `max_records`), cutting it into blocks of `block_records`;
    `on_block` is called with each block as soon as it is cut (CSV, NDJSON)."""
    if media_type == CSV:
        return _scan_csv(stream, _Blocks(block_records, max_records, stream.tell(), on_block))
    if media_type == NDJSON:
        return _scan_ndjson(stream, _Blocks(block_records, max_records, stream.tell(), on_block))
    total = 0
    for total, _ in enumerate(_json_records(stream), start=1):
        if total > max_records:
            raise TooManyRecords(f"The file holds more than {max_records} records.")
    return FileScan(JSON, total)


class _Blocks:
    """The blocks of a file as a scan finds its records."""

    def __init__(
        self, size: int, limit: int, start: int, on_block: Callable[[Block], None] | None
    ) -> None:
        self.size, self.limit, self.on_block = size, limit, on_block
        self.blocks: list[Block] = []
        self.total = self.records = 0
        self.start, self.after_row = start, 1

    def record(self, end: int, row: int) -> None:
        """One more record, on `row`; its last line ends at byte `end` (exclusive)."""
        self.records += 1
        if self.records == self.size:
            self.cut(end, row)

    def add(self, ends: _LineEnds, records: Sequence[int], row: int) -> None:
        """The lines after row `row` that end at `ends`, of which those numbered `records` (from
        0) are records: `record` for each, in bulk."""
        taken = 0
        for index in range(self.size - self.records - 1, len(records), self.size):
            line = records[index]
            self.records += index + 1 - taken
            taken = index + 1
            self.cut(ends[line], row + 1 + line)
        self.records += len(records) - taken

    def cut(self, end: int, row: int) -> None:
        if not self.records:
            return
        self.blocks.append(Block(self.start, end, self.after_row, self.records))
        self.total += self.records
        if self.total > self.limit:
            raise TooManyRecords(f"The file holds more than {self.limit} records.")
        self.start, self.after_row, self.records = end, row, 0
        if self.on_block is not None:
            self.on_block(self.blocks[-1])


class _CountedLines:
    """The lines of a UTF-8 text view (newline=""), counting the bytes they take in the file."""

    def __init__(self, text: io.TextIOWrapper, position: int) -> None:
        self.text = text
        self.position = position

    def __iter__(self) -> Iterator[str]:
        for line in self.text:
            self.position += len(line) if line.isascii() else len(line.encode())
            yield line


# The scan reads a CSV file in pieces of whole lines of about this size. A piece without quotes
# (and without a line break other than LF or CRLF) is a record per line that is not blank, which
# plain string operations find; any other piece is read by the csv module.
SCAN_PIECE = 4 * 1024 * 1024


def _scan_csv(stream: IO[bytes], blocks: _Blocks) -> FileScan:
    bom = stream.read(len(codecs.BOM_UTF8)) == codecs.BOM_UTF8
    stream.seek(blocks.start)
    with _text(stream) as text:
        lines = _CountedLines(text, blocks.start + (len(codecs.BOM_UTF8) if bom else 0))
        reader = csv.reader(lines, strict=True)
        try:
            columns = tuple(_header(reader))
        except (csv.Error, UnicodeDecodeError) as error:
            raise FileError("The CSV file is malformed near row 1.") from error
    blocks.start = position = lines.position
    row = 1
    while piece := _piece(stream, position):
        found = _plain_lines(piece, position)
        if found is None:
            position, row = _scan_with_csv(stream, blocks, position, row, position + len(piece))
            continue
        ends, records = found
        blocks.add(ends, records, row)
        position, row = position + len(piece), row + len(ends)
    blocks.cut(position, row)
    return FileScan(CSV, blocks.total, columns, tuple(blocks.blocks))


def _piece(stream: IO[bytes], position: int) -> bytes:
    """Whole lines from `position`: about SCAN_PIECE bytes, on to the end of the line."""
    stream.seek(position)
    piece = stream.read(SCAN_PIECE)
    if piece and not piece.endswith(b"\n"):
        piece += stream.readline()
    return piece


class _LineEnds:
    """Where each line of a piece ends in the file (after its LF), from the lines' lengths."""

    def __init__(self, position: int, lengths: list[int], size: int) -> None:
        self.position, self.lengths, self.size = position, list(itertools.accumulate(lengths)), size

    def __len__(self) -> int:
        return len(self.lengths)

    def __getitem__(self, line: int) -> int:
        return self.position + min(self.lengths[line] + line + 1, self.size)  # no LF after the last


# A line break, then nothing but ASCII white space and commas up to the next: maybe a blank line.
_BLANK_ASCII_LINE = re.compile(rb"\n[ \t\r\x0b\x0c\x1c-\x1f,]*\n")


def _filled(line: str) -> bool:
    """Not a blank line: a cell holds more than white space."""
    return bool(line.replace(",", "").strip())


def _plain_lines(piece: bytes, position: int) -> tuple[_LineEnds, Sequence[int]] | None:
    """For a piece of lines that the csv module would read one record per line: where each line
    ends in the file, and which lines are records (not blank). None for any other piece (quotes,
    a lone CR, invalid UTF-8, a line longer than csv's field limit): the csv module reads it."""
    if not _record_per_line(piece):
        return None
    try:
        text = piece.decode("utf-8")
    except UnicodeDecodeError:
        return None
    lines = _lines(text)
    if not lines or max(map(len, lines)) > csv.field_size_limit():
        return None
    ascii_only = piece.isascii()
    ends = _LineEnds(
        position,
        list(map(len, lines if ascii_only else piece.split(b"\n")[: len(lines)])),
        len(piece),
    )
    if (
        ascii_only
        and not _BLANK_ASCII_LINE.search(piece)
        and _filled(lines[0])
        and _filled(lines[-1])
    ):
        return ends, range(len(lines))  # (the first and last lines have no LF on both sides)
    filled = list(map(_filled, lines))
    return ends, list(itertools.compress(itertools.count(), filled))


def _scan_with_csv(
    stream: IO[bytes], blocks: _Blocks, position: int, row: int, until: int
) -> tuple[int, int]:
    """The records from `position` (after row `row`) by the csv module, up to the first record
    that ends at or after `until`; returns where that record ends and its row."""
    stream.seek(position)
    with _text(stream) as text:
        lines = _CountedLines(text, position)
        # csv.reader takes a line only when its record needs one: `lines.position` is always
        # where the last record it gave ends.
        reader = csv.reader(lines, strict=True)
        try:
            for cells in reader:
                row += 1
                if not _blank(cells):
                    blocks.record(lines.position, row)
                if lines.position >= until:
                    break
        except (csv.Error, UnicodeDecodeError) as error:
            raise FileError(f"The CSV file is malformed near row {row + 1}.") from error
    return lines.position, row


def _scan_ndjson(stream: IO[bytes], blocks: _Blocks) -> FileScan:
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    position, row = blocks.start, 1
    for raw in stream:
        row += 1
        position += len(raw)
        try:
            line = decoder.decode(raw).strip()
            if line:
                loads_json(line)
        except (ValueError, UnicodeDecodeError) as error:
            raise FileError(f"Line {row - 1} of the NDJSON file is not valid JSON.") from error
        if line:
            blocks.record(position, row)
    blocks.cut(position, row)
    return FileScan(NDJSON, blocks.total, blocks=tuple(blocks.blocks))


def read_block(
    stream: IO[bytes], media_type: str, block: Block, columns: tuple[str, ...] = ()
) -> Iterator[tuple[int, Any]]:
    """The (row, record) pairs of one block of a CSV or NDJSON file, exactly as `read_records`
    gives them (`columns`: the CSV file's, from its FileScan)."""
    stream.seek(block.start)
    data = stream.read(block.end - block.start)
    if media_type == CSV:
        text = data.decode("utf-8")
        cells = _cells(data, text)
        return _csv_rows(cells, list(columns), block.after_row, apostrophes="'" in text)
    return _ndjson_lines(io.BytesIO(data), block.after_row, bom=block.start == 0)


def read_csv_lines(stream: IO[bytes], block: Block) -> tuple[list[tuple[int, list[str]]], bool]:
    """The (row, cells) of the lines of one block of a CSV file that are not blank, and whether
    its text holds an apostrophe (`csv_record` makes their records as `read_block` does)."""
    stream.seek(block.start)
    data = stream.read(block.end - block.start)
    text = data.decode("utf-8")
    return list(_csv_lines(_cells(data, text), block.after_row)), "'" in text


def _lines(text: str) -> list[str]:
    """The lines of `text` (whole lines) without their LF; nothing after the last line break."""
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return lines


def _record_per_line(data: bytes) -> bool:
    """True when the csv module reads each line of the UTF-8 text `data` as one record, cut at its
    commas: no quotes, and no line break but LF and CRLF."""
    return b'"' not in data and data.count(b"\r") == data.count(b"\r\n")


def _cells(data: bytes, text: str) -> Iterable[list[str]]:
    """The cells of each line of whole CSV records (`text`, decoded from `data`), as the csv
    module reads them: lines without quotes (and without a line break other than LF or CRLF) are
    cut at the commas."""
    if not _record_per_line(data):
        # StringIO(newline="") cuts lines as the file's TextIOWrapper(newline="") does.
        return csv.reader(io.StringIO(text, newline=""), strict=True)
    lines = _lines(text.replace("\r\n", "\n") if "\r" in text else text)
    return map(str.split, lines, itertools.repeat(","))


def csv_header(stream: IO[bytes]) -> list[str]:
    """The column names of a CSV file (reads only the first record)."""
    try:
        with _text(stream) as text:
            header = next(csv.reader(text, strict=True), None)
    except (csv.Error, UnicodeDecodeError) as error:
        raise FileError("The CSV header cannot be read.") from error
    if not header:
        raise FileError("The CSV file has no header row.")
    return [name.strip() for name in header]


def _json_records(stream: IO[bytes]) -> Iterator[tuple[int, Any]]:
    start = stream.tell()
    head = stream.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    stream.seek(start)
    if not head.startswith(b"["):
        raise FileError("A JSON import is an array of records: [{...}, ...].")
    try:
        for index, item in enumerate(ijson.items(stream, "item", use_float=True)):
            yield index + 2, item
    except (ijson.JSONError, UnicodeDecodeError) as error:
        raise FileError("The JSON file is not a valid array of records.") from error


def _ndjson_records(stream: IO[bytes]) -> Iterator[tuple[int, Any]]:
    return _ndjson_lines(stream, after_row=1, bom=True)


def _ndjson_lines(lines: IO[bytes], after_row: int, *, bom: bool) -> Iterator[tuple[int, Any]]:
    decoder = codecs.getincrementaldecoder("utf-8-sig" if bom else "utf-8")()
    row = after_row
    try:
        for raw in lines:
            row += 1
            line = decoder.decode(raw).strip()
            if line:
                yield row, loads_json(line)
    except (ValueError, UnicodeDecodeError) as error:
        raise FileError(f"Line {row - 1} of the NDJSON file is not valid JSON.") from error
