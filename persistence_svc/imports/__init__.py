"""Imports of session files (POST /imports): `import_file` is the whole path, in the order a reader
follows it. The upload is spooled to a temporary file (upload.py); the first pass checks the whole
file and finds its blocks (scan.py) while the validation workers, for a large file, start on the
first blocks (workers.py); the second pass validates each chunk through the rules of POST
/sessions (chunks.py; CSV lines a column at a time, columns.py) and loads it with COPY, committed
together with the report that counts it (loading.py, report.py)."""

from __future__ import annotations

from typing import IO, Any

from flask import Flask

from persistence_svc import store
from persistence_svc.imports.chunks import CHUNK_ROWS
from persistence_svc.imports.loading import start_import
from persistence_svc.imports.report import ABANDONED, ImportReport, report_body, stored_report
from persistence_svc.imports.scan import check_upload
from persistence_svc.imports.upload import file_of_request, spool
from persistence_svc.imports.workers import (
    start_worker_server,
    validation_pool,
    validation_workers,
)
from persistence_svc.sessions import known_engineers
from shared import db

__all__ = [
    "ABANDONED",
    "CHUNK_ROWS",
    "ImportReport",
    "file_of_request",
    "import_file",
    "start_worker_server",
    "stored_report",
    "validation_workers",
]


def import_file(
    app: Flask, upload: IO[bytes], media_type: str, *, dry_run: bool, created_by: str
) -> tuple[dict[str, Any], bool]:
    """Import a file of sessions: returns its report as the API answers it, and whether the
    import runs on in the background (a file larger than IMPORT_ASYNC_BYTES, validated by worker
    processes when it is large enough). A file that cannot be parsed writes nothing: 400, 413 or
    422 (the problem names the column or the file); bad rows are reported and skipped."""
    settings = app.extensions["settings"]
    spooled, size = spool(upload, settings.max_import_bytes)
    background = size > settings.import_async_bytes
    key = app.extensions["pseudonym_key"]
    pool = None
    if background:
        with db.connection() as conn:
            known = known_engineers(conn, key)
        pool = validation_pool(key, settings.import_workers, size, known)
    scan = check_upload(spooled, media_type, settings.max_import_rows, pool)
    report = start_import(
        app,
        spooled,
        scan,
        dry_run=dry_run,
        created_by=created_by,
        background=background,
        pool=pool,
    )
    with db.connection() as conn:
        return report_body(store.get_import(conn, report.id)), background
