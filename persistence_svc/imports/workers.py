"""The processes that validate a large import's chunks beside the service, and the work they get:
blocks of the spooled file, which each worker reads itself."""

from __future__ import annotations

import gc
import multiprocessing
import multiprocessing.forkserver
import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from itertools import islice
from typing import IO, Any

from persistence_svc.fileformats import (
    CSV,
    Block,
    FileScan,
    read_block,
    read_csv_lines,
    read_records,
)
from persistence_svc.imports import chunks
from persistence_svc.imports.chunks import Chunk, prepare_chunk, prepare_csv_chunk
from shared.pseudonyms import EngineerCodes, KnownEngineers


@dataclass(frozen=True)
class BlockOfFile:
    """What a worker needs to read one block of the spooled file itself."""

    path: str
    media_type: str
    columns: tuple[str, ...]
    block: Block

    def rows(self) -> list[tuple[int, Any]]:
        with open(self.path, "rb") as stream:
            return list(read_block(stream, self.media_type, self.block, self.columns))

    def prepare(
        self, key: bytes, codes: EngineerCodes | None, known: KnownEngineers | None = None
    ) -> Chunk:
        """The block's chunk: CSV lines a column at a time, NDJSON records one by one."""
        if self.media_type != CSV:
            return prepare_chunk(self.rows(), key, codes, known=known)
        with open(self.path, "rb") as stream:
            lines, apostrophes = read_csv_lines(stream, self.block)
        return prepare_csv_chunk(
            lines, self.columns, key, codes, apostrophes=apostrophes, known=known
        )


Work = BlockOfFile | list[tuple[int, Any]]  # a block to read, or records already read


def chunk_work(spooled: IO[bytes], scan: FileScan) -> Iterator[Work]:
    """The second pass's work, CHUNK_ROWS records at a time in file order: the blocks of a CSV or
    NDJSON file (workers read them), the records of a JSON array (read here; one stream)."""
    if scan.blocks:
        for block in scan.blocks:
            yield BlockOfFile(spooled.name, scan.media_type, scan.columns, block)
        return
    records = read_records(spooled, scan.media_type)
    yield from iter(lambda: list(islice(records, chunks.CHUNK_ROWS)), [])


def _prepare(
    work: Work, key: bytes, codes: EngineerCodes | None, known: KnownEngineers | None
) -> Chunk:
    return (
        work.prepare(key, codes, known)
        if isinstance(work, BlockOfFile)
        else prepare_chunk(work, key, codes, known=known)
    )


def _workers_context() -> multiprocessing.context.BaseContext:
    """Validation workers are forked from a fork server that has imported this module once: a
    new worker is ready in milliseconds, where a spawned one spent about 1.1 s of CPU importing
    it (docs/scaling.md). The server is a small single-threaded process, so forking it is safe
    where forking the threaded service is not."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    return context


def start_worker_server() -> None:
    """Start the fork server of the validation workers now (the service does at start-up), so
    that the first large import does not wait for it. It lives as long as the service."""
    _workers_context()
    multiprocessing.forkserver.ensure_running()


class ValidationPool:
    """The processes that validate one import's chunks beside the service (validation is the
    Python-bound part of an import; the service then only loads the chunks). Made before the file
    is checked, so that they start while it is; `known` (the engineers stored then) goes to each
    worker once."""

    def __init__(self, key: bytes, workers: int, known: KnownEngineers | None = None) -> None:
        self.workers = workers
        self.known = known
        self.executor = ProcessPoolExecutor(
            workers,
            mp_context=_workers_context(),
            initializer=_start_worker,
            initargs=(key, known),
        )
        for _ in range(workers):  # a task for each: no process is idle yet, so each starts one
            self.executor.submit(int)
        self.ahead: deque[Future] = deque()

    def prepare_ahead(self, work: Work) -> None:
        """Start on one of the file's first chunks while the first pass reads the rest (at most
        AHEAD_CHUNKS; validated_chunks hands them on first). Their results wait in memory until
        the file has been checked whole: about 2 MB each."""
        if len(self.ahead) < AHEAD_CHUNKS:
            self.ahead.append(self.executor.submit(_prepare_with_kept_key, work))

    def close(self) -> None:
        self.executor.shutdown(cancel_futures=True)


# The first pass over 1,000,000 rows took about 1 s, in which two workers on the other core
# prepare about 36,000 records (docs/scaling.md); 6 chunks of CHUNK_ROWS (48,000 records, about
# 4 MB a chunk) cover that.
AHEAD_CHUNKS = 6


def validated_chunks(
    work: Iterator[Work],
    key: bytes,
    pool: ValidationPool | None = None,
    known: KnownEngineers | None = None,
) -> Iterator[Chunk]:
    """The chunks of the work, validated and made COPY data, in file order: in this process, or
    by the processes of `pool`. At most two chunks per worker, or the AHEAD_CHUNKS started while
    the file was checked, are in flight, so memory stays flat whatever the file's size. Closes
    the pool when done. `known`: see prepare_chunk (a pool's workers have their own)."""
    if pool is None:
        codes = EngineerCodes(key)
        for item in work:
            yield _prepare(item, key, codes, known)
        return
    pending = pool.ahead  # the first chunks, started while the file was checked
    try:
        for item in islice(work, len(pending), None):
            pending.append(pool.executor.submit(_prepare_with_kept_key, item))
            if len(pending) > 2 * pool.workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        pool.close()


# Below about 28,000 records the service alone was faster than workers that had to start first
# (docs/scaling.md); the file's size says so before the file is read: 28,000 records of the
# benchmark's rows (bench/imports.py, 194 bytes each) are 5.4 MB. Workers forked from the fork
# server start in about 20 ms where spawned ones took 1.1 s of CPU, so the break-even may be lower
# than this bound, which was found with spawned workers.
POOLED_FROM_BYTES = 5_500_000


def validation_workers(configured: int) -> int:
    """How many processes validate a large import: IMPORT_WORKERS, or one per CPU core when it
    is 0 (1: the service validates)."""
    return configured or os.cpu_count() or 1


def validation_pool(
    key: bytes, configured: int, size: int, known: KnownEngineers | None = None
) -> ValidationPool | None:
    """The validation workers of an import of `size` bytes (validation_workers), checking free
    text against the `known` engineers; None (the service validates) for a smaller file, or for
    one worker."""
    if size < POOLED_FROM_BYTES:
        return None
    workers = validation_workers(configured)
    return ValidationPool(key, workers, known) if workers > 1 else None


_kept_key: bytes = b""
_kept_codes: EngineerCodes | None = None
_kept_known: KnownEngineers | None = None


# A worker makes and drops a few dicts per row, which reference counting frees (no cycles): the
# cycle collector, which would run every 700 new objects, waits for this many (6 % of a worker's
# time, measured in docs/scaling.md).
WORKER_GC_THRESHOLD = 50_000


def _start_worker(key: bytes, known: KnownEngineers | None = None) -> None:
    """Worker process start: the pseudonym key and the known engineers arrive once, not with every
    chunk. A worker serves one import, so the engineer codes it remembers are that import's."""
    global _kept_key, _kept_codes, _kept_known
    _kept_key = key
    _kept_codes = EngineerCodes(key)
    _kept_known = known
    gc.freeze()  # what the worker imported lives as long as it does: not looked at again
    gc.set_threshold(WORKER_GC_THRESHOLD, *gc.get_threshold()[1:])


def _prepare_with_kept_key(work: Work) -> Chunk:
    return _prepare(work, _kept_key, _kept_codes, _kept_known)
