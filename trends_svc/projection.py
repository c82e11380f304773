"""Following the persistence change feed: each page is applied to the projection and the rollups
in one transaction together with the cursor, so nothing is applied twice or lost."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any

import psycopg

from shared.http import ServiceClient
from trends_svc import store

PAGE_SIZE = 1000
FIELDS = (
    "engineer_code",
    "team",
    "region",
    "languages",
    "root_cause",
    "sentiment_score",
    "confidence_overall",
    "analysed_at",
)
log = logging.getLogger("cr.trends.projection")


def projected_row(session: dict[str, Any]) -> dict[str, Any]:
    """The fields the trends service keeps of a session from the feed."""
    row = {name: session[name] for name in FIELDS}
    row["session_id"] = uuid.UUID(str(session["session_id"]))
    row["analysed_at"] = datetime.fromisoformat(session["analysed_at"])
    return row


def apply_change(conn: psycopg.Connection, change: dict[str, Any]) -> None:
    """Apply one change idempotently: rollups lose the old row's share and gain the new one's."""
    session_id = uuid.UUID(str(change["session_id"]))
    old = store.get_projected(conn, session_id)
    session = change.get("session")
    if old is not None:
        store.adjust_rollups(conn, old, -1)
    if change["operation"] == "delete" or session is None:
        if old is not None:
            store.delete_projected(conn, session_id)
        return
    row = projected_row(session)
    store.upsert_projected(conn, row)
    store.adjust_rollups(conn, row, +1)


def catch_up(conn: psycopg.Connection, feed: ServiceClient, *, max_pages: int = 1000) -> int:
    """Apply pages until the feed is empty; each page commits with its cursor. Returns how many
    changes were applied."""
    applied = 0
    for _ in range(max_pages):
        with conn.transaction():
            state = store.lock_feed(conn)
            page = feed.get_json(
                "/api/v1/internal/changes", params={"after": state["cursor"], "limit": PAGE_SIZE}
            )
            for change in page["items"]:
                apply_change(conn, change)
            if page["items"]:
                store.save_feed(conn, page["next_cursor"], len(page["items"]))
        applied += len(page["items"])
        if len(page["items"]) < PAGE_SIZE:
            return applied
    return applied
