"""Alert notifications reach a real HTTP receiver that fails at first: retried with backoff,
signed, with resolved notices too; without a receiver nothing is queued."""

import hashlib
import hmac
import json
import time

from flask import Flask, request

from tests.common.servers import serve
from tests.integration.trends.conftest import NOW, change
from trends_svc import alerts, store_outbox, webhooks
from trends_svc.app import create_app

SECRET = "webhook-test-secret"


def flaky_receiver(failures: int):
    """A receiver that answers 500 to its first `failures` calls, then 204; it keeps every call."""
    app = Flask("receiver")
    calls = []

    @app.post("/hook")
    def hook():
        calls.append({"body": request.get_data(), "headers": dict(request.headers)})
        return ("", 500) if len(calls) <= failures else ("", 204)

    return app, calls


def deliver_until(conn, url, predicate, timeout=10):
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:
        webhooks.deliver_due(conn, url=url, secret=SECRET, backoff=0.05, max_attempts=10)
        time.sleep(0.05)


def test_notifications_are_retried_signed_and_cover_resolution(app_config, conn, feed):
    receiver, calls = flaky_receiver(failures=2)
    with serve(receiver) as base:
        url = f"{base}/hook"
        app = create_app(
            {
                **app_config,
                "alert_webhook_url": url,
                "alert_webhook_secret": SECRET,
                "gateway_issuer": "https://cr.example",
            }
        )
        try:
            feed(*[change(days_ago=d) for d in (1, 2, 3)])
            with conn.transaction():
                alerts.reconcile(conn, NOW, notify_base=app.extensions["notify_base"])
            deliver_until(conn, url, lambda: len(calls) >= 3)
            assert len(calls) == 3  # two failures, then delivered
            delivered = calls[-1]
            body = json.loads(delivered["body"])
            assert body["event"] == "alert.opened"
            assert body["alert"]["rule"] == "recurring_issue"
            assert body["alert"]["engineer_code"] == "eng_a"
            assert body["dashboard_url"].startswith("https://cr.example/dashboard/alerts?alert=")
            expected = (
                "sha256=" + hmac.new(SECRET.encode(), delivered["body"], hashlib.sha256).hexdigest()
            )
            assert delivered["headers"]["X-Cr-Signature"] == expected
            row = conn.execute(
                "SELECT attempts, delivered_at, last_error FROM webhook_outbox"
            ).fetchone()
            assert (
                row["attempts"] == 3
                and row["delivered_at"] is not None
                and row["last_error"] is None
            )

            with conn.transaction():
                alerts.reconcile(
                    conn, NOW.replace(year=2027), notify_base=app.extensions["notify_base"]
                )
            deliver_until(conn, url, lambda: len(calls) >= 4)
            assert json.loads(calls[-1]["body"])["event"] == "alert.resolved"
            assert store_outbox.outbox_depth(conn) == 0
        finally:
            app.extensions["db_pool"].close()


def test_backoff_doubles_between_attempts(conn, feed):
    feed(*[change(days_ago=d) for d in (1, 2, 3)])
    with conn.transaction():
        alerts.reconcile(conn, NOW, notify_base="https://cr.example")
    for _ in range(3):
        conn.execute("UPDATE webhook_outbox SET next_attempt_at = now() - interval '1 second'")
        webhooks.deliver_due(
            conn, url="http://127.0.0.1:9/nowhere", secret=SECRET, backoff=10, max_attempts=10
        )
    row = conn.execute(
        "SELECT attempts, last_error, "
        "extract(epoch FROM next_attempt_at - now()) AS wait FROM webhook_outbox"
    ).fetchone()
    assert row["attempts"] == 3 and row["last_error"] == "ConnectionError"
    assert 30 < row["wait"] <= 40  # 10 × 2^2 seconds after the third failure


def test_no_receiver_no_queue(trends_app, conn, feed):
    assert trends_app.extensions["notify_base"] is None
    feed(*[change(days_ago=d) for d in (1, 2, 3)])
    with conn.transaction():
        alerts.reconcile(conn, NOW, notify_base=trends_app.extensions["notify_base"])
    assert store_outbox.outbox_depth(conn) == 0


def test_a_redirecting_receiver_is_not_followed(conn, feed):
    """A receiver URL that answers with a redirect (to an internal address, say) is a failed
    delivery: the alert never goes where the redirect points."""
    elsewhere, elsewhere_calls = flaky_receiver(failures=0)
    redirecting = Flask("redirecting")
    redirects = []
    feed(*[change(days_ago=d) for d in (1, 2, 3)])
    with conn.transaction():
        alerts.reconcile(conn, NOW, notify_base="https://cr.example")
    with serve(elsewhere) as target:

        @redirecting.post("/hook")
        def hook():
            redirects.append(request.get_data())
            return "", 307, {"Location": f"{target}/hook"}  # 307 keeps method and body

        with serve(redirecting) as base:
            counts = webhooks.deliver_due(
                conn, url=f"{base}/hook", secret=SECRET, backoff=10, max_attempts=10
            )
    assert counts == {"delivered": 0, "failed": 1}
    assert len(redirects) == 1 and elsewhere_calls == []
    row = conn.execute("SELECT delivered_at, last_error FROM webhook_outbox").fetchone()
    assert row["delivered_at"] is None and row["last_error"] == "HTTP 307"
