"""An import's chunks: up to CHUNK_ROWS records validated through the rules of POST /sessions
and made binary COPY data; CSV lines a column at a time (persistence_svc.imports.columns), other
records one by one."""

from __future__ import annotations

import operator
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import marshmallow as ma

from persistence_svc import store
from persistence_svc.fileformats import DERIVED_COLUMNS, csv_record
from persistence_svc.imports import columns
from persistence_svc.schemas import load_session
from persistence_svc.sessions import PersonalDataFound, prepare_record
from shared.errors import flatten_messages
from shared.pseudonyms import EngineerCodes, KnownEngineers

# Records per chunk, each loaded and committed with its report. Chunks of 8,000 imported
# 1,000,000 rows 4.6 % faster than chunks of 4,000 (per-statement work in PostgreSQL and per-chunk
# work in the workers is done half as often), at 412-415 MB of peak memory against 377-378
# (service and workers); chunks of 16,000 were 9 % faster but peaked at 518-528 MB, over the
# 512 MiB the Kubernetes deployment allows (docs/benchmarks.md).
CHUNK_ROWS = 8000
_DERIVED = frozenset(DERIVED_COLUMNS)


def _code(message: str) -> str:
    if message.startswith("Missing data"):
        return "required"
    if message.startswith("Unknown field"):
        return "unknown_field"
    return "invalid"


@dataclass
class Chunk:
    """Up to CHUNK_ROWS records of a file, validated and ready to load, not yet counted in any
    report: the problems of the rejected rows, and the good rows as binary COPY data together
    with the (row, session_id bytes, content hash) of each. A session repeated within the chunk
    is loaded once: a repeat with the same content counts as unchanged, other content is a
    rejected row with code `conflict`."""

    size: int
    problems: list[tuple[int, str, str, str]] = field(default_factory=list)  # row, field, code, …
    copy_data: bytes = b""
    keys: list[tuple[int, bytes, bytes]] = field(default_factory=list)
    unchanged: int = 0

    def reject(self, row: int, problems: Iterable[tuple[str, str, str]]) -> None:
        self.problems += [(row, *problem) for problem in problems]

    @property
    def rejected(self) -> int:
        """Rows rejected (a row may have several problems)."""
        return len({problem[0] for problem in self.problems})


_Prepared = tuple[int, bytes, bytes, Any]  # row, session_id bytes, content hash, COPY row
_ROW = operator.itemgetter(0)
_SESSION_ID = operator.itemgetter(1)
_COPY_ROW = operator.itemgetter(3)
_KEY = operator.itemgetter(0, 1, 2)


def prepare_chunk(
    rows: list[tuple[int, Any]],
    key: bytes,
    codes: EngineerCodes | None = None,
    *,
    now: datetime | None = None,
    known: KnownEngineers | None = None,
) -> Chunk:
    """Validate and prepare each record through the rules of POST /sessions (one code path), then
    turn the good ones into COPY data. `codes`: the engineer codes of the whole import; `now`: the
    analysis time of records without an end time (default: the time of the call); `known`: the
    engineers whose names free text must not hold (those stored when the import began)."""
    chunk = Chunk(size=len(rows))
    codes = codes or EngineerCodes(key)
    now = now or datetime.now(UTC)
    prepared = [
        entry
        for row, record in rows
        if (entry := _prepare_record(chunk, row, record, key, codes, now, known)) is not None
    ]
    return _with_copy_data(chunk, prepared)


def prepare_csv_chunk(
    lines: list[tuple[int, list[str]]],
    names: Sequence[str],
    key: bytes,
    codes: EngineerCodes | None = None,
    *,
    apostrophes: bool = True,
    now: datetime | None = None,
    known: KnownEngineers | None = None,
) -> Chunk:
    """prepare_chunk of the records of CSV lines (`fileformats.read_csv_lines`; `names`: the
    header), a column at a time (persistence_svc.imports.columns); the lines it doubts go the record
    way. The same Chunk as prepare_chunk of the lines' records."""
    chunk = Chunk(size=len(lines))
    codes = codes or EngineerCodes(key)
    now = now or datetime.now(UTC)
    sure = columns.prepare_lines(
        names, [cells for _, cells in lines], key=key, codes=codes, now=now, known=known
    )
    if not sure.doubtful:  # the usual chunk: its entries made by C loops only
        rows = map(_ROW, lines)
        entries = zip(rows, sure.session_ids, sure.content_hashes, sure.copy_rows, strict=True)
        return _with_copy_data(chunk, list(entries))
    ready = zip(sure.session_ids, sure.content_hashes, sure.copy_rows, strict=True)
    prepared: list[_Prepared] = []
    for index, (row, cells) in enumerate(lines):
        if index in sure.doubtful:
            record = csv_record(cells, names, apostrophes=apostrophes)
            entry = _prepare_record(chunk, row, record, key, codes, now, known)
            if entry is not None:
                prepared.append(entry)
        else:
            prepared.append((row, *next(ready)))
    return _with_copy_data(chunk, prepared)


def _prepare_record(
    chunk: Chunk,
    row: int,
    record: Any,
    key: bytes,
    codes: EngineerCodes,
    now: datetime,
    known: KnownEngineers | None,
) -> _Prepared | None:
    """One record of a chunk, prepared; None when rejected (its problems go to the chunk)."""
    if not isinstance(record, dict):
        chunk.reject(row, [("record", "not_an_object", "Each record must be an object.")])
        return None
    if "__extra_cells__" in record:
        chunk.reject(row, [("record", "extra_cells", "The row has more cells than the header.")])
        return None
    if not _DERIVED.isdisjoint(record):  # computed here, whatever the file says
        record = {k: v for k, v in record.items() if k not in _DERIVED}
    try:
        session = prepare_record(load_session(record), key, codes=codes, now=now, known=known)
    except ma.ValidationError as error:
        problems = flatten_messages(error.messages, root="record", locations=frozenset())
        chunk.reject(
            row, [(item["field"], _code(item["reason"]), item["reason"]) for item in problems]
        )
        return None
    except PersonalDataFound as found:
        chunk.reject(
            row,
            [
                (
                    field_name,
                    "personal_data",
                    "Personal data is not stored: remove the " + ", ".join(kinds) + ".",
                )
                for field_name, kinds in sorted(found.fields.items())
            ],
        )
        return None
    copy_row = store.session_copy_row(session)
    return row, session["session_id"].bytes, session["content_hash"], copy_row


def _with_copy_data(chunk: Chunk, prepared: list[_Prepared]) -> Chunk:
    """The chunk with the COPY data of its prepared records. A session repeated within the chunk
    is loaded once: a repeat with the same content counts as unchanged, other content is a
    rejected row with code `conflict`."""
    session_ids = list(map(_SESSION_ID, prepared))
    once_each = len(set(session_ids)) == len(session_ids)  # then every entry is kept
    kept = prepared if once_each else _first_of_each_session(chunk, prepared)
    if kept:
        # In session_id order, PostgreSQL inserts into the primary key's index page after page:
        # its CPU per row fell by 2 to 6 µs of about 30 (100,000 rows, docs/scaling.md).
        chunk.copy_data = store.copy_rows_data(map(_COPY_ROW, sorted(kept, key=_SESSION_ID)))
        chunk.keys = list(map(_KEY, kept))  # in file order, as rejections are reported
    return chunk


def _first_of_each_session(chunk: Chunk, prepared: list[_Prepared]) -> list[_Prepared]:
    """The entries of sessions not seen earlier in the chunk; a repeat with the same content
    counts as unchanged, other content is a rejected row with code `conflict`."""
    first_hashes: dict[bytes, bytes] = {}
    kept: list[_Prepared] = []
    for entry in prepared:
        row, session_id, digest, _ = entry
        first = first_hashes.setdefault(session_id, digest)
        if first is digest:
            kept.append(entry)
        elif first == digest:
            chunk.unchanged += 1
        else:
            chunk.reject(
                row,
                [
                    (
                        "session_id",
                        "conflict",
                        "This session_id appears earlier in the file with different content.",
                    )
                ],
            )
    return kept
