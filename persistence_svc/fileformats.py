"""Session files: reading CSV / JSON arrays / NDJSON record by record, writing them back, and
neutralising spreadsheet formulas."""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import json
from collections.abc import Iterable, Iterator
from typing import IO, Any

import ijson

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
        yield from _csv_rows(csv.reader(text, strict=True))


def _blank(cells: list[str]) -> bool:
    """An empty line, or one of empty cells only: counted as a row, not a record."""
    return not any(cell and not cell.isspace() for cell in cells)


def _csv_rows(reader) -> Iterator[tuple[int, Any]]:
    try:
        header = next(reader, None)
        if not header:
            raise FileError("The CSV file has no header row.")
        names = [name.strip() for name in header]
        row = 1
        for cells in reader:
            row += 1
            if _blank(cells):
                continue  # an empty line: counted, not a record
            if len(cells) > len(names):
                yield row, {"__extra_cells__": len(cells) - len(names)}
                continue
            yield (
                row,
                {
                    # restore() only changes cells that begin with an apostrophe
                    name: restore(cell) if cell[:1] == "'" else cell
                    for name, cell in zip(names, cells, strict=False)
                    if cell and not cell.isspace()
                },
            )
    except (csv.Error, UnicodeDecodeError) as error:
        raise FileError(f"The CSV file is malformed near row {reader.line_num}.") from error


def count_records(stream: IO[bytes], media_type: str) -> Iterator[int]:
    """Read the whole file as `read_records` would, yielding a running count of its records
    (cheaper: CSV rows are not turned into dicts). Raises FileError when it is malformed."""
    if media_type != CSV:
        for count, _ in enumerate(read_records(stream, media_type), start=1):
            yield count
        return
    count = 0
    with _text(stream) as text:
        reader = csv.reader(text, strict=True)
        try:
            header = next(reader, None)
            if not header:
                raise FileError("The CSV file has no header row.")
            for cells in reader:
                if not _blank(cells):
                    count += 1
                    yield count
        except (csv.Error, UnicodeDecodeError) as error:
            raise FileError(f"The CSV file is malformed near row {reader.line_num}.") from error


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
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    row = 1
    try:
        for raw in stream:
            row += 1
            line = decoder.decode(raw).strip()
            if line:
                yield row, json.loads(line)
    except (ValueError, UnicodeDecodeError) as error:
        raise FileError(f"Line {row - 1} of the NDJSON file is not valid JSON.") from error


def _json_default(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _json_line(row: dict) -> str:
    record = {column: row.get(column) for column in EXPORT_COLUMNS}
    return json.dumps(record, ensure_ascii=False, default=_json_default)


def write_json(rows: Iterable[dict]) -> Iterator[str]:
    """A JSON array, streamed item by item."""
    yield "["
    for count, row in enumerate(rows):
        yield ("," if count else "") + _json_line(row)
    yield "]\n"


def write_ndjson(rows: Iterable[dict]) -> Iterator[str]:
    """One JSON object per line."""
    for row in rows:
        yield _json_line(row) + "\n"


# CSV is written by PostgreSQL itself (store.copy_sessions_csv); JSON formats row by row here.
WRITERS = {
    "csv": (None, "text/csv; charset=utf-8"),
    "json": (write_json, "application/json"),
    "ndjson": (write_ndjson, "application/x-ndjson"),
}
