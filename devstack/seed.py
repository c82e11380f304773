"""Synthetic sessions for benchmarks (`flask --app persistence_svc seed`): a reproducible CSV stream
of realistic analyses, loaded through the import path exactly as an uploaded file would be."""

from __future__ import annotations

import bisect
import csv
import io
import itertools
import math
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from flask import Flask

from devstack.demo import (
    CAUSE_WEIGHTS,
    DEFAULT_CAUSE_WEIGHTS,
    ENGINEERS_PER_TEAM,
    FIRST_NAMES,
    LAST_NAMES,
    TEAMS,
)
from persistence_svc import sessions, store
from persistence_svc.fileformats import CSV, INPUT_COLUMNS
from persistence_svc.imports.loading import begin_import, run_import
from persistence_svc.imports.report import ImportReport
from persistence_svc.imports.scan import check_upload
from persistence_svc.imports.upload import spool
from persistence_svc.imports.workers import validation_pool
from shared import db
from shared.domain import ROOT_CAUSES, SUPPORTED_LANGUAGES

SEED_NAMESPACE = uuid.UUID("0b6f5d2a-7c1e-4f3b-8e55-2d9a61c4b7e3")
# rows and the days they span; engineers follow from ANALYSES_PER_WEEK (docs/scaling.md's rate)
SIZES = {"small": (1_000, 180), "medium": (100_000, 365), "large": (2_000_000, 730)}
ANALYSES_PER_WEEK = 5
MIN_ENGINEERS = 4 * ENGINEERS_PER_TEAM  # the demo's four teams, at least
MAX_ENGINEERS = 30_000  # distinct names engineer_names() can make: 36,864
REGION_CYCLE = tuple(TEAMS.values())  # EMEA, EMEA, AMER, APAC: team k+4 is in the region of team k
# The import's own columns, with names and case numbers to pseudonymise instead of pseudonyms
# (tone labels follow from the sentiment; no attributes).
COLUMNS = tuple(
    {"engineer_code": "engineer", "case_ref": "case_number"}.get(column, column)
    for column in INPUT_COLUMNS
    if column not in ("tone_label", "attributes")
)
NOTES = (
    "Customer expected a faster escalation.",
    "Follow-up call was promised but not scheduled.",
    "The workaround was explained twice before it was understood.",
    "Logs were requested late in the case.",
)
PROGRESS_SECONDS = 2.0


@dataclass(frozen=True)
class Plan:
    """What one seeding run generates: the same plan always yields the same rows."""

    rows: int
    days: int
    seed: int
    until: date

    @property
    def engineers(self) -> int:
        wanted = math.ceil(self.rows / (self.days / 7 * ANALYSES_PER_WEEK))
        return min(MAX_ENGINEERS, max(MIN_ENGINEERS, wanted))


def teams(count: int) -> list[tuple[str, str]]:
    """`count` (team, region) pairs: the demo's teams first (emea-1, emea-2, amer-1, apac-1),
    then more of each region in the same proportions (emea-3, emea-4, amer-2, apac-2, ...)."""
    numbers: dict[str, itertools.count] = {}
    result = []
    for index in range(count):
        region = REGION_CYCLE[index % len(REGION_CYCLE)]
        number = next(numbers.setdefault(region, itertools.count(1)))
        result.append((f"{region.lower()}-{number}", region))
    return result


def engineer_names(count: int, rng: random.Random) -> list[str]:
    """`count` distinct names valid for the agent's step 1, made of the demo's first and last
    names: "First Last" first, then with a middle name, a double surname, and both."""
    first, last = FIRST_NAMES, LAST_NAMES
    tiers = [
        [f"{given} {surname}" for given in first for surname in last],
        [
            f"{given} {middle} {surname}"
            for given in first
            for middle in first
            if middle != given
            for surname in last
        ],
        [
            f"{given} {surname}-{second}"
            for given in first
            for surname in last
            for second in last
            if second != surname
        ],
        [
            f"{given} {middle} {surname}-{second}"
            for given in first
            for middle in first
            if middle != given
            for surname in last
            for second in last
            if second != surname
        ],
    ]
    names: list[str] = []
    for tier in tiers:
        if len(names) >= count:
            break
        rng.shuffle(tier)
        names.extend(tier[: count - len(names)])
    return names


def engineers(plan: Plan) -> list[tuple[str, str, str]]:
    """(name, team, region) of every engineer of the plan, 12 per team."""
    rng = random.Random(f"engineers:{plan.seed}")
    names = engineer_names(plan.engineers, rng)
    rng.shuffle(names)
    team_list = teams(math.ceil(len(names) / ENGINEERS_PER_TEAM))
    return [
        (name, *team_list[position // ENGINEERS_PER_TEAM]) for position, name in enumerate(names)
    ]


def rows(plan: Plan) -> Iterator[dict[str, str]]:
    """The plan's analyses as CSV cells by column. Some engineers are much busier than
    others (log-normal activity), apac-1 meets analytical errors more often (as in the demo)."""
    staff = engineers(plan)
    rng = random.Random(f"sessions:{plan.seed}")
    activity = list(itertools.accumulate(rng.lognormvariate(0, 0.6) for _ in staff))
    end = datetime.combine(plan.until, datetime.min.time(), tzinfo=UTC)
    span = plan.days * 86_400
    id_prefix = f"{plan.seed}:{plan.rows}:{plan.days}:{plan.until.isoformat()}:"
    for index in range(plan.rows):
        name, team, region = staff[
            bisect.bisect(activity, rng.random() * activity[-1], hi=len(staff) - 1)
        ]
        ended = end - timedelta(seconds=rng.randrange(1, span))
        started = ended - timedelta(minutes=rng.randint(8, 45), seconds=rng.randrange(60))
        series = rng.random() < 0.2
        languages = ["EN", *rng.sample(SUPPORTED_LANGUAGES[1:], rng.choice((0, 0, 1, 2)))]
        cause = rng.choices(ROOT_CAUSES, weights=CAUSE_WEIGHTS.get(team, DEFAULT_CAUSE_WEIGHTS))
        yield {
            "session_id": str(uuid.uuid5(SEED_NAMESPACE, id_prefix + str(index))),
            "engineer": name,
            "case_number": str(rng.randrange(10_000_000, 100_000_000)),
            "team": team,
            "region": region,
            "record_type": "series" if series else "single",
            "parts": str(rng.randint(2, 5) if series else 1),
            "languages": ";".join(languages),
            "sentiment_score": f"{min(1.0, max(0.0, rng.gauss(0.42, 0.18))):.2f}",
            "root_cause": cause[0],
            "confidence_analysis": f"{rng.uniform(0.45, 0.98):.2f}",
            "confidence_translation": f"{rng.uniform(0.6, 0.98):.2f}" if len(languages) > 1 else "",
            "started_at": started.isoformat(),
            "ended_at": ended.isoformat(),
            "agent_version": rng.choice(("3.6.2", "3.7.0", "3.7.0", "3.7.1")),
            "model": "gpt-4o",
            "notes": rng.choice(NOTES) if rng.random() < 0.1 else "",
        }


def csv_chunks(plan: Plan, rows_per_chunk: int = 2000) -> Iterator[bytes]:
    """The plan as a UTF-8 CSV file (header first), a few thousand rows per chunk."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, COLUMNS, lineterminator="\n")
    writer.writeheader()
    for count, cells in enumerate(rows(plan), start=1):
        writer.writerow(cells)
        if count % rows_per_chunk == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()


class ChunkReader(io.RawIOBase):
    """A readable byte stream over an iterator of byte chunks (what the import spools from)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, target) -> int:
        while not self._pending:
            self._pending = next(self._chunks, b"")
            if not self._pending:
                return 0
        size = min(len(target), len(self._pending))
        target[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


@dataclass(frozen=True)
class SeedRun:
    """The outcome of one seeding run: the import's final report and where the time went."""

    report: ImportReport
    bytes: int
    prepare_seconds: float  # generating and spooling the CSV, then the import's file check
    import_seconds: float


def seed_sessions(
    app: Flask,
    plan: Plan,
    *,
    created_by: str = "flask seed",
    progress: Callable[[ImportReport, float], None] | None = None,
) -> SeedRun:
    """Generate the plan's CSV, spool it and check it as an upload is, then run it through the
    import (validation, pseudonymisation, PII guard, COPY + merge per chunk), calling
    `progress(report, seconds)` every few seconds. Ctrl-C leaves whole chunks and a failed report;
    the same command again loads the rest."""
    started = time.monotonic()
    spooled, size = spool(ChunkReader(csv_chunks(plan)), limit=2**62)
    key, workers = app.extensions["pseudonym_key"], app.extensions["settings"].import_workers
    with db.connection() as conn:
        known = sessions.known_engineers(conn, key)
    pool = validation_pool(key, workers, size, known)
    scan = check_upload(spooled, CSV, plan.rows, pool)
    report = ImportReport(id=uuid.uuid4(), dry_run=False, total=scan.total)
    lock = begin_import(app, report, media_type=CSV, created_by=created_by)
    loading = time.monotonic()
    done = threading.Event()

    def report_progress() -> None:
        while not done.wait(PROGRESS_SECONDS):
            progress(report, time.monotonic() - loading)

    ticker = threading.Thread(target=report_progress, name="seed-progress", daemon=True)
    if progress is not None:
        ticker.start()
    try:
        # closes the spooled file and the pool, and releases the lock
        run_import(app, spooled, scan, report, lock, pool=pool)
    except KeyboardInterrupt:
        report.status = "failed"
        report.failure = (
            f"Interrupted after about {report.processed} records. Run the same seed command "
            "again to load the rest (stored records count as unchanged)."
        )
        with db.connection() as conn:
            store.update_import(conn, report.id, report.as_row())
        raise
    finally:
        done.set()
        if ticker.is_alive():
            ticker.join()
    return SeedRun(report, size, loading - started, time.monotonic() - loading)
