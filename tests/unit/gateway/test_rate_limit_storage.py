"""The gateway's rate-limit counters: moving windows in this process, exact counts, budgets
that are looked at without being spent, and keys that hold neither an address nor what was typed."""

import threading

from flask import Flask
from limits import parse

from gateway.limits import RateLimits, register_rate_limits
from gateway.windows import SWEEP_SECONDS, MovingWindows
from shared.config import load_settings

SECRET = b"k" * 32


def counters(**limits: str) -> RateLimits:
    return RateLimits("memory://", SECRET, limits)


def test_spending_is_exact_per_key():
    limits = counters(api="3 per minute")
    first, second = limits.key("caller-a"), limits.key("caller-b")
    assert [limits.spend("api", first) for _ in range(3)] == [None, None, None]
    wait = limits.spend("api", first)
    assert wait is not None and 1 <= wait <= 60
    assert limits.spend("api", second) is None  # another caller has a window of its own


def test_a_budget_is_looked_at_without_being_spent():
    limits = counters(token="2 per minute")
    key = limits.key("198.51.100.7")
    assert [limits.wait("token", key) for _ in range(10)] == [None] * 10
    limits.count("token", key)
    assert limits.wait("token", key) is None
    limits.count("token", key)
    wait = limits.wait("token", key)
    assert wait is not None and 1 <= wait <= 60


def test_keys_are_keyed_hashes_of_fixed_length():
    limits = counters()
    typed = "Anna Müller 12345678 " * 500
    key = limits.key("198.51.100.7", typed)
    assert len(key) == 32 and "198" not in key and "Anna" not in key
    assert key == limits.key("198.51.100.7", typed)  # the same on every replica
    assert key != limits.key("198.51.100.7", typed + "x")
    assert key != RateLimits("memory://", b"other", {}).key("198.51.100.7", typed)
    assert limits.key("a", "bc") != limits.key("ab", "c")


def test_the_gateway_counts_in_memory_without_redis(tmp_path):
    app = Flask("limits-test")
    app.extensions["settings"] = load_settings(
        {}, data_dir=tmp_path, redis_url="", session_secret="s" * 32
    )
    for endpoint in ("oauth.issue_token", "oauth.revoke_token"):
        app.view_functions[endpoint] = lambda: ""
    limits = register_rate_limits(app)
    assert isinstance(limits.windows, MovingWindows)
    assert app.extensions["rate_limits"] is limits


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def test_events_leave_the_window_when_it_has_moved_past_them():
    clock = Clock()
    windows, limit = MovingWindows(clock), parse("2 per minute")
    assert windows.hit(limit, "k") and not windows.test(limit, "k", cost=2)
    clock.now += 30
    assert windows.hit(limit, "k")
    assert not windows.hit(limit, "k")  # refused, and not counted
    assert windows.get_window_stats(limit, "k") == (1_060.0, 0)
    clock.now += 30  # the first event is 60 s old: out of the window
    assert windows.get_window_stats(limit, "k") == (1_090.0, 1)
    assert windows.hit(limit, "k")
    assert not windows.hit(limit, "other", cost=3)  # more than the limit at once: nothing counted
    assert windows.test(limit, "other", cost=2)


def test_counting_starts_no_thread_and_forgets_callers_whose_events_expired():
    clock = Clock()
    windows, limit = MovingWindows(clock), parse("5 per second")
    threads = threading.active_count()
    for caller in range(100):
        assert windows.hit(limit, str(caller))
    assert threading.active_count() == threads
    clock.now += SWEEP_SECONDS
    assert windows.hit(limit, "latest")
    assert windows.get_window_stats(limit, "0") == (clock.now + 1, 5)
    assert len(windows) == 2  # "latest", and "0" just looked at
