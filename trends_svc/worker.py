"""The trends worker: follows the change feed, evaluates the rules shortly after new data and on
a timer. Several replicas may run; a PostgreSQL advisory lock keeps exactly one active."""

from __future__ import annotations

import logging
import signal
import threading
import time
from dataclasses import replace

import psycopg
from prometheus_client import start_http_server

from shared import db, metrics
from trends_svc import alerts, notifications, projection, store_feed, webhooks
from trends_svc.app import create_app

LOCK_KEY = 0x7C3E_7E4D  # "the trends worker" in pg_advisory_lock's key space
POLL_SECONDS = 1.0
DEBOUNCE_SECONDS = 0.5
TIMER_SECONDS = 60.0
# While changes keep coming (an import lands in chunks, and the worker catches up with each), the
# rules are evaluated at most once per this many seconds: every evaluation reads all the rollups
# and competes with the page apply for the CPU. A POST /trends/evaluate is answered at the next
# catch-up.
EVALUATION_SPACING_SECONDS = 5.0
PAGES_PER_ROUND = 10  # 50,000 changes between two looks at the stop flag, wake-ups, metrics
log = logging.getLogger("cr.trends.worker")


class Worker:
    """One loop: hold the lock, apply the feed, evaluate when something changed or the timer ran."""

    def __init__(self, app) -> None:
        self.app = app
        self.stop = threading.Event()

    def run(self) -> None:
        with self.app.app_context():
            while not self.stop.is_set():
                try:
                    with db.pool().connection() as lock_conn:
                        lock_conn.autocommit = True
                        if not lock_conn.execute(
                            "SELECT pg_try_advisory_lock(%s) AS held", [LOCK_KEY]
                        ).fetchone()["held"]:
                            self.stop.wait(POLL_SECONDS * 5)  # another replica is active
                            continue
                        try:
                            store_feed.listen_for_wake_ups(lock_conn)
                            self.active_loop(lock_conn)
                        finally:
                            lock_conn.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])
                except (psycopg.Error, OSError, Exception):
                    log.exception("worker cycle failed; retrying")
                    self.stop.wait(POLL_SECONDS * 2)

    def deliver_loop(self) -> None:
        """Send queued notifications in their own thread: a slow receiver never delays the feed."""
        settings = self.app.extensions["settings"]
        with self.app.app_context():
            while not self.stop.is_set():
                try:
                    with db.pool().connection() as conn:
                        webhooks.deliver_due(
                            conn,
                            url=settings.alert_webhook_url,
                            secret=self.app.extensions["webhook_secret"],
                            backoff=settings.webhook_backoff_seconds,
                            max_attempts=settings.webhook_max_attempts,
                        )
                except Exception:
                    log.exception("webhook delivery cycle failed")
                self.stop.wait(POLL_SECONDS)

    def active_loop(self, listener: psycopg.Connection) -> None:
        """Apply the feed a few pages at a time (each its own short transaction, the lag published
        after each round); ask for an evaluation once caught up after new data, when woken by
        POST /trends/evaluate, or when the timer is due (then on what is projected so far). The
        rules are evaluated in a thread of their own (`Evaluator`): the feed never waits for
        them, however many alerts an evaluation opens."""
        evaluator = Evaluator(self.app, self.stop)
        thread = threading.Thread(target=evaluator.run, name="evaluator", daemon=True)
        thread.start()
        woken = False
        unevaluated = 0  # changes applied since the last evaluation was asked for
        try:
            while not self.stop.is_set():
                with db.pool().connection() as conn:
                    progress = self.catch_up(conn)
                    if progress.applied and progress.caught_up:
                        self.stop.wait(DEBOUNCE_SECONDS)  # let a burst of writes land first
                        late = self.catch_up(conn)
                        progress = replace(late, applied=progress.applied + late.applied)
                unevaluated += progress.applied
                if evaluation_due(
                    since_last=time.monotonic() - evaluator.asked_at,
                    caught_up=progress.caught_up,
                    woken=woken,
                    unevaluated=unevaluated,
                ):
                    evaluator.ask(unevaluated)
                    woken, unevaluated = False, 0
                if progress.caught_up:  # otherwise straight on with the next pages
                    woken = self.wait_for_wake_up(listener) or woken
                else:
                    woken = self.wait_for_wake_up(listener, timeout=0) or woken
        finally:
            evaluator.stopped.set()
            thread.join()

    def catch_up(self, conn: psycopg.Connection) -> projection.Progress:
        """A few pages of the feed; the applied count and the lag go to the metrics."""
        progress = projection.catch_up(conn, self.app.extensions["feed"], max_pages=PAGES_PER_ROUND)
        metrics.FEED_APPLIED.inc(progress.applied)
        if progress.caught_up:
            metrics.FEED_CAUGHT_UP.set_to_current_time()
        state = store_feed.feed_state(conn)
        metrics.record_feed_lag(state["pending"], state["lag_seconds"])
        return progress

    def wait_for_wake_up(self, listener: psycopg.Connection, timeout: float = POLL_SECONDS) -> bool:
        """Wait up to `timeout` for wake_worker's notification; True when one came."""
        woken = False
        for _ in listener.notifies(timeout=timeout, stop_after=1):
            woken = True
        return woken


class Evaluator:
    """Evaluates every rule when asked, in its own thread and transaction, beside the feed. Asks
    that come while it evaluates make one more evaluation right after (never a queue of them)."""

    def __init__(self, app, stop: threading.Event) -> None:
        self.app = app
        self.stop = stop
        self.stopped = threading.Event()
        self.asked = threading.Event()
        self.asked_at = -TIMER_SECONDS  # time.monotonic() of the last ask
        self.applied = 0  # changes applied since the last evaluation started

    def ask(self, applied: int) -> None:
        self.asked_at = time.monotonic()
        self.applied += applied
        self.asked.set()

    def run(self) -> None:
        with self.app.app_context():
            while not (self.stop.is_set() or self.stopped.is_set()):
                if not self.asked.wait(POLL_SECONDS):
                    continue
                self.asked.clear()
                applied, self.applied = self.applied, 0
                try:
                    with db.pool().connection() as conn, conn.transaction():
                        counts = alerts.reconcile(
                            conn, notify_base=self.app.extensions["notify_base"]
                        )
                    log.info("evaluated", extra={"applied": applied, **counts})
                except Exception:
                    log.exception("evaluation failed; retrying")
                    self.asked.set()
                    self.stop.wait(POLL_SECONDS * 2)


def evaluation_due(*, since_last: float, caught_up: bool, woken: bool, unevaluated: int) -> bool:
    """Whether the worker evaluates the rules now: on the timer whatever the feed's state (on what
    is projected so far); otherwise only once caught up, when asked to or after new changes, and
    no sooner than EVALUATION_SPACING_SECONDS after the last evaluation."""
    if since_last >= TIMER_SECONDS:
        return True
    return caught_up and (woken or unevaluated > 0) and since_last >= EVALUATION_SPACING_SECONDS


def main() -> None:
    app = create_app()
    worker = Worker(app)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: worker.stop.set())
    port = app.extensions["settings"].trends_worker_metrics_port
    if port:  # the worker has no HTTP API: its metrics get a port of their own
        start_http_server(port, addr=app.extensions["settings"].trends_worker_metrics_addr)
    log.info("trends worker started")
    if app.extensions["settings"].alert_webhook_url:
        threading.Thread(target=worker.deliver_loop, name="webhooks", daemon=True).start()
    # Routes, grouping, repeats, digests and their delivery: a thread of its own on every replica.
    threading.Thread(
        target=notifications.run, args=(app, worker.stop), name="notifications", daemon=True
    ).start()
    worker.run()
    app.extensions["db_pool"].close()


if __name__ == "__main__":
    main()
