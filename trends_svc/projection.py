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

from shared.http import ServiceClient
from trends_svc import store_feed

PAGE_SIZE = 5000  # the feed's largest page: per-page costs (HTTP, token, planning) spread thin
FEED_FIELDS = ",".join(store_feed.PROJECTED_FIELDS)  # of each session, what the projection keeps
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
        store_feed.stage_page(conn, json.dumps({"items": items}, default=str))
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

    A page goes from the feed's answer to PostgreSQL as text (store_feed.stage_page reads it).
    Behind a full page the next one is read while this one is applied (persistence's work and
    this database's overlap); it is used only if the cursor is still where that page starts."""
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
                    text = ahead[1].result()
                else:
                    text = read_page_text(feed, state["cursor"])
                page = store_feed.stage_page(conn, text)
                ahead = None
                changes = page["changes"]
                if changes == PAGE_SIZE and number < max_pages:  # another page will be read
                    following = page["next_cursor"]
                    ahead = (following, reader.submit(read_page_text, feed, following))
                if changes:
                    store_feed.apply_staged(conn)
                lag = page["pending"]
                if changes or lag != state["pending"]:
                    store_feed.save_feed(
                        conn,
                        page["next_cursor"],
                        changes,
                        applied_through=page["applied_through"],
                        pending=lag,
                        pending_since=page["pending_since"],
                    )
            applied += changes
            if changes < PAGE_SIZE:
                return Progress(applied, caught_up=lag == 0, lag_changes=lag)
    return Progress(applied, caught_up=False, lag_changes=lag)


def read_page(feed: ServiceClient, cursor: str) -> dict[str, Any]:
    """One page of the change feed after `cursor`, decoded."""
    return json.loads(read_page_text(feed, cursor))


def read_page_text(feed: ServiceClient, cursor: str) -> str:
    """One page of the change feed after `cursor` as its JSON text; each session carries only
    the fields the projection keeps. Raises `requests.HTTPError` for a 4xx/5xx answer."""
    response = feed.request(
        "GET",
        "/api/v1/internal/changes",
        params={"after": cursor, "limit": PAGE_SIZE, "fields": FEED_FIELDS},
    )
    response.raise_for_status()
    return response.content.decode()  # JSON is UTF-8 (requests would guess the charset)


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
