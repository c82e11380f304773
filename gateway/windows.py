"""Moving-window counters kept in this process: the gateway's rate limits when it runs alone (no
REDIS_URL), with the same `hit`/`test`/`get_window_stats` as the `limits` library's
MovingWindowRateLimiter, which counts in Redis otherwise."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from limits import RateLimitItem, WindowStats

# How often keys whose every event has expired are dropped (a caller seen once is not kept).
SWEEP_SECONDS = 60.0


class MovingWindows:
    """Each key's event times in a deque, oldest first; events older than the limit's window are
    dropped when the key is next counted or looked at. Nothing runs between calls: limits' own
    memory storage starts a timer thread on every call to expire events, which cost the gateway
    more CPU per API call than the call's token check (docs/benchmarks.md)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._events: dict[str, tuple[float, deque[float]]] = {}
        self._lock = threading.Lock()
        self._swept_at = clock()

    def __len__(self) -> int:
        """How many keys are kept: those with events in their window, or looked at since the
        last sweep."""
        return len(self._events)

    def hit(self, item: RateLimitItem, *identifiers: str, cost: int = 1) -> bool:
        """Count `cost` events if the window has room for all of them; False (nothing counted)
        when it has not."""
        now = self.clock()
        with self._lock:
            events = self._window(item, identifiers, now)
            if len(events) + cost > item.amount:
                return False
            events.extend([now] * cost)
            if now - self._swept_at >= SWEEP_SECONDS:
                self._sweep(now)
            return True

    def test(self, item: RateLimitItem, *identifiers: str, cost: int = 1) -> bool:
        """True when `cost` more events would fit in the window now (nothing is counted)."""
        with self._lock:
            return len(self._window(item, identifiers, self.clock())) + cost <= item.amount

    def get_window_stats(self, item: RateLimitItem, *identifiers: str) -> WindowStats:
        """When the oldest event in the window leaves it (a window without events: one window from
        now, as limits answers), and how many events fit now."""
        now = self.clock()
        with self._lock:
            events = self._window(item, identifiers, now)
            start = events[0] if events else now
            return WindowStats(start + item.get_expiry(), item.amount - len(events))

    def _window(self, item: RateLimitItem, identifiers: tuple[str, ...], now: float) -> deque:
        key = item.key_for(*identifiers)
        expiry = item.get_expiry()
        _, events = self._events.setdefault(key, (expiry, deque()))
        while events and events[0] <= now - expiry:
            events.popleft()
        return events

    def _sweep(self, now: float) -> None:
        self._events = {
            key: (expiry, events)
            for key, (expiry, events) in self._events.items()
            if events and events[-1] > now - expiry
        }
        self._swept_at = now
