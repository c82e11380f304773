"""Running async clients (the MCP SDK's) from synchronous tests."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import anyio

T = TypeVar("T")


def run_async(main: Callable[[], Awaitable[T]]) -> T:
    """`anyio.run(main)` in a thread of its own: the browser tests' Playwright (sync API) leaves an
    event loop running in the main thread for the rest of the run, where anyio.run refuses to
    start ("Already running asyncio in this thread")."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(anyio.run, main).result()
