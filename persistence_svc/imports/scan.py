"""The first pass of an import: the file must parse from start to end and name known columns."""

from __future__ import annotations

from collections.abc import Sequence
from typing import IO

from persistence_svc.fileformats import (
    CSV,
    DERIVED_COLUMNS,
    IMPORT_ONLY_COLUMNS,
    INPUT_COLUMNS,
    Block,
    FileError,
    FileScan,
    TooManyRecords,
    csv_header,
    scan_file,
)
from persistence_svc.imports import chunks
from persistence_svc.imports.workers import BlockOfFile, ValidationPool
from shared.errors import BadRequest, PayloadTooLarge, Unprocessable

KNOWN_COLUMNS = frozenset(INPUT_COLUMNS + DERIVED_COLUMNS + IMPORT_ONLY_COLUMNS)


def check_file(
    spooled: IO[bytes], media_type: str, max_rows: int, pool: ValidationPool | None = None
) -> FileScan:
    """First pass: the file must parse from start to end and name known columns; returns what
    it holds (records, and blocks of CHUNK_ROWS records for the second pass). Nothing is written
    when this fails (400, 413 or 422). The workers of `pool` start on the first blocks while the
    rest of the file is read (preparing a chunk writes nothing)."""
    columns: Sequence[str] = ()
    if media_type == CSV:
        try:
            columns = csv_header(spooled)
        except FileError as error:
            raise BadRequest(str(error), errors=[{"field": "file", "reason": str(error)}]) from None
        spooled.seek(0)
        unknown = [name for name in columns if name not in KNOWN_COLUMNS]
        if not set(columns) & KNOWN_COLUMNS:
            raise Unprocessable(
                "The file has no known columns.",
                errors=[{"field": "file", "reason": "Use the column names of POST /sessions."}],
            )
        if unknown:
            raise Unprocessable(
                "The file has unknown columns.",
                errors=[
                    {"field": f"column {position + 1}", "reason": "Unknown column."}
                    for position, name in enumerate(columns)
                    if name in unknown
                ],
            )
    on_block = None
    if pool is not None:

        def on_block(block: Block) -> None:
            pool.prepare_ahead(BlockOfFile(spooled.name, media_type, tuple(columns), block))

    try:
        return scan_file(
            spooled,
            media_type,
            block_records=chunks.CHUNK_ROWS,  # read at each import (tests change it)
            max_records=max_rows,
            on_block=on_block,
        )
    except TooManyRecords:
        raise PayloadTooLarge(f"Import files are limited to {max_rows} records.") from None
    except FileError as error:
        raise BadRequest(str(error), errors=[{"field": "file", "reason": str(error)}]) from None
    finally:
        spooled.seek(0)


def check_upload(
    spooled: IO[bytes], media_type: str, max_rows: int, pool: ValidationPool | None
) -> FileScan:
    """check_file for an import about to run: when the file is refused (or the check is
    interrupted), the spooled copy and the import's validation pool are closed with it."""
    try:
        return check_file(spooled, media_type, max_rows, pool)
    except BaseException:
        spooled.close()
        if pool is not None:
            pool.close()
        raise
