"""The gateway's in-memory rate-limit storage: exact limits, no thread started per hit, and
expired entries pruned on its own thread."""

import threading
import time

from flask import Flask
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from gateway.limits import PrunedMemoryStorage, register_rate_limits


def test_the_moving_window_is_exact():
    limiter = MovingWindowRateLimiter(storage_from_string("cr-memory://"))
    limit = parse("3 per 1 second")
    assert [limiter.hit(limit, "caller:a") for _ in range(4)] == [True, True, True, False]
    assert limiter.hit(limit, "caller:b")  # another caller has a window of its own
    time.sleep(1.05)
    assert limiter.hit(limit, "caller:a")


def test_hits_spaced_apart_start_no_threads(monkeypatch):
    limiter = MovingWindowRateLimiter(storage_from_string("cr-memory://"))
    limit = parse("1000 per minute")
    started = []
    real_start = threading.Thread.start
    monkeypatch.setattr(
        threading.Thread, "start", lambda thread: (started.append(thread), real_start(thread))[1]
    )
    for _ in range(20):  # the stock storage starts a timer thread for each of these
        limiter.hit(limit, "caller:a")
        time.sleep(0.015)
    assert started == []


def test_expired_entries_are_pruned_by_the_storage_thread():
    storage = storage_from_string("cr-memory://")
    limiter = MovingWindowRateLimiter(storage)
    limiter.hit(parse("5 per 1 second"), "caller:a")
    assert any(storage.events.values())
    deadline = time.monotonic() + 3 * PrunedMemoryStorage.PRUNE_SECONDS + 1
    while any(storage.events.values()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(storage.events.values())


def test_the_gateway_uses_it_without_redis():
    app = Flask("limits-test")
    app.extensions["settings"] = type(
        "S",
        (),
        {
            "redis_url": "",
            "rate_limit_login": "5 per minute",
            "rate_limit_token": "5 per minute",
            "rate_limit_api": "5 per minute",
            "rate_limit_lookup": "5 per minute",
        },
    )()
    for endpoint in (
        "login.login_page",
        "oauth.issue_token",
        "erasure.erase_engineer",
        "proxy.forward",
    ):
        app.view_functions[endpoint] = lambda: ""
    assert isinstance(register_rate_limits(app).storage, PrunedMemoryStorage)
