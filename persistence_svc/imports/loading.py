"""The second pass of an import: chunk by chunk into the table, each chunk committed together with
the report that counts it, by a runner that holds the import's lock."""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

import psycopg
from flask import Flask

from persistence_svc import store
from persistence_svc.fileformats import FileScan
from persistence_svc.imports.chunks import Chunk
from persistence_svc.imports.report import ImportReport
from persistence_svc.imports.workers import ValidationPool, chunk_work, validated_chunks
from persistence_svc.sessions import known_engineers
from shared import db, metrics
from shared.pseudonyms import KnownEngineers

FINAL_REPORT_PATIENCE = 120.0  # seconds a final report waits for the database to come back
log = logging.getLogger("cr.imports")


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
