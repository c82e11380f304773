"""The trends projection against the import, in the same run: rates, CPU time a row, how soon
trends reflect a live import and what a caller gets meanwhile. Called by bench/run.py (`make
bench`)."""

from __future__ import annotations

import statistics
import threading
import time

import psycopg
import requests

from trends_svc.projection import PAGE_SIZE


def bench_projection(
    running, db_url: str, admin_headers: dict, work, rows: int, postgres: int
) -> dict:
    """The trends projection against the import, in the same run: the import's rows/s through
    the gateway, then the worker's changes/s on a backlog of those inserts, of updates of every
    row and of deletes of every row (the worker stopped while the backlog is written); then a
    second import with the worker running, and how long after it completes trends count every
    row (/trends/weekly and Compare History). Each also with the CPU time it took a row (the
    machine's load moves the rates; CPU time a row moves less)."""
    from bench.imports import write_file

    path = work / "projection.csv"
    write_file(path, rows)
    running.stop("trends-worker")
    imported = gateway_import(running, admin_headers, path, postgres)
    figures: dict = {"rows": rows, "import": imported}
    _vacuum_backlog(db_url)
    figures["inserts"] = backlog_rate(running, db_url, rows, postgres)
    running.stop("trends-worker")
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE persistence.sessions SET sentiment_score = 1 - sentiment_score, "
            "team = team || '-moved'"
        )
    _vacuum_backlog(db_url)
    figures["updates"] = backlog_rate(running, db_url, rows, postgres)
    running.stop("trends-worker")
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("DELETE FROM persistence.sessions")
    _vacuum_backlog(db_url)
    figures["deletes"] = backlog_rate(running, db_url, rows, postgres)
    # With the worker running, as an admin would see it.
    write_file(path, rows)
    figures["live_import"] = gateway_import(running, admin_headers, path, postgres)
    figures["reflected_after"] = reflected_after(running.gateway, admin_headers, rows)
    # Once more (the sessions of the last import erased first), while a caller asks for an
    # evaluation, Compare History and the weekly trends in turn every 200 ms.
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("DELETE FROM persistence.sessions")
    _wait_weekly(running.gateway, admin_headers, 0)
    _vacuum_backlog(db_url)
    write_file(path, rows)
    caller = BusyCaller(running.gateway, admin_headers)
    caller.start()
    try:
        figures["busy_import"] = gateway_import(running, admin_headers, path, postgres)
        figures["busy_reflected_after"] = reflected_after(running.gateway, admin_headers, rows)
    finally:
        caller.stopped.set()
        caller.join()
    figures["busy_calls"] = caller.statuses
    return figures


class BusyCaller(threading.Thread):
    """Every 200 ms one call of POST /trends/evaluate, Compare History and GET /trends/weekly,
    in turn, through the gateway; keeps each answer's status and time."""

    CALLS = ("evaluate", "compare", "weekly")

    def __init__(self, gateway_url: str, headers: dict) -> None:
        super().__init__(daemon=True)
        self.http = requests.Session()
        self.http.headers.update(headers)
        self.url = gateway_url
        self.statuses: list[tuple[str, int, float]] = []
        self.stopped = threading.Event()

    def call(self, name: str) -> int:
        if name == "evaluate":
            return self.http.post(f"{self.url}/api/v1/trends/evaluate", timeout=60).status_code
        if name == "compare":
            return self.http.post(
                f"{self.url}/api/v1/history/compare",
                json={"engineer": "Engineer AA Import", "period_days": 365},
                timeout=60,
            ).status_code
        return self.http.get(
            f"{self.url}/api/v1/trends/weekly", params={"team": "team-0"}, timeout=60
        ).status_code

    def run(self) -> None:
        turn = 0
        while not self.stopped.is_set():
            name = self.CALLS[turn % 3]
            started = time.monotonic()
            try:
                status = self.call(name)
            except requests.RequestException:
                status = 0  # no answer at all: counted with the failures
            seconds = time.monotonic() - started
            self.statuses.append((name, status, seconds))
            turn += 1
            self.stopped.wait(max(0.0, 0.2 - seconds))


def _vacuum_backlog(db_url: str) -> None:
    """What autovacuum would do after the statements that wrote the backlog (the import, the
    bulk update, the bulk delete), done before the projection's time and CPU are measured: that
    work is theirs, not the projection's."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE persistence.sessions, persistence.change_log")


def _cpu(running, names: tuple[str, ...], postgres: int) -> dict[str, float]:
    """CPU seconds so far of the named processes (their children included) and PostgreSQL."""
    from bench.imports import cpu_seconds

    return {
        **{
            name: cpu_seconds(running.children[name].pid) if name in running.children else 0.0
            for name in names  # a process not started yet has used none
        },
        "postgres": cpu_seconds(postgres),
    }


def _cpu_per_row(before: dict[str, float], after: dict[str, float], rows: int) -> dict:
    """µs of CPU a row of each process, and in all."""
    per_row = {name: (after[name] - before[name]) / rows * 1e6 for name in before}
    return {**per_row, "all": sum(per_row.values())}


IMPORT_PROCESSES = ("gateway", "persistence")
PROJECTION_PROCESSES = ("trends-worker", "persistence")


def gateway_import(running, headers: dict, path, postgres: int) -> dict:
    """POST /imports through the gateway, polled until completed: seconds, rows/s and the CPU
    time a row of the gateway, persistence (its validation workers included) and PostgreSQL."""
    gateway_url = running.gateway
    cpu_before = _cpu(running, IMPORT_PROCESSES, postgres)
    started = time.perf_counter()
    with path.open("rb") as handle:
        response = requests.post(
            f"{gateway_url}/api/v1/imports",
            data=handle,
            headers={**headers, "Content-Type": "text/csv"},
            timeout=600,
        )
    response.raise_for_status()
    report = response.json()
    while report["status"] == "running":
        time.sleep(0.1)
        report = requests.get(
            gateway_url + response.headers["Location"], headers=headers, timeout=30
        ).json()
    seconds = time.perf_counter() - started
    assert report["status"] == "completed" and report["rejected"] == 0, report
    return {
        "seconds": seconds,
        "rows_per_s": report["inserted"] / seconds,
        "cpu_us": _cpu_per_row(
            cpu_before, _cpu(running, IMPORT_PROCESSES, postgres), report["inserted"]
        ),
    }


def backlog_rate(running, db_url: str, changes: int, postgres: int) -> dict:
    """Start the worker on a backlog of `changes` and time it from the first applied page to
    the last (the process start is not the projection's time); CPU time a change of the
    worker, persistence and PostgreSQL over the same span."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        applied = conn.execute(
            "SELECT applied FROM trends.feed_state WHERE feed = 'sessions'"
        ).fetchone()[0]
        at_start = (time.perf_counter(), applied, _cpu(running, PROJECTION_PROCESSES, postgres))
        running.start("trends-worker")
        first = None
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            now = conn.execute(
                "SELECT applied FROM trends.feed_state WHERE feed = 'sessions'"
            ).fetchone()[0]
            if first is None and now > applied:
                first = (time.perf_counter(), now, _cpu(running, PROJECTION_PROCESSES, postgres))
            if now >= applied + changes:
                if now == first[1]:  # all in one page (a tiny run): timed from the start then
                    first = at_start
                seconds = time.perf_counter() - first[0]
                counted = now - first[1]
                cpu_after = _cpu(running, PROJECTION_PROCESSES, postgres)
                return {
                    "changes": now - applied,
                    "changes_per_s": counted / seconds,
                    "cpu_us": _cpu_per_row(first[2], cpu_after, counted),
                }
            time.sleep(0.02)
    raise TimeoutError("the trends worker did not apply the backlog")


def _weekly_march(gateway_url: str, headers: dict) -> int:
    """Sessions /trends/weekly counts in March 2026 (the import file's dates)."""
    weekly = requests.get(
        f"{gateway_url}/api/v1/trends/weekly",
        params={"from": "2026-03-01T00:00:00Z", "to": "2026-04-01T00:00:00Z"},
        headers=headers,
        timeout=30,
    ).json()["items"]
    return sum(item["sessions"] for item in weekly)


def _wait_weekly(gateway_url: str, headers: dict, sessions: int) -> None:
    deadline = time.monotonic() + 600
    while _weekly_march(gateway_url, headers) != sessions:
        if time.monotonic() > deadline:
            raise TimeoutError("trends did not reflect the deletion")
        time.sleep(0.1)


def reflected_after(gateway_url: str, headers: dict, rows: int) -> float:
    """Seconds from now until /trends/weekly counts `rows` sessions in March 2026 (the import
    file's dates) and Compare History counts every session of the first engineer of the file."""
    engineer = "Engineer AA Import"  # bench.imports.write_file: rows 0, 676, 1352, ...
    expected = len(range(0, rows, 676))
    started = time.perf_counter()
    while time.perf_counter() - started < 600:
        if _weekly_march(gateway_url, headers) == rows:
            history = requests.post(
                f"{gateway_url}/api/v1/history/compare",
                json={"engineer": engineer, "period_days": 365},
                headers=headers,
                timeout=30,
            ).json()
            if history["current"]["sessions"] == expected:
                return time.perf_counter() - started
        time.sleep(0.1)
    raise TimeoutError("trends did not reflect the import")


def projection_report(figures: dict, meta: dict) -> str:
    imported = figures["import"]["rows_per_s"]
    import_cpu = figures["import"]["cpu_us"]
    live = figures["live_import"]
    lines = [
        f"## Trends projection against the import, {figures['rows']:,} rows",
        "",
        f"Measured {meta['date']} on {meta['machine']}, in one run: a CSV import of "
        f"{figures['rows']:,} rows through the gateway (admin, polled until completed), then the "
        "trends worker on a backlog of the same number of changes of each kind, written while it "
        "was stopped (timed from its first applied page to its last: pages of "
        f"{PAGE_SIZE:,} changes, each read from the feed over HTTP and applied in one "
        "transaction). CPU time a row or change: the import's gateway, persistence (with its "
        "validation workers) and PostgreSQL; the projection's trends worker, persistence and "
        "PostgreSQL (autovacuum included; the tables the backlog was written to are vacuumed "
        "first). The machine's 2 cores were shared with other work: "
        "compare the ratios, measured side by side, rather than the rates.",
        "",
        "| | rows or changes/s | × the import | CPU µs a row (worker or gateway / "
        "persistence / PostgreSQL = all) | import's CPU ÷ this |",
        "|---|---|---|---|---|",
        f"| import (POST /imports) | {imported:,.0f} | 1.00 | {_cpu_cells(import_cpu, 'gateway')} "
        "| 1.00 |",
    ]
    for kind in ("inserts", "updates", "deletes"):
        rate = figures[kind]["changes_per_s"]
        cpu = figures[kind]["cpu_us"]
        lines.append(
            f"| projection, pages of {kind} | {rate:,.0f} | {rate / imported:.2f} | "
            f"{_cpu_cells(cpu, 'trends-worker')} | {import_cpu['all'] / cpu['all']:.2f} |"
        )
    ratio = figures["reflected_after"] / live["seconds"]
    lines += [
        "",
        f"- With the worker running: the import took {live['seconds']:.2f} s "
        f"({live['rows_per_s']:,.0f} rows/s); /trends/weekly and Compare History counted every "
        f"row **{figures['reflected_after']:.2f} s** after it completed = **{ratio:.2f}×** the "
        "import's duration (target ≤ 1.0×).",
        _busy_line(figures["busy_calls"], figures["busy_import"], figures["busy_reflected_after"]),
        "- Targets: the projection applies at least as fast as the import writes (≥ 1.0×, goal "
        "≥ 3×).",
        "",
    ]
    return "\n".join(lines)


def _busy_line(calls: list[tuple[str, int, float]], imported: dict, reflected: float) -> str:
    failed = sum(1 for _, status, _ in calls if status >= 500 or status == 0)
    parts = []
    for name in BusyCaller.CALLS:
        times = sorted(seconds * 1000 for call, _, seconds in calls if call == name)
        if times:
            parts.append(
                f"{name} {len(times)} (p50 {statistics.median(times):.0f} ms, "
                f"max {times[-1]:.0f} ms)"
            )
    statuses = sorted({status for _, status, _ in calls})
    return (
        f"- Once more, with a caller asking every 200 ms in turn from the import's start until "
        f"trends counted every row: {', '.join(parts)}; statuses {statuses}, "
        f"**{failed} answers of 5xx** or none (target 0). That import took "
        f"{imported['seconds']:.2f} s, trends counted every row {reflected:.2f} s after it "
        f"({reflected / imported['seconds']:.2f}×; the evaluations and Compare History's "
        "read-your-writes share the machine with the worker)."
    )


def _cpu_cells(cpu: dict, first: str) -> str:
    return f"{cpu[first]:.1f} / {cpu['persistence']:.1f} / {cpu['postgres']:.1f} = {cpu['all']:.1f}"
