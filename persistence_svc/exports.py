"""Streamed exports: a server-side cursor feeds the file writer; memory stays flat."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from flask import Response, stream_with_context

from persistence_svc import store
from persistence_svc.fileformats import EXPORT_COLUMNS
from shared import db

# A CSV export is one COPY statement that lasts as long as the client takes to read the file: a
# million rows to a slow client needs minutes, far beyond the 15 s every other statement gets.
# Still bounded: an export cannot run (and hold a connection and a snapshot) for ever.
EXPORT_STATEMENT_TIMEOUT_MS = 30 * 60 * 1000


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


def export_response(filters: dict[str, Any], teams: Sequence[str] | None) -> Response:
    """The matching sessions as a download in the asked format."""
    fmt = filters["format"]
    writer, content_type = WRITERS[fmt]
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")

    def chunks() -> Iterator[str | bytes]:
        with db.connection() as conn:
            store.allow_long_statements(conn, EXPORT_STATEMENT_TIMEOUT_MS)
            if fmt == "csv":
                yield from store.copy_sessions_csv(conn, filters, teams, EXPORT_COLUMNS)
            else:
                yield from writer(store.stream_sessions(conn, filters, teams))

    body = chunks()
    # The query starts here, so its errors are an error answer rather than a cut-off file.
    first = next(body, None)  # None: an NDJSON export of nothing is an empty file
    return Response(
        stream_with_context(itertools.chain([] if first is None else [first], body)),
        content_type=content_type,
        headers={"Content-Disposition": f'attachment; filename="sessions-{stamp}.{fmt}"'},
    )
