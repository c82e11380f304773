"""SQL of the change feed: a page of committed session changes, built by PostgreSQL either as one
JSON text or as the page's net rows in binary COPY format (a change_log row holds the sessions of
one statement; `position` is one's place in it)."""

from __future__ import annotations

from collections.abc import Sequence

import psycopg
from psycopg import sql

from persistence_svc.store import SESSION_COLUMNS

# What a feed item's `session` can hold: the stored row without its content hash.
SESSION_FIELDS = (
    *(name for name in SESSION_COLUMNS if name != "content_hash"),
    "created_at",
    "updated_at",
)

# Each session of a page is read by primary key (the OFFSET 0 keeps the planner from turning
# the lookups into a join): planned as a join, with the page's size unknown and the table's
# statistics behind a bulk import, it became a scan of every session for every page.
# One snapshot: the page, the cursor after it and the feed's head after that cursor (one
# statement for JSON; for rows, two statements in one repeatable-read transaction). Only
# transactions older than every transaction still running are read, so a change that commits
# later can never sort before a cursor already handed out. A log row is sliced from the cursor's
# position on (an import's row holds thousands of sessions) rather than unnested whole and
# filtered; slice bounds are int4, so they are clamped (a two-part cursor's position, the largest
# bigint, leaves nothing of its row).
_PAGE_CTES = """
WITH after AS (
    SELECT %(txid)s::text::xid8 AS txid, %(change_id)s::bigint AS change_id,
           %(position)s::bigint AS position
), logged AS (
    -- each log row holds one change or more: `limit` + 1 rows fill a page
    SELECT c.txid, c.change_id, c.operation, c.changed_at,
           coalesce(c.session_ids, ARRAY[c.session_id]) AS ids,
           CASE WHEN (c.txid, c.change_id) = (a.txid, a.change_id)
                THEN least(a.position, 2147483647) ELSE 0 END AS skipped
    FROM change_log c, after a
    WHERE (c.txid, c.change_id) >= (a.txid, a.change_id)
      AND c.txid < pg_snapshot_xmin(pg_current_snapshot())
    ORDER BY c.txid, c.change_id
    LIMIT %(limit)s + 1
), page AS (
    SELECT l.txid, l.change_id, l.skipped + u.n AS position, l.operation, u.session_id,
           l.changed_at
    FROM logged l
    CROSS JOIN LATERAL unnest(
        l.ids[least(l.skipped + 1, 2147483647)::int : least(l.skipped + %(limit)s, 2147483647)::int]
    ) WITH ORDINALITY AS u(session_id, n)
    ORDER BY l.txid, l.change_id, position
    LIMIT %(limit)s
), page_end AS (
    SELECT coalesce(last.txid, a.txid) AS txid, coalesce(last.change_id, a.change_id) AS change_id,
           coalesce(last.position, a.position) AS position,
           last.txid::text || '.' || last.change_id || '.' || last.position AS cursor
    FROM after a
    LEFT JOIN (
        SELECT txid, change_id, position FROM page
        ORDER BY txid DESC, change_id DESC, position DESC LIMIT 1
    ) last ON true
), following AS (
    -- the head: changes after the page's end, over at most `scan_rows` log rows
    SELECT c.changed_at,
           CASE WHEN (c.txid, c.change_id) = (e.txid, e.change_id)
                THEN greatest(coalesce(cardinality(c.session_ids), 1) - e.position, 0)
                ELSE coalesce(cardinality(c.session_ids), 1) END AS remaining
    FROM change_log c, page_end e
    WHERE (c.txid, c.change_id) >= (e.txid, e.change_id)
      AND c.txid < pg_snapshot_xmin(pg_current_snapshot())
    ORDER BY c.txid, c.change_id
    LIMIT %(scan_rows)s
)
"""

# The feed's head after the page: what follows it, over at most `scan_rows` log rows.
_HEAD = """(
        SELECT json_build_object(
            'pending', coalesce(sum(remaining), 0)::bigint,
            'pending_since', min(changed_at) FILTER (WHERE remaining > 0),
            'held_back_from', (
                SELECT min(txid)::text FROM change_log
                WHERE txid >= pg_snapshot_xmin(pg_current_snapshot())
            ),
            'committed_below', pg_snapshot_xmax(pg_current_snapshot())::text
        )
        FROM following
    )"""

_PAGE_JSON = (
    _PAGE_CTES
    + """SELECT json_build_object(
    'items', coalesce((
        SELECT json_agg(
            json_build_object(
                'cursor', p.txid::text || '.' || p.change_id || '.' || p.position,
                'operation', p.operation,
                'session_id', p.session_id,
                'changed_at', p.changed_at,
                'session', s.session
            ) ORDER BY p.txid, p.change_id, p.position
        )
        FROM page p
        LEFT JOIN LATERAL (
            SELECT to_json(r) AS session
            FROM (SELECT {fields} FROM sessions WHERE sessions.session_id = p.session_id
                  OFFSET 0) r
        ) s ON p.operation <> 'delete'
    ), '[]'::json),
    'next_cursor', coalesce((SELECT cursor FROM page_end), %(after)s),
    'head', """
    + _HEAD
    + """
)::text AS page
"""
)


# The page's net rows: each session the page names once, as its last change in the page left it
# (its fields as stored now; all null when that change deleted it or it was erased since).
_PAGE_ROWS = (
    _PAGE_CTES
    + """SELECT last.session_id, {fields}
FROM (
    SELECT DISTINCT ON (session_id) session_id, operation FROM page
    ORDER BY session_id, txid DESC, change_id DESC, position DESC
) last
LEFT JOIN LATERAL (
    SELECT * FROM sessions WHERE sessions.session_id = last.session_id OFFSET 0
) s ON last.operation <> 'delete'
"""
)

# What a client of the rows needs besides them: the page's count of changes, the cursor after
# it, its last change's time and the head.
_PAGE_SUMMARY = (
    _PAGE_CTES
    + """SELECT json_build_object(
    'changes', (SELECT count(*) FROM page),
    'next_cursor', coalesce((SELECT cursor FROM page_end), %(after)s),
    'applied_through', (
        SELECT changed_at FROM page ORDER BY txid DESC, change_id DESC, position DESC LIMIT 1
    ),
    'head', """
    + _HEAD
    + """
)::text AS summary
"""
)


def _params(after: tuple[int, int, int], after_text: str, limit: int, scan_rows: int) -> dict:
    return {
        "txid": str(after[0]),
        "change_id": after[1],
        "position": after[2],
        "after": after_text,
        "limit": limit,
        "scan_rows": scan_rows,
    }


def page_json(
    conn: psycopg.Connection,
    after: tuple[int, int, int],
    after_text: str,
    *,
    limit: int,
    scan_rows: int,
    fields: Sequence[str] = SESSION_FIELDS,
) -> str:
    """The feed's answer after the cursor `after` (`after_text` as the feed writes it) as JSON
    text: `items` (up to `limit` changes, oldest first, each with the session's `fields` as it is
    now, null for a delete or a session erased since), `next_cursor` and `head` (`pending`
    changes after it counted over at most `scan_rows` log rows, `pending_since`; and, as
    transaction ids, `held_back_from`: the oldest transaction whose committed changes the feed
    still holds back behind an older one running (null when none), and `committed_below`: every
    transaction that had committed when the page was read is below it). Times are in UTC. Call
    it in a transaction."""
    conn.execute("SET LOCAL TimeZone = 'UTC'")  # how the JSON writes times
    query = sql.SQL(_PAGE_JSON).format(fields=sql.SQL(", ").join(map(sql.Identifier, fields)))
    return conn.execute(
        query,
        _params(after, after_text, limit, scan_rows),
        # Planned for its own cursor every time, never prepared: after five runs psycopg
        # prepares a statement, and PostgreSQL may then keep a generic plan, blind to where the
        # cursor stands. Behind a bulk delete and during an import that plan ran past the 15 s
        # statement timeout, while the same query planned for its parameters took 0.27 s.
        prepare=False,
    ).fetchone()["page"]


def page_rows(
    conn: psycopg.Connection,
    after: tuple[int, int, int],
    after_text: str,
    *,
    limit: int,
    scan_rows: int,
    fields: Sequence[str] = SESSION_FIELDS,
) -> tuple[str, bytes]:
    """The same page as `page_json`, as its net rows and a summary: the rows in PostgreSQL's binary
    COPY format, one a session the page names (`session_id`, then `fields` in their order; the
    fields all null when the page ends with the session deleted or it was erased since), and the
    summary as JSON text (`changes`, `next_cursor`, `applied_through`: the last change's time,
    and `head` as in `page_json`). Call it at the start of a transaction: both are read in one
    repeatable-read snapshot."""
    conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
    conn.execute("SET LOCAL TimeZone = 'UTC'")  # how the summary writes times
    params = _params(after, after_text, limit, scan_rows)
    # Never prepared, like page_json's statement (planned for each cursor).
    summary = conn.execute(_PAGE_SUMMARY, params, prepare=False).fetchone()["summary"]
    query = sql.SQL(_PAGE_ROWS).format(
        fields=sql.SQL(", ").join(sql.Identifier("s", name) for name in fields)
    )
    rows = bytearray()
    with (
        conn.cursor() as cursor,
        cursor.copy(sql.SQL("COPY ({}) TO STDOUT (FORMAT binary)").format(query), params) as copy,
    ):
        for block in copy:
            rows += block
    return summary, bytes(rows)
