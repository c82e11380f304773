"""A small closed-loop HTTP load generator: N keep-alive connections in worker processes."""

from __future__ import annotations

import http.client
import multiprocessing
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

# A request factory returns (method, path, body bytes or None, headers) for call number i.
RequestFactory = Callable[[int], tuple[str, str, bytes | None, dict[str, str]]]


@dataclass
class LoadResult:
    """Throughput and latency of one load run."""

    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, pct: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies_ms) if self.latencies_ms else float("nan")


def _worker(
    base_url: str,
    factory: RequestFactory,
    threads: int,
    duration: float,
    offset: int,
    queue: multiprocessing.Queue,
) -> None:
    parts = urlsplit(base_url)
    stop_at = time.perf_counter() + duration
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()

    def loop(index: int) -> None:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        counter = offset + index * 10_000_000
        local: list[float] = []
        local_errors = 0
        while time.perf_counter() < stop_at:
            counter += 1
            method, path, body, headers = factory(counter)
            started = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                if response.status >= 400:
                    local_errors += 1
            except (OSError, http.client.HTTPException):
                local_errors += 1
                conn.close()
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
                continue
            local.append((time.perf_counter() - started) * 1000)
        with lock:
            latencies.extend(local)
            errors[0] += local_errors

    workers = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    queue.put((latencies, errors[0]))


def run_load(
    base_url: str, factory: RequestFactory, *, concurrency: int, duration: float, processes: int = 2
) -> LoadResult:
    """Keep `concurrency` requests in flight for `duration` seconds; count answers and latencies."""
    processes = max(1, min(processes, concurrency))
    queue: multiprocessing.Queue = multiprocessing.Queue()
    spread = [
        concurrency // processes + (1 if i < concurrency % processes else 0)
        for i in range(processes)
    ]
    ctx = multiprocessing.get_context("fork")
    children = [
        ctx.Process(
            target=_worker, args=(base_url, factory, threads, duration, i * 1_000_000_000, queue)
        )
        for i, threads in enumerate(spread)
    ]
    for child in children:
        child.start()
    results = [queue.get() for _ in children]
    for child in children:
        child.join()
    latencies = [value for result in results for value in result[0]]
    return LoadResult(len(latencies), sum(result[1] for result in results), duration, latencies)
