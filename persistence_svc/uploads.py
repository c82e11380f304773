"""Where an import file is in the request: the raw body, or a multipart field `file`."""

from __future__ import annotations

from typing import IO

from flask import request

from persistence_svc.fileformats import CSV, JSON, MEDIA_TYPES, NDJSON
from shared.errors import BadRequest, UnsupportedMediaType

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
