"""POST /trends/evaluate: catch up with the change feed as far as it is quick, evaluate every rule
on what is projected, and say how far that is. Never waits long for the worker: when it holds the
feed or is evaluating, the worker is woken (LISTEN/NOTIFY) and the answer says where things stand."""

from __future__ import annotations

import time
from typing import Any

import psycopg
import requests

from shared.http import ServiceClient
from trends_svc import alerts, projection, store_alerts, store_feed

LOCK_WAIT_SECONDS = 1.0  # the worker holds the feed for one page, the evaluation for one pass
MAX_PAGES = 4  # 20,000 changes at most before evaluating; the worker applies the rest


def evaluate_now(
    conn: psycopg.Connection, feed: ServiceClient, *, notify_base: str | None
) -> dict[str, Any]:
    """Catch up (at most MAX_PAGES pages, waiting at most LOCK_WAIT_SECONDS for the feed), then
    evaluate every rule unless another evaluation runs past LOCK_WAIT_SECONDS. The answer has the
    counts when it evaluated (`evaluated`), the changes applied, whether the projection reached
    the end of the feed (`caught_up`), the changes still behind (`lag_changes`) and the time of
    the newest change projected (`projected_through`). When the feed does not answer, it evaluates
    what is projected (503 only when this database is down)."""
    try:
        progress = projection.catch_up(conn, feed, max_pages=MAX_PAGES, lock_wait=LOCK_WAIT_SECONDS)
    except requests.RequestException:
        # The feed did not answer (persistence down, or a 503): evaluate what is projected;
        # the answer says how far that is (pages applied before the failure are kept).
        progress = projection.Progress(0, caught_up=False, lag_changes=0)
    counts: dict[str, int] | None = None
    with conn.transaction():
        if wait_for_evaluation(conn):
            counts = alerts.reconcile(conn, notify_base=notify_base)
        if counts is None or not progress.caught_up:
            store_feed.wake_worker(conn)  # it applies the rest and evaluates again
    state = store_feed.feed_state(conn)
    return {
        **(counts or {}),
        "evaluated": counts is not None,
        "applied_changes": progress.applied,
        "caught_up": progress.caught_up,
        "lag_changes": state["pending"],
        "projected_through": state["applied_through"],
    }


def wait_for_evaluation(conn: psycopg.Connection) -> bool:
    """Take the evaluation's place within LOCK_WAIT_SECONDS (held to the end of the transaction);
    False when another evaluation runs longer than that."""
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    while not store_alerts.try_lock_evaluation(conn):
        if time.monotonic() >= deadline:
            return False
        time.sleep(projection.LOCK_POLL_SECONDS)
    return True
