"""Imports of session files: spool the upload, check the whole file, then validate and load it in
chunks (COPY into staging + one merge per chunk) through the same rules as POST /sessions."""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import queue
import tempfile
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from itertools import islice
from typing import IO, Any

import marshmallow as ma
import psycopg
from flask import Flask

from persistence_svc import store
from persistence_svc.fileformats import (
    CSV,
    DERIVED_COLUMNS,
    IMPORT_ONLY_COLUMNS,
    INPUT_COLUMNS,
    FileError,
    count_records,
    csv_header,
    read_records,
)
from persistence_svc.schemas import load_session
from persistence_svc.sessions import PersonalDataFound, prepare_record
from shared import db, metrics
from shared.errors import BadRequest, PayloadTooLarge, Unprocessable, reportable_field

CHUNK_ROWS = 1000
FINAL_REPORT_PATIENCE = 120.0  # seconds a final report waits for the database to come back
MAX_REPORTED_ERRORS = 1000
SPOOL_CHUNK = 256 * 1024
KNOWN_COLUMNS = frozenset(INPUT_COLUMNS + DERIVED_COLUMNS + IMPORT_ONLY_COLUMNS)
log = logging.getLogger("cr.imports")


@dataclass
class ImportReport:
    """Counts and per-row problems of one import, as GET /imports/{id} shows them."""

    id: uuid.UUID
    dry_run: bool
    status: str = "running"
    total: int | None = None
    processed: int = 0
    inserted: int = 0
    unchanged: int = 0
    rejected: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    failure: str | None = None

    def reject(self, row: int, field_name: str, code: str, message: str) -> None:
        """Note a problem of one row. Field names come from the file, so only names shaped like
        a column name are repeated (a key could be a person's name, or hold a NUL character,
        which PostgreSQL cannot store); anything else is reported as `record`."""
        field_name = reportable_field(field_name, fallback="record")
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append({"row": row, "field": field_name, "code": code, "message": message})

    def checkpoint(self) -> tuple[int, int, int, int, int]:
        return self.processed, self.inserted, self.unchanged, self.rejected, len(self.errors)

    def rollback(self, checkpoint: tuple[int, int, int, int, int]) -> None:
        """Back to a checkpoint: the counts of a chunk whose transaction failed are not kept."""
        self.processed, self.inserted, self.unchanged, self.rejected, errors = checkpoint
        del self.errors[errors:]

    def as_row(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "total": self.total,
            "processed": self.processed,
            "inserted": self.inserted,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "errors": sorted(self.errors, key=lambda error: error["row"]),
            "failure": self.failure,
        }


def spool(stream: IO[bytes], limit: int) -> tuple[IO[bytes], int]:
    """Copy the upload to a temporary file in chunks (constant memory); 413 past `limit` bytes."""
    spooled = tempfile.TemporaryFile()  # noqa: SIM115 - handed on to the import, closed there
    size = 0
    while chunk := stream.read(SPOOL_CHUNK):
        size += len(chunk)
        if size > limit:
            spooled.close()
            raise PayloadTooLarge(f"Import files are limited to {limit} bytes.")
        spooled.write(chunk)
    spooled.seek(0)
    return spooled, size


def check_file(spooled: IO[bytes], media_type: str, max_rows: int) -> int:
    """First pass: the file must parse from start to end and name known columns; returns the
    number of records. Nothing is written when this fails (400, 413 or 422)."""
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
    total = 0
    try:
        for total in count_records(spooled, media_type):
            if total > max_rows:
                raise PayloadTooLarge(f"Import files are limited to {max_rows} records.")
    except FileError as error:
        raise BadRequest(str(error), errors=[{"field": "file", "reason": str(error)}]) from None
    finally:
        spooled.seek(0)
    return total


def _code(message: str) -> str:
    if message.startswith("Missing data"):
        return "required"
    if message.startswith("Unknown field"):
        return "unknown_field"
    return "invalid"


@dataclass
class Chunk:
    """Up to CHUNK_ROWS records of a file, validated: the prepared records of the good rows and
    the problems of the others, not yet counted in any report."""

    size: int
    prepared: list[tuple[int, dict]] = field(default_factory=list)
    problems: list[tuple[int, str, str, str]] = field(default_factory=list)  # row, field, code, …

    def reject(self, row: int, problems: Iterable[tuple[str, str, str]]) -> None:
        self.problems += [(row, *problem) for problem in problems]

    @property
    def rejected(self) -> int:
        """Rows rejected (a row may have several problems)."""
        return len({problem[0] for problem in self.problems})


def validate_rows(rows: list[tuple[int, Any]], key: bytes) -> Chunk:
    """Validate and prepare each row through the rules of POST /sessions (one code path)."""
    chunk = Chunk(size=len(rows))
    for row, record in rows:
        if not isinstance(record, dict):
            chunk.reject(row, [("record", "not_an_object", "Each record must be an object.")])
            continue
        if "__extra_cells__" in record:
            chunk.reject(
                row, [("record", "extra_cells", "The row has more cells than the header.")]
            )
            continue
        data = {k: v for k, v in record.items() if k not in DERIVED_COLUMNS}
        try:
            chunk.prepared.append((row, prepare_record(load_session(data), key)))
        except ma.ValidationError as error:
            chunk.reject(row, [(name, _code(text), text) for name, text in _flat(error.messages)])
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
    return chunk


def validated_chunks(
    records: Iterator[tuple[int, Any]], key: bytes, workers: int = 1
) -> Iterator[Chunk]:
    """The file's records, CHUNK_ROWS at a time, validated, in file order: in this process, or
    in `workers` processes of their own (validation is the Python-bound part of an import; this
    process then only reads the file and loads the chunks). At most two chunks per worker are in
    flight, so memory stays flat whatever the file's size."""
    batches = iter(lambda: list(islice(records, CHUNK_ROWS)), [])
    if workers <= 1:
        for rows in batches:
            yield validate_rows(rows, key)
        return
    with ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("spawn"),  # no fork of a threaded server
        initializer=_keep_key,
        initargs=(key,),
    ) as pool:
        pending: deque[Future] = deque()
        try:
            for rows in batches:
                pending.append(pool.submit(_validate_with_kept_key, rows))
                if len(pending) > 2 * workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()


def validation_workers(configured: int, total: int) -> int:
    """How many processes validate an import of `total` records: IMPORT_WORKERS, or one per CPU
    core when it is 0; a file of a few chunks is validated in the service process itself."""
    if total < 4 * CHUNK_ROWS:
        return 1
    return max(1, configured or os.cpu_count() or 1)


_kept_key: bytes = b""


def _keep_key(key: bytes) -> None:
    """Worker process start: the pseudonym key arrives once, not with every chunk."""
    global _kept_key
    _kept_key = key


def _validate_with_kept_key(rows: list[tuple[int, Any]]) -> Chunk:
    return validate_rows(rows, _kept_key)


def _flat(messages: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = prefix if key == "_schema" else (f"{prefix}.{key}" if prefix else str(key))
            yield from _flat(value, name or "record")
    elif isinstance(messages, list) and all(isinstance(item, str) for item in messages):
        yield prefix or "record", " ".join(messages)
    elif isinstance(messages, list):
        for item in messages:
            yield from _flat(item, prefix)


def load_chunk(conn, chunk: Chunk, report: ImportReport) -> None:
    """Count the chunk's rejected rows, then COPY + merge its good ones; repeats of stored
    sessions count as unchanged, other content under a stored id is a rejected row with code
    `conflict`."""
    for row, field_name, code, message in chunk.problems:
        report.reject(row, field_name, code, message)
    report.rejected += chunk.rejected
    report.processed += chunk.size
    by_id: dict[uuid.UUID, tuple[int, dict]] = {}
    for row, record in chunk.prepared:
        first = by_id.get(record["session_id"])
        if first is None:
            by_id[record["session_id"]] = (row, record)
        elif first[1]["content_hash"] == record["content_hash"]:
            report.unchanged += 1
        else:
            report.reject(
                row,
                "session_id",
                "conflict",
                "This session_id appears earlier in the file with different content.",
            )
            report.rejected += 1
    if not by_id:
        return
    created = store.copy_sessions(conn, [record for _, record in by_id.values()])
    repeats = [session_id for session_id in by_id if session_id not in created]
    stored = store.content_hashes(conn, repeats) if repeats else {}
    report.inserted += len(created)
    for session_id in repeats:
        row, record = by_id[session_id]
        if stored.get(session_id) == record["content_hash"]:
            report.unchanged += 1
        else:
            report.reject(row, "session_id", "conflict", "Stored with different content.")
            report.rejected += 1


def _count_rows(report: ImportReport, checkpoint: tuple[int, ...]) -> None:
    """Publish a chunk's outcome counts (rate() of the counter is the import speed)."""
    before = checkpoint[1:4]
    after = (report.inserted, report.unchanged, report.rejected)
    for outcome, old, new in zip(("inserted", "unchanged", "rejected"), before, after, strict=True):
        metrics.IMPORT_ROWS.labels(outcome, str(report.dry_run).lower()).inc(new - old)


class RunnerLock:
    """Held by the process that runs an import, on a database connection of its own, for as long
    as the import runs. When that process dies, PostgreSQL ends the connection and the lock with
    it, and GET /imports/{id} then reports the import as failed where it stopped, instead of
    running for ever."""

    def __init__(self, app: Flask, import_id: uuid.UUID) -> None:
        self._pool = app.extensions["db_pool"]
        self.import_id = import_id
        with db.wrap_db_errors():
            self._conn = self._acquire()

    def _acquire(self) -> psycopg.Connection:
        conn = psycopg.connect(self._pool.conninfo, autocommit=True, **self._pool.kwargs)
        store.lock_import(conn, self.import_id)
        return conn

    def keep(self) -> None:
        """Before each chunk: after a database restart, take the lock again on a new connection."""
        try:
            self._conn.execute("SELECT 1")
        except psycopg.Error:
            self._conn.close()
            self._conn = self._acquire()

    def release(self) -> None:
        """Closing the connection ends the lock."""
        self._conn.close()


ABANDONED = (
    "the service running the import stopped. Import the same file again to load the rest "
    "(stored records count as unchanged)."
)


def begin_import(
    app: Flask, report: ImportReport, *, media_type: str, created_by: str
) -> RunnerLock:
    """Take the import's runner lock, then record it as running: a reader never sees a running
    import without its runner."""
    lock = RunnerLock(app, report.id)
    try:
        with db.connection() as conn:
            store.create_import(
                conn,
                report.id,
                dry_run=report.dry_run,
                media_type=media_type,
                created_by=created_by,
            )
            store.update_import(conn, report.id, report.as_row())
    except BaseException:
        lock.release()
        raise
    return lock


def run_import(
    app: Flask,
    spooled: IO[bytes],
    media_type: str,
    report: ImportReport,
    lock: RunnerLock,
    *,
    workers: int = 1,
) -> None:
    """Second pass: chunk by chunk, each chunk's rows committed in one transaction together with
    the report that counts them, so a crash or a database restart leaves whole chunks and a report
    that says exactly how far it got. The next chunk is validated (Python) while PostgreSQL loads
    this one (by `workers` processes: validated_chunks). A dry run rolls back every session
    write and keeps only the report."""
    key = app.extensions["pseudonym_key"]
    try:
        with (
            app.app_context(),
            read_ahead(validated_chunks(read_records(spooled, media_type), key, workers)) as chunks,
        ):
            for chunk in chunks:
                checkpoint = report.checkpoint()
                try:
                    lock.keep()
                    _load(chunk, report)
                except Exception:
                    report.rollback(checkpoint)  # the chunk did not happen
                    raise
                _count_rows(report, checkpoint)
            report.status = "completed"
    except Exception as error:
        log.exception("import failed", extra={"import_id": str(report.id)})
        report.status = "failed"
        report.failure = (
            f"Stopped after {report.processed} records: {type(error).__name__}. "
            "Import the same file again to load the rest (stored records count as unchanged)."
        )
    finally:
        spooled.close()
        _save_final_report(app, report)
        with contextlib.suppress(Exception):
            lock.release()


def _load(chunk: Chunk, report: ImportReport) -> None:
    with db.connection() as conn:
        with conn.transaction(force_rollback=report.dry_run):
            load_chunk(conn, chunk, report)
            if not report.dry_run:
                store.update_import(conn, report.id, report.as_row())
        if report.dry_run:
            store.update_import(conn, report.id, report.as_row())


_END = object()


@contextlib.contextmanager
def read_ahead(items: Iterator[Any], depth: int = 2) -> Iterator[Iterator[Any]]:
    """Iterate `items` in a thread of its own, up to `depth` items ahead of the consumer; an
    exception there is raised here. Leaving the block stops and joins the thread."""
    ahead: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: Any) -> None:
        while not stop.is_set():
            try:
                ahead.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def produce() -> None:
        try:
            for item in items:
                put(item)
                if stop.is_set():
                    return
            put(_END)
        except BaseException as error:  # handed to the consumer, raised there
            put(_Failure(error))

    def consume() -> Iterator[Any]:
        while (item := ahead.get()) is not _END:
            if isinstance(item, _Failure):
                raise item.error
            yield item

    thread = threading.Thread(target=produce, name="import-read-ahead", daemon=True)
    thread.start()
    try:
        yield consume()
    finally:
        stop.set()
        thread.join()


@dataclass
class _Failure:
    error: BaseException


def _save_final_report(app: Flask, report: ImportReport) -> None:
    """Write the final report, waiting for the database if it is away (a restart)."""
    deadline = time.monotonic() + FINAL_REPORT_PATIENCE
    pause = 0.5
    while True:
        try:
            with app.app_context(), db.connection() as conn:
                store.update_import(conn, report.id, report.as_row())
            return
        except Exception:
            if time.monotonic() > deadline:
                log.exception("import report not saved", extra={"import_id": str(report.id)})
                return
            time.sleep(pause)
            pause = min(pause * 2, 5.0)


def start_import(
    app: Flask,
    spooled: IO[bytes],
    media_type: str,
    *,
    dry_run: bool,
    total: int,
    created_by: str,
    background: bool,
) -> ImportReport:
    """Record the import and run it, in this request or in a background thread (large files:
    the import then goes on even when the client disconnects)."""
    report = ImportReport(id=uuid.uuid4(), dry_run=dry_run, total=total)
    lock = begin_import(app, report, media_type=media_type, created_by=created_by)
    if background:
        workers = validation_workers(app.extensions["settings"].import_workers, total)
        threading.Thread(
            target=run_import,
            args=(app, spooled, media_type, report, lock),
            kwargs={"workers": workers},
            name=f"import-{report.id}",
            daemon=True,
        ).start()
    else:
        run_import(app, spooled, media_type, report, lock)
    return report


def report_body(row: dict[str, Any]) -> dict[str, Any]:
    """The import report as the API answers it."""
    return {
        "id": row["import_id"],
        "status": row["status"],
        "dry_run": row["dry_run"],
        "total": row["total"],
        "processed": row["processed"],
        "inserted": row["inserted"],
        "unchanged": row["unchanged"],
        "rejected": row["rejected"],
        "errors": row["errors"],
        "failure": row["failure"],
    }
