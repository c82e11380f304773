"""Following the persistence change feed: each page is applied to the projection and the rollups
in one transaction together with the cursor, so nothing is applied twice or lost. A page is
applied set-based, in the same few statements whatever its size (store_feed.apply_staged)."""

from __future__ import annotations

import json
import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus

from shared.api import FEED_PAGE_HEADER
from shared.http import ServiceClient
from trends_svc import store_feed

# The feed's largest page: per-page costs (HTTP, planning, commit) spread thin. Pages of 10,000
# applied 1.12-1.15x the import's rate where pages of 5,000 applied 0.93-0.98x (docs/scaling.md).
PAGE_SIZE = 10_000
CHANGES = "/api/v1/internal/changes"
# Of each session, what the projection keeps.
PAGE_PARAMS = {"limit": PAGE_SIZE, "fields": ",".join(store_feed.PROJECTED_FIELDS)}
LOCK_POLL_SECONDS = 0.05
log = logging.getLogger("cr.trends.projection")


@dataclass(frozen=True)
class Progress:
    """What one catch-up did: changes applied, whether it reached the end of the feed, and the
    feed's count of changes still after the cursor (`lag_changes`). `busy` when another applier
    held the feed for longer than the caller would wait."""

    applied: int
    caught_up: bool
    lag_changes: int
    busy: bool = False


def apply_page(conn: psycopg.Connection, items: list[dict[str, Any]]) -> None:
    """Apply a page of change-feed items, idempotently: each session ends as its last change in
    the page left it, and the rollups lose the old rows' share and gain the new ones'. Call it in
    a transaction."""
    if items:
        store_feed.stage_changes(conn, items)
        store_feed.apply_staged(conn)


def catch_up(
    conn: psycopg.Connection,
    feed: ServiceClient,
    *,
    max_pages: int = 1000,
    lock_wait: float | None = None,
) -> Progress:
    """Apply pages until the feed is empty or `max_pages` were applied; each page commits with
    its cursor. With `lock_wait` (seconds), give up when another applier holds the feed for
    longer than that instead of waiting for it.

    A page goes from the feed's answer to PostgreSQL as it came: the page's net rows in binary
    COPY format (store_feed.stage_rows), its summary from a header. Behind a full page the next
    one is read while this one is applied (persistence's work and this database's overlap); it
    is used only if the cursor is still where that page starts."""
    applied = 0
    lag = 0
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="feed-reader") as reader:
        ahead: tuple[str, Future] | None = None
        for number in range(1, max_pages + 1):
            own_transaction = conn.info.transaction_status == TransactionStatus.IDLE
            with conn.transaction():
                state = lock_feed(conn, lock_wait)
                if state is None:
                    return Progress(applied, caught_up=False, lag_changes=lag, busy=True)
                if own_transaction:
                    # A page's commit need not wait for its WAL to reach the disk: after a
                    # crash the cursor and the changes it covers are lost together and read
                    # again. (Inside a caller's transaction, e.g. an erasure's, it must wait.)
                    conn.execute("SET LOCAL synchronous_commit = off")
                if ahead is not None and ahead[0] == state["cursor"]:
                    page, rows = ahead[1].result()
                else:
                    page, rows = read_page_rows(feed, state["cursor"])
                ahead = None
                changes = page["changes"]
                if changes == PAGE_SIZE and number < max_pages:  # another page will be read
                    following = page["next_cursor"]
                    ahead = (following, reader.submit(read_page_rows, feed, following))
                if changes:
                    store_feed.stage_rows(conn, rows)
                    store_feed.apply_staged(conn)
                lag = page["head"]["pending"]
                if changes or lag != state["pending"]:
                    store_feed.save_feed(
                        conn,
                        page["next_cursor"],
                        changes,
                        applied_through=page["applied_through"],
                        pending=lag,
                        pending_since=page["head"]["pending_since"],
                    )
            applied += changes
            if changes < PAGE_SIZE:
                return Progress(applied, caught_up=lag == 0, lag_changes=lag)
    return Progress(applied, caught_up=False, lag_changes=lag)


def read_page(feed: ServiceClient, cursor: str) -> dict[str, Any]:
    """One page of the change feed after `cursor`, each change with the session's projected
    fields, decoded. Raises `requests.HTTPError` for a 4xx/5xx answer."""
    response = feed.request("GET", CHANGES, params={"after": cursor, **PAGE_PARAMS})
    response.raise_for_status()
    return response.json()


def read_page_rows(feed: ServiceClient, cursor: str) -> tuple[dict[str, Any], bytes]:
    """One page of the change feed after `cursor` as its summary (`changes`, `next_cursor`,
    `applied_through`, `head`) and its net rows in binary COPY format, one a session with the
    projected fields (store_feed.stage_rows). Raises `requests.HTTPError` for a 4xx/5xx answer."""
    response = feed.request(
        "GET", CHANGES, params={"after": cursor, **PAGE_PARAMS, "format": "rows"}
    )
    response.raise_for_status()
    return json.loads(response.headers[FEED_PAGE_HEADER]), response.content


def lock_feed(conn: psycopg.Connection, wait: float | None) -> dict | None:
    """The locked feed state; with `wait` seconds, None when it stays locked that long."""
    if wait is None:
        return store_feed.lock_feed(conn)
    deadline = time.monotonic() + wait
    while (state := store_feed.lock_feed(conn, wait=False)) is None:
        if time.monotonic() >= deadline:
            return None
        time.sleep(LOCK_POLL_SECONDS)
    return state
