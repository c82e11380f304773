"""SQL of the change feed's projection: the feed's state, the worker's wake-up, staging a page
and applying it set-based to the projection and its rollups."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

# A page of the change feed is applied in a handful of statements, whatever its size: the page is
# staged in a temporary table; each rollup gets the page's net deltas in one statement (the old
# rows of the page's sessions out, their new rows in); rollup rows left empty are removed by key;
# then the projection is written. A session the page names several times counts by its last
# change, and the old rows are those of the projection before the page.


FEED_LOCK = 0x7C3E_7E4F  # next to the worker's and the evaluation's keys


def lock_feed(conn: psycopg.Connection, *, wait: bool = True) -> dict | None:
    """The feed state (cursor, applied count, head), locked for this transaction: one applier at
    a time. With `wait=False`, None at once when another transaction holds it.

    The lock is a transaction-level advisory lock, not a row lock: a row lock would give the
    transaction an id while it reads the next page over HTTP, and the feed hands out no change
    committed after the oldest running transaction id, so the applier would hold back the very
    changes it is about to read."""
    if wait:
        conn.execute("SELECT pg_advisory_xact_lock(%(key)s)", {"key": FEED_LOCK})
    elif not conn.execute(
        "SELECT pg_try_advisory_xact_lock(%(key)s) AS held", {"key": FEED_LOCK}
    ).fetchone()["held"]:
        return None
    return conn.execute("SELECT * FROM feed_state WHERE feed = 'sessions'").fetchone()


def feed_state(conn: psycopg.Connection) -> dict:
    """Where the projection stands, without locking: the cursor, changes applied, the feed's
    pending changes and the age of the oldest of them as of the last page read.

    Read in a transaction of its own when none is open: a read that left one open would make
    a catch-up that follows apply its pages as savepoints of that transaction, whose id then
    holds the feed back (no change committed after it is handed out) until it ends."""
    with conn.transaction():
        return conn.execute(
            """
        SELECT cursor, applied, applied_through, pending, updated_at,
               CASE WHEN pending > 0 THEN greatest(extract(epoch FROM now() - pending_since), 0)
                    ELSE 0 END::float8 AS lag_seconds
        FROM feed_state WHERE feed = 'sessions'
        """
        ).fetchone()


def save_feed(
    conn: psycopg.Connection,
    cursor: str,
    applied: int,
    *,
    applied_through: datetime | str | None,
    pending: int,
    pending_since: datetime | str | None,
) -> None:
    """Move the cursor (in the same transaction as the changes it covers) and keep what the feed
    said about the changes after it."""
    conn.execute(
        """
        UPDATE feed_state SET cursor = %(cursor)s, applied = applied + %(applied)s,
            applied_through = coalesce(%(applied_through)s::timestamptz, applied_through),
            pending = %(pending)s, pending_since = %(pending_since)s::timestamptz,
            updated_at = now()
        WHERE feed = 'sessions'
        """,
        {
            "cursor": cursor,
            "applied": applied,
            "applied_through": applied_through,
            "pending": pending,
            "pending_since": pending_since,
        },
    )


WAKE_CHANNEL = "trends_worker"  # LISTENed to by the active worker


def listen_for_wake_ups(conn: psycopg.Connection) -> None:
    """Have this (autocommit) connection receive wake_worker's notifications."""
    conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(WAKE_CHANNEL)))


def wake_worker(conn: psycopg.Connection) -> None:
    """Ask the active worker to catch up and evaluate now (sent when this transaction commits)."""
    conn.execute("SELECT pg_notify(%(channel)s, 'evaluate')", {"channel": WAKE_CHANNEL})


PROJECTED_FIELDS = (
    "engineer_code",
    "team",
    "region",
    "languages",
    "root_cause",
    "sentiment_score",
    "confidence_overall",
    "analysed_at",
)


def stage_rows(conn: psycopg.Connection, rows: bytes) -> None:
    """Stage a page of the change feed for `apply_staged`, as the feed's net rows (format=rows):
    binary COPY data, one row a session the page names (`session_id`, then PROJECTED_FIELDS, of
    the types feed_page has), as its last change in the page left it (the fields null for a
    delete or a session erased since). PostgreSQL copies them as they come; no change is read in
    Python (JSON cost PostgreSQL 14 us a change to read, COPY text 1.7, binary COPY 1.0)."""
    _stage_tables(conn)
    with conn.cursor() as cursor, cursor.copy(_COPY_PAGE + _BINARY) as copy:
        copy.write(rows)


def stage_changes(conn: psycopg.Connection, changes: Iterable[dict[str, Any]]) -> None:
    """Stage change-feed items as the feed's JSON lists them (`session_id`, `operation`,
    `session` with PROJECTED_FIELDS or null), each session once as its last change left it."""
    last = {str(change["session_id"]): change for change in changes}
    _stage_tables(conn)
    with conn.cursor() as cursor, cursor.copy(_COPY_PAGE) as copy:
        for session_id, change in last.items():
            session = change.get("session") if change["operation"] != "delete" else None
            fields = [session.get(name) for name in PROJECTED_FIELDS] if session else _REMOVED
            copy.write_row([session_id, *fields])


_COPY_PAGE = sql.SQL("COPY pg_temp.feed_page ({}) FROM STDIN").format(
    sql.SQL(", ").join(map(sql.Identifier, ("session_id", *PROJECTED_FIELDS)))
)
_BINARY = sql.SQL(" (FORMAT binary)")
_REMOVED = [None] * len(PROJECTED_FIELDS)  # a session the page leaves out of the projection


def stage_engineer_removal(conn: psycopg.Connection, engineer_code: str) -> int:
    """Stage the removal of every projected session of an engineer; returns how many."""
    _stage_tables(conn)
    return conn.execute(
        "INSERT INTO feed_page (session_id) "
        "SELECT session_id FROM sessions WHERE engineer_code = %(code)s",
        {"code": engineer_code},
    ).rowcount


def _stage_tables(conn: psycopg.Connection) -> None:
    # Created once per connection, emptied by every commit; emptied here too, for a transaction
    # that stages twice. feed_page holds each session of the page once, feed_rows the page's
    # signed rows, feed_emptied the keys of rollup rows left with no session (apply_staged).
    conn.execute(
        """
        CREATE TEMPORARY TABLE IF NOT EXISTS feed_page (
            session_id uuid NOT NULL, engineer_code text, team text, region text,
            languages text[], root_cause text, sentiment_score float8,
            confidence_overall float8, analysed_at timestamptz
        ) ON COMMIT DELETE ROWS;
        CREATE TEMPORARY TABLE IF NOT EXISTS feed_rows (
            sign integer NOT NULL, team text NOT NULL, region text NOT NULL,
            languages text[] NOT NULL, root_cause text NOT NULL,
            sentiment_score float8 NOT NULL, confidence_overall float8 NOT NULL,
            week date NOT NULL
        ) ON COMMIT DELETE ROWS;
        CREATE TEMPORARY TABLE IF NOT EXISTS feed_emptied (
            rollup text NOT NULL, team text, region text, week date, language text,
            root_cause text
        ) ON COMMIT DELETE ROWS;
        DELETE FROM feed_page;
        DELETE FROM feed_rows;
        DELETE FROM feed_emptied;
        """
    )


# The staged page's net effect as signed rows: -1 for each of its sessions' current projected
# row, taken out of the projection by this statement, +1 for each session's row after the page
# (none when its last change removes it; apply_staged writes those rows back). The current rows
# are found by primary key, from an array of the page's ids: a join with the staging table would
# be planned as a scan of the whole projection, since a temporary table has no statistics (150 ms
# a page at 150,000 sessions against 30 ms by key, and growing with the projection). Taking a
# row out and writing it anew costs what an update does (a session's team, week or cause moves
# it in the indexes) without a second look-up and ON CONFLICT's (10 % less CPU for a page of
# updates).
_TAKE_OUT = """
    WITH taken_out AS (
        DELETE FROM sessions
        WHERE session_id = ANY((SELECT array_agg(session_id) FROM pg_temp.feed_page)::uuid[])
        RETURNING *
    )
    INSERT INTO pg_temp.feed_rows (sign, team, region, languages, root_cause, sentiment_score,
                                   confidence_overall, week)
    SELECT -1 AS sign, team, coalesce(region, ''), languages, root_cause, sentiment_score,
           confidence_overall, date_trunc('week', analysed_at AT TIME ZONE 'UTC')::date
    FROM taken_out
    UNION ALL
    SELECT 1, team, coalesce(region, ''), languages, root_cause, sentiment_score,
           confidence_overall, date_trunc('week', analysed_at AT TIME ZONE 'UTC')::date
    FROM pg_temp.feed_page WHERE engineer_code IS NOT NULL
"""
_DELTAS = """sum(sign), sum(sign * sentiment_score), sum(sign * confidence_overall)"""
_ADD = """
    sessions = w.sessions + EXCLUDED.sessions,
    sentiment_sum = w.sentiment_sum + EXCLUDED.sentiment_sum,
    confidence_sum = w.confidence_sum + EXCLUDED.confidence_sum
"""
_NOT_ZERO = (
    "HAVING sum(sign) <> 0 OR sum(sign * sentiment_score) <> 0 "
    "OR sum(sign * confidence_overall) <> 0"
)
# Each rollup's upsert keeps the keys of the rows it left with no session (exactly those: the
# feed lock admits one applier); they are then deleted by key. A condition on `sessions = 0`
# in the delete would let the planner, whose statistics see no empty rows, scan the rollup for
# them and look each one up in the page: quadratic on a page of deletes (0.8 s for 5,000).
_ROLLUPS = (
    ("team", "team_weekly", ("team", "region", "week", "root_cause"), "pg_temp.feed_rows"),
    (
        "language",
        "team_language_weekly",
        ("team", "region", "week", "language", "root_cause"),
        "pg_temp.feed_rows CROSS JOIN LATERAL unnest(languages) AS language",
    ),
)


def _upsert(rollup: str, table: str, key: tuple[str, ...], rows: str) -> str:
    columns = ", ".join(key)
    return f"""
        WITH changed AS (
            INSERT INTO {table} AS w ({columns}, sessions, sentiment_sum, confidence_sum)
            SELECT {columns}, {_DELTAS}
            FROM {rows} GROUP BY {columns} {_NOT_ZERO}
            ON CONFLICT ({columns}) DO UPDATE SET {_ADD}
            RETURNING {columns}, sessions
        )
        INSERT INTO pg_temp.feed_emptied (rollup, {columns})
        SELECT '{rollup}', {columns} FROM changed WHERE sessions = 0
    """


def _delete_emptied(rollup: str, table: str, key: tuple[str, ...]) -> str:
    match = " AND ".join(f"w.{column} = k.{column}" for column in key)
    return f"""
        DELETE FROM {table} w USING pg_temp.feed_emptied k
        WHERE k.rollup = '{rollup}' AND {match}
    """


_UPSERTS = [_upsert(*rollup) for rollup in _ROLLUPS]
_DELETE_EMPTIED = (
    "WITH "
    + ", ".join(
        f"{rollup} AS ({_delete_emptied(rollup, table, key)})"
        for rollup, table, key, _ in _ROLLUPS[:-1]
    )
    + _delete_emptied(*_ROLLUPS[-1][:3])
)

_WRITE_PROJECTION = """
    INSERT INTO sessions (session_id, engineer_code, team, region, languages, root_cause,
                          sentiment_score, confidence_overall, analysed_at)
    SELECT session_id, engineer_code, team, region, languages, root_cause,
           sentiment_score, confidence_overall, analysed_at
    FROM pg_temp.feed_page WHERE engineer_code IS NOT NULL
"""


def apply_staged(conn: psycopg.Connection) -> None:
    """Apply the staged changes: the page's sessions are taken out of the projection as signed
    rows, each rollup gets the net deltas of all of them in one statement, rollup rows left with
    no session go, then the sessions' rows after the page are written. Call it in the
    transaction that staged them.

    Each statement is planned for the page at hand, never prepared: a prepared statement would
    keep the plan made for the staging tables' size at that time (psycopg prepares a statement
    on its fifth run), and pages range from one change to thousands."""
    conn.execute(_TAKE_OUT, prepare=False)
    emptied = sum(conn.execute(upsert, prepare=False).rowcount for upsert in _UPSERTS)
    if emptied:
        conn.execute(_DELETE_EMPTIED, prepare=False)
    conn.execute(_WRITE_PROJECTION, prepare=False)
