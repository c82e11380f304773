"""SQL of the persistence schema: one function per statement, connection first."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from persistence_svc.fileformats import INPUT_COLUMNS
from shared import db
from shared.spreadsheet import FORMULA_STARTS, NEEDS_APOSTROPHE_SQL

# Every stored column a write supplies: the client's fields, the derived ones and the hash.
SESSION_COLUMNS = (
    *INPUT_COLUMNS,
    "confidence_overall",
    "confidence_rating",
    "analysed_at",
    "duration_seconds",
    "content_hash",
)
_COLUMN_LIST = ", ".join(SESSION_COLUMNS)
_VALUE_LIST = ", ".join(f"%({name})s" for name in SESSION_COLUMNS)


def _filter_params(filters: dict[str, Any], teams: Sequence[str] | None) -> dict[str, Any]:
    """Query parameters of the list filters (and the caller's team scope)."""
    return {
        "team": filters.get("team"),
        "region": filters.get("region"),
        "engineer_code": filters.get("engineer_code"),
        "root_cause": filters.get("root_cause"),
        "language": filters.get("language"),
        "from": filters.get("from_"),
        "to": filters.get("to"),
        "teams": list(teams) if teams is not None else None,
    }


# The list filters, shared by the session list and the export.
_FILTERS = """(%(team)s::text IS NULL OR team = %(team)s)
          AND (%(teams)s::text[] IS NULL OR team = ANY(%(teams)s::text[]))
          AND (%(region)s::text IS NULL OR region = %(region)s)
          AND (%(engineer_code)s::text IS NULL OR engineer_code = %(engineer_code)s)
          AND (%(root_cause)s::text IS NULL OR root_cause = %(root_cause)s)
          AND (%(language)s::text IS NULL OR languages @> ARRAY[%(language)s::text])
          AND (%(from)s::timestamptz IS NULL OR analysed_at >= %(from)s)
          AND (%(to)s::timestamptz IS NULL OR analysed_at < %(to)s)"""
_RETURNED = ", ".join(name for name in SESSION_COLUMNS if name != "content_hash") + (
    ", created_at, updated_at"
)


def _params(record: dict[str, Any]) -> dict[str, Any]:
    params = {name: record.get(name) for name in SESSION_COLUMNS}
    params["attributes"] = Jsonb(record.get("attributes") or {})
    return params


def insert_session(conn: psycopg.Connection, record: dict[str, Any]) -> dict | None:
    """Insert one session; returns the stored row, or None when the id exists already."""
    return conn.execute(
        f"""
        INSERT INTO sessions ({_COLUMN_LIST})
        VALUES ({_VALUE_LIST})
        ON CONFLICT (session_id) DO NOTHING
        RETURNING {_RETURNED}
        """,
        _params(record),
    ).fetchone()


def content_hashes(
    conn: psycopg.Connection, session_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, bytes]:
    """The stored content hash of each of these sessions that exists."""
    rows = conn.execute(
        "SELECT session_id, content_hash FROM sessions WHERE session_id = ANY(%(ids)s)",
        {"ids": list(session_ids)},
    ).fetchall()
    return {row["session_id"]: bytes(row["content_hash"]) for row in rows}


def get_session(
    conn: psycopg.Connection, session_id: uuid.UUID, teams: Sequence[str] | None = None
) -> dict | None:
    """One session; with `teams` (a team-scoped caller) only if it belongs to one of them."""
    return conn.execute(
        f"""
        SELECT {_RETURNED} FROM sessions
        WHERE session_id = %(session_id)s
          AND (%(teams)s::text[] IS NULL OR team = ANY(%(teams)s::text[]))
        """,
        {"session_id": session_id, "teams": list(teams) if teams is not None else None},
    ).fetchone()


def list_sessions(
    conn: psycopg.Connection,
    filters: dict[str, Any],
    *,
    limit: int,
    after: tuple[str, str] | None,
    teams: Sequence[str] | None,
) -> list[dict]:
    """A page of sessions, newest analysis first, after the keyset `(analysed_at, session_id)`."""
    params = {
        **_filter_params(filters, teams),
        "after_at": after[0] if after else None,
        "after_id": after[1] if after else None,
        "limit": limit,
    }
    return conn.execute(
        f"""
        SELECT {_RETURNED} FROM sessions
        WHERE {_FILTERS}
          AND (%(after_at)s::timestamptz IS NULL
               OR (analysed_at, session_id) < (%(after_at)s::timestamptz, %(after_id)s::uuid))
        ORDER BY analysed_at DESC, session_id DESC
        LIMIT %(limit)s
        """,
        params,
    ).fetchall()


def delete_engineer_sessions(conn: psycopg.Connection, engineer_code: str) -> int:
    """Delete every session of one engineer; returns how many."""
    return conn.execute(
        "DELETE FROM sessions WHERE engineer_code = %(code)s", {"code": engineer_code}
    ).rowcount


def known_engineers_version(conn: psycopg.Connection) -> int:
    """The row count of known_engineers: it moves with every committed change of the set (an
    engineer first stored, or erased), and reading it takes no lock a writer waits on."""
    return conn.execute("SELECT count(*) AS version FROM known_engineers").fetchone()["version"]


def known_engineers(conn: psycopg.Connection) -> dict[str, Any]:
    """The engineer codes with stored sessions and the version of that set (`known_engineers_
    version`), read in one snapshot: `{"version": 7, "codes": ["eng_…", …]}`."""
    return conn.execute(
        """
        SELECT (SELECT count(*) FROM known_engineers) AS version,
               array(SELECT DISTINCT engineer_code FROM known_engineers) AS codes
        """
    ).fetchone()


_STAGED = ", ".join(SESSION_COLUMNS)
# The PostgreSQL type of each of SESSION_COLUMNS, for binary COPY.
_COLUMN_TYPES = {
    "session_id": "uuid",
    "parts": "int2",
    "languages": "text[]",
    "sentiment_score": "float8",
    "confidence_analysis": "float8",
    "confidence_translation": "float8",
    "confidence_overall": "float8",
    "started_at": "timestamptz",
    "ended_at": "timestamptz",
    "analysed_at": "timestamptz",
    "duration_seconds": "int4",
    "attributes": "jsonb",
    "content_hash": "bytea",
}
_SESSION_ID = SESSION_COLUMNS.index("session_id")
_ATTRIBUTES = SESSION_COLUMNS.index("attributes")
_LANGUAGES = SESSION_COLUMNS.index("languages")
# Languages and attributes are few distinct values over many rows, and their dumpers are the slow
# ones (Python): each distinct value is dumped once and sent as bytes (shared.db.binary_value).
# A session_id goes as its 16 bytes, which are PostgreSQL's binary form of a uuid.
_STAGED_TYPES = [
    "bytea"
    if name in ("session_id", "languages", "attributes")
    else _COLUMN_TYPES.get(name, "text")
    for name in SESSION_COLUMNS
]
_dump_attributes = db.binary_dumper("jsonb", dict)
EMPTY_ATTRIBUTES = _dump_attributes({})
_LANGUAGE_BYTES: dict[tuple[str, ...], bytes] = {}
_LANGUAGE_BYTES_LIMIT = 1000  # 8 codes give 109,600 ordered lists; files repeat a few


def languages_bytes(codes: list[str]) -> bytes:
    """The COPY data of a languages value (`session_copy_row`)."""
    key = tuple(codes)
    if (data := _LANGUAGE_BYTES.get(key)) is None:
        data = db.binary_value(codes, "text[]")
        if len(_LANGUAGE_BYTES) < _LANGUAGE_BYTES_LIMIT:
            _LANGUAGE_BYTES[key] = data
    return data


def attributes_bytes(attributes: dict[str, Any]) -> bytes:
    """The COPY data of an attributes value (`session_copy_row`)."""
    return _dump_attributes(attributes) if attributes else EMPTY_ATTRIBUTES


def session_copy_row(record: dict[str, Any]) -> list[Any]:
    """A prepared record as one row of `session_copy_data`: its values in SESSION_COLUMNS order."""
    row = list(map(record.get, SESSION_COLUMNS))
    row[_SESSION_ID] = row[_SESSION_ID].bytes
    row[_LANGUAGES] = languages_bytes(row[_LANGUAGES])
    row[_ATTRIBUTES] = attributes_bytes(row[_ATTRIBUTES])
    return row


def session_copy_data(records: Iterable[dict[str, Any]]) -> bytes:
    """Prepared records as binary COPY data for `copy_session_data` (no connection needed)."""
    return copy_rows_data(map(session_copy_row, records))


def copy_rows_data(rows: Iterable[Sequence[Any]]) -> bytes:
    """Rows such as `session_copy_row` makes as binary COPY data for `copy_session_data`."""
    return db.binary_copy_data(rows, _STAGED_TYPES)


def copy_session_data(
    conn: psycopg.Connection, data: bytes, *, direct: bool
) -> set[uuid.UUID] | None:
    """Bulk insert of `session_copy_data`; returns the ids that were new, or None when all were.
    Sessions already stored are left as they are: the data goes through a per-connection staging
    table and one INSERT … SELECT … ON CONFLICT DO NOTHING. With `direct`, a COPY straight into
    the table is tried first, in a savepoint (a third less work for PostgreSQL when every session
    is new, and None is the answer); one session already stored undoes it, and the staging path
    follows. One call per transaction: the staging table empties at commit."""
    if direct:
        try:
            with (
                conn.transaction(),
                conn.cursor() as cursor,
                cursor.copy(f"COPY sessions ({_STAGED}) FROM STDIN (FORMAT BINARY)") as copy,
            ):
                copy.write(data)
            return None
        except psycopg.errors.UniqueViolation:
            pass
    conn.execute(
        "CREATE TEMP TABLE IF NOT EXISTS import_staging "
        "(LIKE sessions INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
    )
    with conn.cursor() as cursor:
        with cursor.copy(f"COPY import_staging ({_STAGED}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.write(data)
        rows = cursor.execute(
            f"""
            INSERT INTO sessions ({_STAGED})
            SELECT {_STAGED} FROM import_staging
            ON CONFLICT (session_id) DO NOTHING
            RETURNING session_id
            """
        ).fetchall()
    return {row["session_id"] for row in rows}


def copy_sessions(conn: psycopg.Connection, records: Sequence[dict[str, Any]]) -> set[uuid.UUID]:
    """Bulk insert of prepared records (straight into the table while none is stored yet);
    returns the ids that were new."""
    created = copy_session_data(conn, session_copy_data(records), direct=True)
    return {record["session_id"] for record in records} if created is None else created


def commit_without_flush_wait(conn: psycopg.Connection) -> None:
    """The current transaction's commit returns before its WAL is flushed to disk
    (synchronous_commit off, for this transaction only)."""
    conn.execute("SET LOCAL synchronous_commit = off")


def create_import(
    conn: psycopg.Connection,
    import_id: uuid.UUID,
    *,
    dry_run: bool,
    media_type: str,
    created_by: str,
) -> None:
    """Record a new, running import."""
    conn.execute(
        """
        INSERT INTO imports (import_id, status, dry_run, media_type, created_by)
        VALUES (%(id)s, 'running', %(dry_run)s, %(media_type)s, %(created_by)s)
        """,
        {"id": import_id, "dry_run": dry_run, "media_type": media_type, "created_by": created_by},
    )


def update_import(conn: psycopg.Connection, import_id: uuid.UUID, report: dict[str, Any]) -> None:
    """Store an import's progress or final report."""
    conn.execute(
        """
        UPDATE imports
        SET status = %(status)s, total = %(total)s, processed = %(processed)s,
            inserted = %(inserted)s, unchanged = %(unchanged)s, rejected = %(rejected)s,
            errors = %(errors)s, failure = %(failure)s,
            finished_at = CASE WHEN %(status)s = 'running' THEN NULL ELSE now() END
        WHERE import_id = %(id)s
        """,
        {**report, "errors": Jsonb(report["errors"]), "id": import_id},
    )


# The advisory locks of running imports: (this class id, hashtext(import id)), each held by the
# process that runs the import on a connection of its own (imports.RunnerLock).
IMPORT_LOCK_CLASS = 0x494D504F


def lock_import(conn: psycopg.Connection, import_id: uuid.UUID) -> None:
    """Take the lock that says "this import has a runner" for the connection's lifetime."""
    conn.execute("SELECT pg_advisory_lock(%s, hashtext(%s))", (IMPORT_LOCK_CLASS, str(import_id)))


def fail_abandoned_import(conn: psycopg.Connection, import_id: uuid.UUID, reason: str) -> bool:
    """Mark a running import failed when no connection holds its lock any more (the process that
    ran it is gone), keeping the counts of its committed chunks; True when it was marked."""
    with conn.transaction():
        free = conn.execute(
            "SELECT pg_try_advisory_xact_lock(%s, hashtext(%s)) AS free",
            (IMPORT_LOCK_CLASS, str(import_id)),
        ).fetchone()["free"]
        if not free:
            return False
        marked = conn.execute(
            """
            UPDATE imports
            SET status = 'failed', finished_at = now(),
                failure = 'Stopped after ' || processed || ' records: ' || %(reason)s
            WHERE import_id = %(id)s AND status = 'running'
            """,
            {"id": import_id, "reason": reason},
        )
        return marked.rowcount == 1


def get_import(conn: psycopg.Connection, import_id: uuid.UUID) -> dict | None:
    """One import with its report."""
    return conn.execute(
        "SELECT * FROM imports WHERE import_id = %(id)s", {"id": import_id}
    ).fetchone()


def stream_sessions(
    conn: psycopg.Connection, filters: dict[str, Any], teams: Sequence[str] | None
) -> Iterator[dict]:
    """Every matching session, oldest analysis first, through a server-side cursor (constant
    memory however many rows match)."""
    params = _filter_params(filters, teams)
    with conn.cursor(name="session_export") as cursor:
        cursor.itersize = 2000
        cursor.execute(
            f"""
            SELECT {_RETURNED} FROM sessions
            WHERE {_FILTERS}
            ORDER BY analysed_at, session_id
            """,
            params,
        )
        yield from cursor


def allow_long_statements(conn: psycopg.Connection, milliseconds: int) -> None:
    """Raise the statement time limit for the rest of this transaction (a streamed export runs
    as one statement for as long as the client takes to read it)."""
    conn.execute(
        "SELECT set_config('statement_timeout', %(limit)s, true)", {"limit": str(milliseconds)}
    )


# Every character a formula can start with, and the apostrophe, sorts before this one: comparing
# bytes with it is much cheaper than the regular expression, which then only sees the few cells
# that can need an apostrophe.
_AFTER_FORMULA_STARTS = chr(max(ord(char) for char in (*FORMULA_STARTS, "'")) + 1)


def _csv_text(column: str) -> str:
    """A text column as exported to CSV: formula-looking cells get a leading apostrophe."""
    pattern = NEEDS_APOSTROPHE_SQL.replace("'", "''")
    return (
        f"CASE WHEN {column} COLLATE \"C\" < '{_AFTER_FORMULA_STARTS}' AND {column} ~ '{pattern}' "
        f"THEN '''' || {column} ELSE {column} END"
    )


def _utc(column: str) -> str:
    return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"')"


# The export's CSV columns computed by PostgreSQL, in fileformats.EXPORT_COLUMNS order.
_CSV_EXPORT_SELECT = ", ".join(
    [
        "session_id",
        _csv_text("engineer_code"),
        _csv_text("case_ref"),
        _csv_text("team"),
        _csv_text("region"),
        "record_type",
        "parts",
        "array_to_string(languages, ';')",
        "sentiment_score",
        "tone_label",
        "root_cause",
        "confidence_analysis",
        "confidence_translation",
        _utc("started_at"),
        _utc("ended_at"),
        _csv_text("agent_version"),
        _csv_text("model"),
        _csv_text("notes"),
        "attributes::text",
        "confidence_overall",
        "confidence_rating",
        "duration_seconds",
        _utc("analysed_at"),
        _utc("created_at"),
        _utc("updated_at"),
    ]
)


def copy_sessions_csv(
    conn: psycopg.Connection,
    filters: dict[str, Any],
    teams: Sequence[str] | None,
    header: Sequence[str],
    chunk_bytes: int = 256 * 1024,
) -> Iterator[bytes]:
    """The matching sessions as CSV bytes straight from `COPY … TO STDOUT` (the fastest path
    out of PostgreSQL; lists, JSON and formula neutralisation are done in the query), in chunks
    of about `chunk_bytes`."""
    params = _filter_params(filters, teams)
    query = psycopg.ClientCursor(conn).mogrify(
        f"SELECT {_CSV_EXPORT_SELECT} FROM sessions WHERE {_FILTERS} "
        "ORDER BY analysed_at, session_id",
        params,
    )
    with conn.cursor() as cursor, cursor.copy(f"COPY ({query}) TO STDOUT (FORMAT csv)") as copy:
        yield (",".join(header) + "\r\n").encode()  # after the query started: errors come first
        # COPY hands over one row at a time; a write per row would cost more than the query.
        rows: list[memoryview] = []
        size = 0
        for row in copy:
            rows.append(row)
            size += len(row)
            if size >= chunk_bytes:
                yield b"".join(rows)
                rows, size = [], 0
        if rows:
            yield b"".join(rows)
