"""Where an import file is in the request (the raw body, or a multipart field `file`), and its
copy in a temporary file that the import reads twice."""

from __future__ import annotations

import tempfile
from typing import IO

from flask import request

from persistence_svc.fileformats import CSV, JSON, MEDIA_TYPES, NDJSON
from shared.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType

SPOOL_CHUNK = 256 * 1024
EXTENSIONS = {".csv": CSV, ".json": JSON, ".ndjson": NDJSON, ".jsonl": NDJSON}


def file_of_request(limit: int) -> tuple[IO[bytes], str]:
    """The uploaded file as a byte stream and its media type; 415 for anything else."""
    request.max_content_length = limit
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            raise BadRequest(
                errors=[{"field": "file", "reason": "Send the file in the field `file`."}]
            )
        media_type = (
            upload.mimetype
            if upload.mimetype in MEDIA_TYPES
            else next(
                (
                    kind
                    for suffix, kind in EXTENSIONS.items()
                    if (upload.filename or "").lower().endswith(suffix)
                ),
                None,
            )
        )
        if media_type is None:
            raise UnsupportedMediaType("Upload a .csv, .json or .ndjson file.")
        return upload.stream, media_type
    if request.mimetype not in MEDIA_TYPES:
        raise UnsupportedMediaType("Send text/csv, application/json or application/x-ndjson.")
    return request.stream, request.mimetype


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
