"""The report of an import: counts and per-row problems, as GET /imports/{id} shows them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import psycopg

from persistence_svc import store
from shared.errors import reportable_field

MAX_REPORTED_ERRORS = 1000
ABANDONED = (
    "the service running the import stopped. Import the same file again to load the rest "
    "(stored records count as unchanged)."
)


@dataclass
class ImportReport:
    """Counts and per-row problems of one import, as GET /imports/{id} shows them."""

    id: uuid.UUID
    dry_run: bool
    status: str = "running"
    total: int | None = None
    processed: int = 0
    inserted: int = 0
    unchanged: int = 0
    rejected: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    failure: str | None = None

    def reject(self, row: int, field_name: str, code: str, message: str) -> None:
        """Note a problem of one row. Field names come from the file, so only names shaped like
        a column name are repeated (a key could be a person's name, or hold a NUL character,
        which PostgreSQL cannot store); anything else is reported as `record`."""
        field_name = reportable_field(field_name, fallback="record")
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append({"row": row, "field": field_name, "code": code, "message": message})

    def checkpoint(self) -> tuple[int, int, int, int, int]:
        return self.processed, self.inserted, self.unchanged, self.rejected, len(self.errors)

    def rollback(self, checkpoint: tuple[int, int, int, int, int]) -> None:
        """Back to a checkpoint: the counts of a chunk whose transaction failed are not kept."""
        self.processed, self.inserted, self.unchanged, self.rejected, errors = checkpoint
        del self.errors[errors:]

    def as_row(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "total": self.total,
            "processed": self.processed,
            "inserted": self.inserted,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "errors": sorted(self.errors, key=lambda error: error["row"]),
            "failure": self.failure,
        }


def report_body(row: dict[str, Any]) -> dict[str, Any]:
    """The import report as the API answers it."""
    return {
        "id": row["import_id"],
        "status": row["status"],
        "dry_run": row["dry_run"],
        "total": row["total"],
        "processed": row["processed"],
        "inserted": row["inserted"],
        "unchanged": row["unchanged"],
        "rejected": row["rejected"],
        "errors": row["errors"],
        "failure": row["failure"],
    }


def stored_report(conn: psycopg.Connection, import_id: uuid.UUID) -> dict[str, Any] | None:
    """The report of an import as the API answers it (None: no such import). A running import
    whose runner is gone (its lock ended with it) is recorded as failed where it stopped."""
    row = store.get_import(conn, import_id)
    if (
        row is not None
        and row["status"] == "running"
        and store.fail_abandoned_import(conn, import_id, ABANDONED)
    ):
        row = store.get_import(conn, import_id)
    return None if row is None else report_body(row)
