"""Import at scale: POST /imports vs raw COPY vs pandas, with the service's peak memory (the export
is measured in bench/exports.py). Called by bench/run.py (`make bench`)."""

from __future__ import annotations

import csv
import statistics
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import psutil
import psycopg
import requests

ROOT_CAUSES = ("communication_issue", "knowledge_gap", "analytical_error", "process_issue", "other")
COLUMNS = (
    "session_id",
    "engineer",
    "case_number",
    "team",
    "region",
    "record_type",
    "parts",
    "languages",
    "sentiment_score",
    "root_cause",
    "confidence_analysis",
    "confidence_translation",
    "started_at",
    "ended_at",
    "agent_version",
    "model",
    "notes",
)


def write_file(path: Path, rows: int) -> None:
    """A realistic import file: names and case numbers to pseudonymise, some notes to PII-check."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for i in range(rows):
            day = 1 + i % 28
            writer.writerow(
                [
                    uuid.uuid4(),
                    f"Engineer {chr(65 + i % 26)}{chr(65 + (i // 26) % 26)} Import",
                    f"{10_000_000 + i % 89_999_999}",
                    f"team-{i % 12}",
                    ("EMEA", "AMER", "APAC")[i % 3],
                    "single",
                    1,
                    "EN;DE" if i % 3 else "EN",
                    round((i % 100) / 100, 2),
                    ROOT_CAUSES[i % 5],
                    0.8,
                    0.7 if i % 3 else "",
                    f"2026-03-{day:02d}T09:40:00+00:00",
                    f"2026-03-{day:02d}T10:00:00+00:00",
                    "3.7.0",
                    "gpt-4o",
                    "Customer expected a faster escalation." if i % 4 == 0 else "",
                ]
            )


class PeakMemory:
    """Samples a process's resident memory (with its descendants') every 250 ms in a thread. A
    sample costs a few ms of CPU: every 50 ms, the sampling took 9 % of a core from the processes
    it measured."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.samples: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append(
                sum(p.memory_info().rss for p in [self.process, *self.process.children(True)])
            )
            time.sleep(0.25)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def peak_mb(self) -> float:
        return max(self.samples) / 1_048_576

    @property
    def start_mb(self) -> float:
        return self.samples[0] / 1_048_576


def usable_cores() -> int:
    """The cores this process may run on (fewer than the machine's under `taskset`); the
    processes a benchmark starts inherit them."""
    return len(psutil.Process().cpu_affinity()) or 1


def cpu_seconds(pid: int, *, reaped_only: bool = False) -> float:
    """User and system CPU time so far of a process and its descendants, those that ended and
    were waited for included (a service's validation workers, PostgreSQL's backends); with
    `reaped_only`, only the part of those that ended (an import's workers, once it is done)."""
    process = psutil.Process(pid)
    times = slice(2, 4) if reaped_only else slice(0, 4)  # user, system, children's user, system
    return sum(process.cpu_times()[times]) + sum(
        _cpu_of_child(child, times) for child in process.children(True)
    )


def _cpu_of_child(child: psutil.Process, times: slice) -> float:
    """A descendant's CPU time; nothing for one that ended since it was listed (its parent counts
    it among its children's times once it has waited for it)."""
    try:
        return sum(child.cpu_times()[times])
    except psutil.NoSuchProcess:
        return 0.0


def postgres_cpu_by_kind(postmaster: int) -> dict[str, float]:
    """CPU time so far of PostgreSQL's processes by kind: the postmaster's live children by the
    title they show (`postgres: walwriter`, `postgres: autovacuum worker`, a backend's
    `postgres: <user> <database> …` as `backend <user>`), and the processes that ended and were
    waited for (closed connections, finished autovacuum workers) as `ended`."""
    process = psutil.Process(postmaster)
    own = process.cpu_times()
    kinds = {"postmaster": own.user + own.system, "ended": own.children_user + own.children_system}
    for child in process.children():
        try:
            title = " ".join(child.cmdline())
            times = child.cpu_times()
        except psutil.NoSuchProcess:
            continue
        kind = _postgres_kind(title)
        kinds[kind] = kinds.get(kind, 0.0) + times.user + times.system
    return kinds


def _postgres_kind(title: str) -> str:
    """`backend <user>` for a client's backend (`postgres: <user> <database> <host>(<port>) …`),
    `autovacuum worker` for any of them, else the process's title (`walwriter`, `checkpointer`)."""
    words = title.removeprefix("postgres: ").split()
    if len(words) >= 3 and (words[2].endswith(")") or words[2] == "[local]"):
        return f"backend {words[0]}"
    if words[:2] == ["autovacuum", "worker"]:
        return "autovacuum worker"
    return " ".join(words) or "other"


def cpu_spent(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """CPU seconds by kind between two postgres_cpu_by_kind readings (a process that started in
    between counts from zero; one that ended moves its time to `ended`)."""
    return {
        kind: spent for kind in after if (spent := after[kind] - before.get(kind, 0.0)) > 0.0005
    }


def postgres_pid(pgdata: Path) -> int:
    """The postmaster of a data directory (first line of postmaster.pid)."""
    return int((pgdata / "postmaster.pid").read_text().split()[0])


def raw_copy(db_url: str, path: Path, postgres: int) -> tuple[float, float]:
    """Rows/s of COPY of the same file into a table with a primary key and three indexes, and
    PostgreSQL's CPU time per row for it (µs)."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_raw")
        conn.execute(
            "CREATE TABLE bench_raw ("
            + ", ".join(
                f"{name} {'uuid PRIMARY KEY' if name == 'session_id' else 'text'}"
                for name in COLUMNS
            )
            + ")"
        )
        for column in ("team", "ended_at", "engineer"):
            conn.execute(f"CREATE INDEX ON bench_raw ({column})")
        cpu_before = cpu_seconds(postgres)
        started = time.perf_counter()
        with (
            conn.cursor() as cursor,
            path.open("rb") as handle,
            cursor.copy("COPY bench_raw FROM STDIN WITH (FORMAT csv, HEADER true)") as copy,
        ):
            while chunk := handle.read(1 << 20):
                copy.write(chunk)
        seconds = time.perf_counter() - started
        cpu = cpu_seconds(postgres) - cpu_before
        rows = conn.execute("SELECT count(*) FROM bench_raw").fetchone()[0]
        conn.execute("DROP TABLE bench_raw")
        backend = conn.info.backend_pid
    wait_until_reaped(backend)
    return rows / seconds, cpu / rows * 1e6


def wait_until_reaped(pid: int, timeout: float = 10.0) -> None:
    """Wait until a closed connection's backend has exited and PostgreSQL has reaped it. Until
    then its CPU time is neither the process's (gone) nor the postmaster's children's (not yet
    added): a CPU reading taken in between missed the raw COPY's 8 µs a row, which the import's
    next reading then counted as its own."""
    deadline = time.monotonic() + timeout
    while psutil.pid_exists(pid) and time.monotonic() < deadline:
        time.sleep(0.01)


def checkpoint(db_url: str) -> None:
    """Write every dirty page out before a measured load starts, so that no load pays for the
    one before it: a checkpoint that the previous load's WAL set off otherwise runs during the
    next one (the raw COPY ran at 103,000 to 137,000 rows/s from one run to the next)."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("CHECKPOINT")


def vacuum_imported(db_url: str) -> None:
    """VACUUM ANALYZE the tables that the import filled (autovacuum would, within a minute)."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE) persistence.sessions, persistence.change_log")


def pandas_to_sql(db_url: str, path: Path, rows: int) -> float:
    """Rows/s of pandas read_csv + to_sql(method="multi") on the first `rows` records."""
    import pandas as pd
    import sqlalchemy

    engine = sqlalchemy.create_engine(db_url.replace("postgresql://", "postgresql+psycopg://"))
    started = time.perf_counter()
    frame = pd.read_csv(path, nrows=rows)
    frame.to_sql(
        "bench_pandas", engine, if_exists="replace", index=False, method="multi", chunksize=1000
    )
    seconds = time.perf_counter() - started
    with engine.begin() as conn:
        conn.execute(sqlalchemy.text("DROP TABLE bench_pandas"))
    engine.dispose()
    return rows / seconds


def api_import(
    db_url: str, persistence_url: str, headers: dict, path: Path, pid: int, postgres: int
) -> dict:
    """Rows/s of POST /imports (202, then polled until completed; the end is the report's
    finished_at), the service's memory and the CPU time that the service and PostgreSQL spent
    on it."""
    cpu_before = cpu_seconds(pid), cpu_seconds(postgres), cpu_seconds(pid, reaped_only=True)
    postgres_before = postgres_cpu_by_kind(postgres)
    with PeakMemory(pid) as memory:
        started_at = datetime.now(UTC)
        started = time.perf_counter()
        with path.open("rb") as handle:
            response = requests.post(
                f"{persistence_url}/api/v1/imports",
                data=handle,
                headers={**headers, "Content-Type": "text/csv"},
                timeout=600,
            )
        response.raise_for_status()
        accepted = time.perf_counter()
        location = persistence_url + response.headers["Location"]
        while (report := requests.get(location, headers=headers, timeout=30).json())[
            "status"
        ] == "running":
            time.sleep(0.5)  # a poll costs the service CPU; the end time comes from the report
    assert report["status"] == "completed" and report["rejected"] == 0, report
    with psycopg.connect(db_url) as conn:
        finished_at = conn.execute(
            "SELECT finished_at FROM persistence.imports WHERE import_id = %s", (report["id"],)
        ).fetchone()[0]
    seconds = (finished_at - started_at).total_seconds()
    postgres_after = postgres_cpu_by_kind(postgres)
    postgres_spent = cpu_spent(postgres_before, postgres_after)
    return {
        "postgres_cpu_us_per_row_by_kind": {
            kind: spent / report["inserted"] * 1e6 for kind, spent in postgres_spent.items()
        },
        "rows_per_s": report["inserted"] / seconds,
        "seconds": seconds,
        "service_cpu_us_per_row": (cpu_seconds(pid) - cpu_before[0]) / report["inserted"] * 1e6,
        "postgres_cpu_us_per_row": (cpu_seconds(postgres) - cpu_before[1])
        / report["inserted"]
        * 1e6,
        "workers_cpu_us_per_row": (cpu_seconds(pid, reaped_only=True) - cpu_before[2])
        / report["inserted"]
        * 1e6,
        "seconds_to_202": accepted - started,
        "rss_start_mb": memory.start_mb,
        "rss_peak_mb": memory.peak_mb,
    }


def bench_import_export(
    db_url: str,
    persistence_url: str,
    headers: dict,
    pid: int,
    postgres: int,
    work: Path,
    rows: int,
    pandas_rows: int,
) -> dict:
    """All figures of the import section (the export of the imported rows: bench/exports.py)."""
    path = work / "import.csv"
    write_file(path, rows)
    # The raw COPY once before and once after the import: on a shared machine whose speed drifts
    # over minutes, their mean is the baseline of the moment the import ran.
    checkpoint(db_url)
    copies = [raw_copy(db_url, path, postgres)]
    checkpoint(db_url)
    imported = api_import(db_url, persistence_url, headers, path, pid, postgres)
    vacuum_imported(db_url)  # now, not by autovacuum during the second raw COPY
    checkpoint(db_url)
    copies.append(raw_copy(db_url, path, postgres))
    return {
        "rows": rows,
        "pandas_rows": pandas_rows,
        "raw_copies": [rate for rate, _ in copies],
        "raw_copy": statistics.mean(rate for rate, _ in copies),
        "raw_copy_cpu_us_per_row": statistics.mean(cpu for _, cpu in copies),
        "pandas": pandas_to_sql(db_url, path, pandas_rows),
        "cores": usable_cores(),
        "import": imported,
    }


def report(figures: dict, meta: dict) -> str:
    imp = figures["import"]
    cpu_total = imp["service_cpu_us_per_row"] + imp["postgres_cpu_us_per_row"]
    ceiling = figures["cores"] / cpu_total * 1e6
    return "\n".join(
        [
            "## Import and export at scale",
            "",
            f"Measured {meta['date']} on {meta['machine']}; {figures['rows']:,} CSV rows with "
            "engineer names, "
            "case numbers and notes (pseudonymised and PII-checked on the way in).",
            "",
            "| path | rows/s | ratio | service RSS start → peak |",
            "|---|---|---|---|",
            f"| POST /imports (validate, pseudonymise, PII guard, COPY + merge) | {imp['rows_per_s']:,.0f} | "
            f"1.00 | {imp['rss_start_mb']:.0f} → {imp['rss_peak_mb']:.0f} MB |",
            "| raw COPY of the same file, PK + 3 indexes (mean of "
            + " before and ".join(f"{rate:,.0f}" for rate in figures["raw_copies"])
            + f" after the import) | {figures['raw_copy']:,.0f} | "
            f"{imp['rows_per_s'] / figures['raw_copy']:.2f}× of it | — |",
            f'| pandas read_csv + to_sql(method="multi") ({figures["pandas_rows"]:,} rows) | '
            f"{figures['pandas']:,.0f} | import is {imp['rows_per_s'] / figures['pandas']:.1f}× faster | — |",
            "",
            "Targets: import ≥ 0.5× raw COPY and ≥ 10× pandas; memory flat. (The export: "
            "see “Export at scale”.)",
            "",
            f"CPU time per row, measured in the same run: the import {cpu_total:.1f} µs "
            f"(the service {imp['service_cpu_us_per_row']:.1f}, of which its validation workers "
            f"{imp['workers_cpu_us_per_row']:.1f}; PostgreSQL "
            f"{imp['postgres_cpu_us_per_row']:.1f}); the raw COPY "
            f"{figures['raw_copy_cpu_us_per_row']:.1f} (PostgreSQL). With all "
            f"{figures['cores']} cores busy, that CPU time allows at most "
            f"{ceiling:,.0f} imported rows/s on this machine "
            f"({ceiling / figures['raw_copy']:.2f}× the raw COPY, "
            f"{ceiling / figures['pandas']:.1f}× pandas). The check of the whole file before "
            f"the 202 took {imp['seconds_to_202']:.1f} s of the {imp['seconds']:.1f} s.",
            "",
            "PostgreSQL's CPU time per row during the import, by process: "
            + ", ".join(
                f"{kind} {spent:.2f} µs"
                for kind, spent in sorted(
                    imp["postgres_cpu_us_per_row_by_kind"].items(), key=lambda item: -item[1]
                )
            )
            + ".",
            "",
        ]
    )
