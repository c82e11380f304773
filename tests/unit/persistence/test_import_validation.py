"""Validation of an import's chunks: in the service process or in worker processes, the same
chunks in the same order."""

import csv
import gc
import io
import multiprocessing
import os
import tempfile
import time

import pytest

from persistence_svc import store
from persistence_svc.imports import workers
from persistence_svc.imports.chunks import CHUNK_ROWS, prepare_chunk
from persistence_svc.imports.scan import check_upload
from persistence_svc.schemas import load_session
from persistence_svc.sessions import prepare_record
from shared.errors import BadRequest
from shared.pseudonyms import EngineerCodes

KEY = b"import-validation-test-key-32-by"


def record(number: int) -> dict:
    return {
        "session_id": f"00000000-0000-4000-8000-{number:012d}",
        "engineer": f"Engineer {chr(65 + number % 26)}",
        "case_number": f"{10_000_000 + number}",
        "team": "emea-1",
        "record_type": "single",
        "parts": "1",
        "languages": "EN;DE",
        "sentiment_score": "0.4",
        "root_cause": "Knowledge Gap",
        "confidence_analysis": "0.9",
        "ended_at": "2026-03-01T10:00:00+00:00",
        "notes": "call me at anna@example.com" if number % 997 == 0 else "",
    }


def records(count: int):
    """Numbered like a CSV file's rows (the header is row 1); every 500th row is bad."""
    for number in range(count):
        row = record(number)
        if number % 500 == 7:
            row["sentiment_score"] = "high"
        yield number + 2, row


def work(count: int):
    """The records as the second pass hands them on: CHUNK_ROWS at a time."""
    rows = list(records(count))
    for start in range(0, count, CHUNK_ROWS):
        yield rows[start : start + CHUNK_ROWS]


def test_worker_processes_give_the_same_chunks_in_file_order():
    count = 7 * CHUNK_ROWS + 123  # more chunks than the window of 2 per worker
    inline = list(workers.validated_chunks(work(count), KEY))
    pooled = list(workers.validated_chunks(work(count), KEY, workers.ValidationPool(KEY, 2)))
    assert [chunk.size for chunk in pooled] == [chunk.size for chunk in inline]
    assert sum(chunk.size for chunk in pooled) == count
    assert [chunk.problems for chunk in pooled] == [chunk.problems for chunk in inline]
    assert [chunk.keys for chunk in pooled] == [chunk.keys for chunk in inline]
    assert [chunk.copy_data for chunk in pooled] == [chunk.copy_data for chunk in inline]
    rows = [row for chunk in pooled for row, _, _ in chunk.keys]
    assert rows == sorted(rows)
    assert len(rows) == count - len({problem[0] for chunk in pooled for problem in chunk.problems})
    problems = {(row, field, code) for chunk in pooled for row, field, code, _ in chunk.problems}
    assert (9, "sentiment_score", "invalid") in problems
    assert (999, "notes", "personal_data") in problems  # number 997: the PII guard ran there
    first = pooled[0].copy_data
    assert b"Engineer A" not in first and b"eng_" in first  # pseudonyms, not names
    assert not multiprocessing.active_children()


def test_engineer_codes_remembered_across_chunks_are_the_plain_codes():
    codes = EngineerCodes(KEY)
    chunks = [prepare_chunk(rows, KEY, codes) for rows in work(3 * CHUNK_ROWS)]
    expected = [
        store.session_copy_data(
            prepare_record(load_session(row), KEY)  # pseudonymised one by one
            for _, row in rows
            if row["sentiment_score"] != "high" and "@" not in row["notes"]
        )
        for rows in work(3 * CHUNK_ROWS)
    ]
    assert [chunk.copy_data for chunk in chunks] == expected
    assert len(codes._codes) == 26  # one per engineer named in the file


def test_a_consumer_that_stops_early_shuts_the_workers_down():
    pool = workers.ValidationPool(KEY, 2)
    chunks = workers.validated_chunks(work(10 * CHUNK_ROWS), KEY, pool)
    assert next(chunks).size == CHUNK_ROWS
    chunks.close()
    assert not multiprocessing.active_children()


@pytest.mark.parametrize(
    ("configured", "size", "expected"),
    [
        (0, 100, None),  # a small file: validated in the service process
        (4, workers.POOLED_FROM_BYTES - 1, None),
        (4, workers.POOLED_FROM_BYTES, 4),
        (1, 10**9, None),
    ],
)
def test_validation_pool(configured, size, expected):
    pool = workers.validation_pool(KEY, configured, size)
    try:
        assert (pool and pool.workers) == expected
    finally:
        if pool is not None:
            pool.close()


def test_validation_workers_default_to_one_per_core(monkeypatch):
    monkeypatch.setattr(workers.os, "cpu_count", lambda: 3)
    pool = workers.validation_pool(KEY, 0, 10**9)
    pool.close()
    assert pool.workers == 3
    monkeypatch.setattr(workers.os, "cpu_count", lambda: None)
    assert workers.validation_pool(KEY, 0, 10**9) is None


def test_the_pool_starts_its_processes_when_it_is_made():
    pool = workers.ValidationPool(KEY, 2)
    try:
        deadline = time.monotonic() + 30
        while len(multiprocessing.active_children()) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(multiprocessing.active_children()) == 2
    finally:
        pool.close()
    assert not multiprocessing.active_children()


def test_workers_run_the_cycle_collector_less_often():
    pool = workers.ValidationPool(KEY, 2)
    try:
        threshold = pool.executor.submit(gc.get_threshold).result(timeout=60)
    finally:
        pool.close()
    assert threshold[0] == workers.WORKER_GC_THRESHOLD
    assert gc.get_threshold()[0] != workers.WORKER_GC_THRESHOLD  # the service's own is left alone


def test_workers_are_forked_from_the_fork_server():
    workers.start_worker_server()
    pool = workers.ValidationPool(KEY, 2)
    try:
        parents = {pool.executor.submit(os.getppid).result(timeout=60) for _ in range(4)}
    finally:
        pool.close()
    assert os.getpid() not in parents  # a spawned worker's parent is the service itself
    assert len(parents) == 1  # both forked by the one server


def csv_file(count: int, tail: bytes = b"") -> tempfile.NamedTemporaryFile:
    """A spooled CSV upload of `count` records (and `tail` appended), as the API keeps it."""
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(record(0)), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(row for _, row in records(count))
    spooled = tempfile.NamedTemporaryFile()  # noqa: SIM115 - closed by the test
    spooled.write(text.getvalue().encode() + tail)
    spooled.flush()
    spooled.seek(0)
    return spooled


def test_workers_start_on_the_first_blocks_while_the_file_is_checked(monkeypatch):
    monkeypatch.setattr(workers, "AHEAD_CHUNKS", 3)
    count = 5 * CHUNK_ROWS + 17
    with csv_file(count) as spooled:
        pool = workers.ValidationPool(KEY, 2)
        scan = check_upload(spooled, "text/csv", 10**6, pool)
        assert len(pool.ahead) == 3  # the first three of six blocks, started during the check
        pooled = list(workers.validated_chunks(workers.chunk_work(spooled, scan), KEY, pool))
        inline = list(workers.validated_chunks(workers.chunk_work(spooled, scan), KEY))
    assert [chunk.size for chunk in pooled] == [CHUNK_ROWS] * 5 + [17]
    assert [chunk.keys for chunk in pooled] == [chunk.keys for chunk in inline]
    assert [chunk.problems for chunk in pooled] == [chunk.problems for chunk in inline]
    assert [chunk.copy_data for chunk in pooled] == [chunk.copy_data for chunk in inline]
    assert not multiprocessing.active_children()


def test_a_file_refused_late_stops_the_chunks_started_ahead():
    with csv_file(3 * CHUNK_ROWS, tail=b"\xff\xfe not utf-8\r\n") as spooled:
        pool = workers.ValidationPool(KEY, 2)
        with pytest.raises(BadRequest):
            check_upload(spooled, "text/csv", 10**6, pool)
        assert len(pool.ahead) == 2  # blocks cut before the bad bytes were read
        assert spooled.closed
    assert not multiprocessing.active_children()
