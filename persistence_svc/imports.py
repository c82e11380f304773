"""Imports of session files: spool the upload, check the whole file, then validate and load it in
chunks (COPY into staging + one merge per chunk) through the same rules as POST /sessions."""

from __future__ import annotations

import contextlib
import gc
import logging
import multiprocessing
import multiprocessing.forkserver
import operator
import os
import queue
import tempfile
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from typing import IO, Any

import marshmallow as ma
import psycopg
from flask import Flask

from persistence_svc import columnar, store
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
    csv_record,
    read_block,
    read_csv_lines,
    read_records,
    scan_file,
)
from persistence_svc.schemas import load_session
from persistence_svc.sessions import PersonalDataFound, known_engineers, prepare_record
from shared import db, metrics
from shared.errors import (
    BadRequest,
    PayloadTooLarge,
    Unprocessable,
    flatten_messages,
    reportable_field,
)
from shared.pseudonyms import EngineerCodes, KnownEngineers

CHUNK_ROWS = 4000
FINAL_REPORT_PATIENCE = 120.0  # seconds a final report waits for the database to come back
MAX_REPORTED_ERRORS = 1000
SPOOL_CHUNK = 256 * 1024
KNOWN_COLUMNS = frozenset(INPUT_COLUMNS + DERIVED_COLUMNS + IMPORT_ONLY_COLUMNS)
_DERIVED = frozenset(DERIVED_COLUMNS)
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
    """Copy the upload to a temporary file in chunks (constant memory); 413 past `limit` bytes.
    The file has a name (readable by this user only) so that validation workers can read it."""
    spooled = tempfile.NamedTemporaryFile(prefix="cr-import-")  # noqa: SIM115 - closed by the import
    size = 0
    while chunk := stream.read(SPOOL_CHUNK):
        size += len(chunk)
        if size > limit:
            spooled.close()
            raise PayloadTooLarge(f"Import files are limited to {limit} bytes.")
        spooled.write(chunk)
    spooled.flush()
    spooled.seek(0)
    return spooled, size


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
            block_records=CHUNK_ROWS,
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
    header), a column at a time (persistence_svc.columnar); the lines it doubts go the record
    way. The same Chunk as prepare_chunk of the lines' records."""
    chunk = Chunk(size=len(lines))
    codes = codes or EngineerCodes(key)
    now = now or datetime.now(UTC)
    sure = columnar.prepare_lines(
        names, [cells for _, cells in lines], key=key, codes=codes, now=now, known=known
    )
    ready = iter(zip(sure.session_ids, sure.content_hashes, sure.copy_rows, strict=True))
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
    if kept:
        # In session_id order, PostgreSQL inserts into the primary key's index page after page:
        # its CPU per row fell by 2 to 6 µs of about 30 (100,000 rows, docs/scaling.md).
        by_id = sorted(kept, key=operator.itemgetter(1))
        chunk.copy_data = store.copy_rows_data(entry[3] for entry in by_id)
        chunk.keys = [entry[:3] for entry in kept]  # in file order, as rejections are reported
    return chunk


@dataclass(frozen=True)
class BlockOfFile:
    """What a worker needs to read one block of the spooled file itself."""

    path: str
    media_type: str
    columns: tuple[str, ...]
    block: Block

    def rows(self) -> list[tuple[int, Any]]:
        with open(self.path, "rb") as stream:
            return list(read_block(stream, self.media_type, self.block, self.columns))

    def prepare(
        self, key: bytes, codes: EngineerCodes | None, known: KnownEngineers | None = None
    ) -> Chunk:
        """The block's chunk: CSV lines a column at a time, NDJSON records one by one."""
        if self.media_type != CSV:
            return prepare_chunk(self.rows(), key, codes, known=known)
        with open(self.path, "rb") as stream:
            lines, apostrophes = read_csv_lines(stream, self.block)
        return prepare_csv_chunk(
            lines, self.columns, key, codes, apostrophes=apostrophes, known=known
        )


Work = BlockOfFile | list[tuple[int, Any]]  # a block to read, or records already read


def chunk_work(spooled: IO[bytes], scan: FileScan) -> Iterator[Work]:
    """The second pass's work, CHUNK_ROWS records at a time in file order: the blocks of a CSV or
    NDJSON file (workers read them), the records of a JSON array (read here; one stream)."""
    if scan.blocks:
        for block in scan.blocks:
            yield BlockOfFile(spooled.name, scan.media_type, scan.columns, block)
        return
    records = read_records(spooled, scan.media_type)
    yield from iter(lambda: list(islice(records, CHUNK_ROWS)), [])


def _prepare(
    work: Work, key: bytes, codes: EngineerCodes | None, known: KnownEngineers | None
) -> Chunk:
    return (
        work.prepare(key, codes, known)
        if isinstance(work, BlockOfFile)
        else prepare_chunk(work, key, codes, known=known)
    )


def _workers_context() -> multiprocessing.context.BaseContext:
    """Validation workers are forked from a fork server that has imported this module once: a
    new worker is ready in milliseconds, where a spawned one spent about 1.1 s of CPU importing
    it (docs/scaling.md). The server is a small single-threaded process, so forking it is safe
    where forking the threaded service is not."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    return context


def start_worker_server() -> None:
    """Start the fork server of the validation workers now (the service does at start-up), so
    that the first large import does not wait for it. It lives as long as the service."""
    _workers_context()
    multiprocessing.forkserver.ensure_running()


class ValidationPool:
    """The processes that validate one import's chunks beside the service (validation is the
    Python-bound part of an import; the service then only loads the chunks). Made before the file
    is checked, so that they start while it is; `known` (the engineers stored then) goes to each
    worker once."""

    def __init__(self, key: bytes, workers: int, known: KnownEngineers | None = None) -> None:
        self.workers = workers
        self.known = known
        self.executor = ProcessPoolExecutor(
            workers,
            mp_context=_workers_context(),
            initializer=_start_worker,
            initargs=(key, known),
        )
        for _ in range(workers):  # a task for each: no process is idle yet, so each starts one
            self.executor.submit(int)
        self.ahead: deque[Future] = deque()

    def prepare_ahead(self, work: Work) -> None:
        """Start on one of the file's first chunks while the first pass reads the rest (at most
        AHEAD_CHUNKS; validated_chunks hands them on first). Their results wait in memory until
        the file has been checked whole: about 2 MB each."""
        if len(self.ahead) < AHEAD_CHUNKS:
            self.ahead.append(self.executor.submit(_prepare_with_kept_key, work))

    def close(self) -> None:
        self.executor.shutdown(cancel_futures=True)


# The first pass over 1,000,000 rows took about 1 s, in which two workers on the other core
# prepare about 9 chunks (docs/scaling.md).
AHEAD_CHUNKS = 12


def validated_chunks(
    work: Iterator[Work],
    key: bytes,
    pool: ValidationPool | None = None,
    known: KnownEngineers | None = None,
) -> Iterator[Chunk]:
    """The chunks of the work, validated and made COPY data, in file order: in this process, or
    by the processes of `pool`. At most two chunks per worker, or the AHEAD_CHUNKS started while
    the file was checked, are in flight, so memory stays flat whatever the file's size. Closes
    the pool when done. `known`: see prepare_chunk (a pool's workers have their own)."""
    if pool is None:
        codes = EngineerCodes(key)
        for item in work:
            yield _prepare(item, key, codes, known)
        return
    pending = pool.ahead  # the first chunks, started while the file was checked
    try:
        for item in islice(work, len(pending), None):
            pending.append(pool.executor.submit(_prepare_with_kept_key, item))
            if len(pending) > 2 * pool.workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        pool.close()


# Below about 28,000 records the service alone was faster than workers that had to start first
# (docs/scaling.md); the file's size says so before the file is read: 28,000 records of the
# benchmark's rows (bench/imports.py, 194 bytes each) are 5.4 MB. That was measured with spawned
# workers (about 1.1 s of CPU each to start); forked from the fork server they start in ~20 ms,
# so the break-even is likely lower now: not measured again yet.
POOLED_FROM_BYTES = 5_500_000


def validation_workers(configured: int) -> int:
    """How many processes validate a large import: IMPORT_WORKERS, or one per CPU core when it
    is 0 (1: the service validates)."""
    return configured or os.cpu_count() or 1


def validation_pool(
    key: bytes, configured: int, size: int, known: KnownEngineers | None = None
) -> ValidationPool | None:
    """The validation workers of an import of `size` bytes (validation_workers), checking free
    text against the `known` engineers; None (the service validates) for a smaller file, or for
    one worker."""
    if size < POOLED_FROM_BYTES:
        return None
    workers = validation_workers(configured)
    return ValidationPool(key, workers, known) if workers > 1 else None


_kept_key: bytes = b""
_kept_codes: EngineerCodes | None = None
_kept_known: KnownEngineers | None = None


# A worker makes and drops a few dicts per row, which reference counting frees (no cycles): the
# cycle collector, which would run every 700 new objects, waits for this many (6 % of a worker's
# time, measured in docs/scaling.md).
WORKER_GC_THRESHOLD = 50_000


def _start_worker(key: bytes, known: KnownEngineers | None = None) -> None:
    """Worker process start: the pseudonym key and the known engineers arrive once, not with every
    chunk. A worker serves one import, so the engineer codes it remembers are that import's."""
    global _kept_key, _kept_codes, _kept_known
    _kept_key = key
    _kept_codes = EngineerCodes(key)
    _kept_known = known
    gc.freeze()  # what the worker imported lives as long as it does: not looked at again
    gc.set_threshold(WORKER_GC_THRESHOLD, *gc.get_threshold()[1:])


def _prepare_with_kept_key(work: Work) -> Chunk:
    return _prepare(work, _kept_key, _kept_codes, _kept_known)


def load_chunk(conn, chunk: Chunk, report: ImportReport, *, direct: bool) -> bool:
    """Count the chunk's rejected rows, then COPY its good ones (`direct`: straight into the table,
    see store.copy_session_data); repeats of stored sessions count as unchanged, other content
    under a stored id is a rejected row with code `conflict`. True when every good row was new."""
    for row, field_name, code, message in chunk.problems:
        report.reject(row, field_name, code, message)
    report.rejected += chunk.rejected
    report.processed += chunk.size
    report.unchanged += chunk.unchanged
    if not chunk.keys:
        return True
    created = store.copy_session_data(conn, chunk.copy_data, direct=direct)
    if created is None or len(created) == len(chunk.keys):
        report.inserted += len(chunk.keys)
        return True
    report.inserted += len(created)
    repeats = {
        session_id: (row, digest)
        for row, raw_id, digest in chunk.keys
        if (session_id := uuid.UUID(bytes=raw_id)) not in created
    }
    stored = store.content_hashes(conn, list(repeats))
    for session_id, (row, digest) in repeats.items():
        if stored.get(session_id) == digest:
            report.unchanged += 1
        else:
            report.reject(row, "session_id", "conflict", "Stored with different content.")
            report.rejected += 1
    return False


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
    scan: FileScan,
    report: ImportReport,
    lock: RunnerLock,
    *,
    pool: ValidationPool | None = None,
) -> None:
    """Second pass: chunk by chunk, each chunk's rows committed in one transaction together with
    the report that counts them, so a crash or a database restart leaves whole chunks and a report
    that says exactly how far it got. The next chunks are validated (Python) while PostgreSQL
    loads this one (by the processes of `pool`, which the import closes). A dry run rolls back
    every session write and keeps only the report."""
    key = app.extensions["pseudonym_key"]
    try:
        with app.app_context():
            known = _known_at_start(key, pool)
        with (
            app.app_context(),
            read_ahead(validated_chunks(chunk_work(spooled, scan), key, pool, known)) as chunks,
        ):
            direct = True  # until a chunk meets stored sessions (a repeated import)
            for chunk in chunks:
                checkpoint = report.checkpoint()
                try:
                    lock.keep()
                    direct = _load(chunk, report, direct=direct)
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
        if pool is not None:
            pool.close()  # (when the import failed before its first chunk)
        _save_final_report(app, report)
        with contextlib.suppress(Exception):
            lock.release()


def _known_at_start(key: bytes, pool: ValidationPool | None) -> KnownEngineers:
    """The engineers whose names the import's free text must not hold: those its pool's workers
    received, or those stored now. A name first stored by this import (or while it runs) is
    caught in its own row only."""
    if pool is not None and pool.known is not None:
        return pool.known
    with db.connection() as conn:
        return known_engineers(conn, key)


def _load(chunk: Chunk, report: ImportReport, *, direct: bool) -> bool:
    with db.connection() as conn:
        with conn.transaction(force_rollback=report.dry_run):
            # A chunk's commit does not wait for its WAL to reach the disk: a crash may undo the
            # last chunks of a running import, together with the report that counts them (the
            # database stays consistent, and the report says where it stopped). The final
            # report's commit waits, and WAL is flushed in order, so a completed import is
            # durable whole. Waiting for each of 250 flushes idled the CPU (docs/scaling.md).
            store.commit_without_flush_wait(conn)
            all_new = load_chunk(conn, chunk, report, direct=direct)
            if not report.dry_run:
                store.update_import(conn, report.id, report.as_row())
        if report.dry_run:
            store.update_import(conn, report.id, report.as_row())
    return all_new


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
    scan: FileScan,
    *,
    dry_run: bool,
    created_by: str,
    background: bool,
    pool: ValidationPool | None = None,
) -> ImportReport:
    """Record the import and run it, in this request or in a background thread (large files:
    the import then goes on even when the client disconnects), validated by `pool` if given."""
    report = ImportReport(id=uuid.uuid4(), dry_run=dry_run, total=scan.total)
    try:
        lock = begin_import(app, report, media_type=scan.media_type, created_by=created_by)
    except BaseException:
        if pool is not None:
            pool.close()
        raise
    if background:
        threading.Thread(
            target=run_import,
            args=(app, spooled, scan, report, lock),
            kwargs={"pool": pool},
            name=f"import-{report.id}",
            daemon=True,
        ).start()
    else:
        run_import(app, spooled, scan, report, lock, pool=pool)
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
