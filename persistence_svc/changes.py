"""The change feed: cursors over (txid, change_id) and pages of committed session changes."""

from __future__ import annotations

import re
from typing import Any

import psycopg

from persistence_svc import store
from shared.errors import BadRequest

_CURSOR = re.compile(r"^(\d{1,20})\.(\d{1,20})$")


def parse_cursor(text: str) -> tuple[int, int]:
    """`""` is the beginning; otherwise `<txid>.<change_id>` as a previous page handed out."""
    if not text:
        return (0, 0)
    match = _CURSOR.match(text)
    if not match:
        raise BadRequest(errors=[{"field": "after", "reason": "Not a cursor this feed issued."}])
    return int(match.group(1)), int(match.group(2))


def format_cursor(txid: int | str, change_id: int) -> str:
    return f"{txid}.{change_id}"


def page(conn: psycopg.Connection, after: tuple[int, int], limit: int) -> dict[str, Any]:
    """Up to `limit` changes after the cursor and the cursor to continue from."""
    rows = store.list_changes(conn, after, limit)
    items = [
        {
            "cursor": format_cursor(row["txid"], row["change_id"]),
            "operation": row["operation"],
            "session_id": row["session_id"],
            "changed_at": row["changed_at"],
            "session": row["session"],
        }
        for row in rows
    ]
    next_cursor = items[-1]["cursor"] if items else format_cursor(*after)
    return {"items": items, "next_cursor": next_cursor}
