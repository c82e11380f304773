"""The change feed: cursors over (txid, change_id, position) and pages of committed session
changes (a change_log row holds the sessions of one statement; `position` is one's place in it)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import psycopg

from persistence_svc import store_changes
from shared.errors import BadRequest

_CURSOR = re.compile(r"^(\d{1,20})\.(\d{1,20})(?:\.(\d{1,10}))?$")
# The two-part cursors of earlier releases each stood for a log row of one session, read whole.
WHOLE_ROW = 2**63 - 1
# The head of a page counts the changes after it over this many log rows at most: one page's cost
# stays bounded behind a backlog of single writes (one log row each).
HEAD_SCAN_ROWS = 10_000


def parse_cursor(text: str) -> tuple[int, int, int]:
    """`""` is the beginning; otherwise `<txid>.<change_id>.<position>` as a previous page handed
    out (`<txid>.<change_id>`, as earlier releases handed out, is the end of that log row)."""
    if not text:
        return (0, 0, 0)
    match = _CURSOR.match(text)
    if not match:
        raise BadRequest(errors=[{"field": "after", "reason": "Not a cursor this feed issued."}])
    position = int(match.group(3)) if match.group(3) is not None else WHOLE_ROW
    return int(match.group(1)), int(match.group(2)), position


def format_cursor(txid: int | str, change_id: int, position: int) -> str:
    if position == WHOLE_ROW:
        return f"{txid}.{change_id}"
    return f"{txid}.{change_id}.{position}"


def page(
    conn: psycopg.Connection,
    after: tuple[int, int, int],
    limit: int,
    fields: Sequence[str] | None = None,
) -> str:
    """Up to `limit` changes after the cursor, the cursor to continue from, and the feed's head
    after it: `pending` changes committed after that cursor (counted over at most
    HEAD_SCAN_ROWS log rows) and `pending_since`, when the oldest of them was written. Each
    item's session holds `fields` only when given. The answer's JSON text, built by PostgreSQL:
    no item passes through Python (a page of thousands of changes cost more in Python, dumping
    and encoding, than in PostgreSQL)."""
    return store_changes.page_json(conn, **_page_args(after, limit, fields))


def page_rows(
    conn: psycopg.Connection,
    after: tuple[int, int, int],
    limit: int,
    fields: Sequence[str] | None = None,
) -> tuple[str, bytes]:
    """The page `page` would answer as its net rows in PostgreSQL's binary COPY format (one a
    session it names, as its last change left it) and a summary as JSON text: what a follower
    that keeps only each session's latest state copies straight into its own tables, with no
    JSON to read per change (store_changes.page_rows)."""
    return store_changes.page_rows(conn, **_page_args(after, limit, fields))


def _page_args(
    after: tuple[int, int, int], limit: int, fields: Sequence[str] | None
) -> dict[str, Any]:
    return {
        "after": after,
        "after_text": format_cursor(*after),
        "limit": limit,
        "scan_rows": HEAD_SCAN_ROWS,
        "fields": fields or store_changes.SESSION_FIELDS,
    }
