"""From a validated analysis to the stored record: pseudonyms, derived values, PII guard, hash."""

from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import marshmallow as ma
import psycopg

from persistence_svc import store
from persistence_svc.fileformats import INPUT_COLUMNS
from persistence_svc.schemas import load_session
from shared import domain, pii
from shared.errors import Conflict, Forbidden, Unprocessable, field_error, flatten_messages
from shared.pseudonyms import EngineerCodes, KnownEngineers, case_ref, engineer_code

# The columns a record's content hash covers: everything the client determines.
CONTENT_FIELDS = INPUT_COLUMNS[1:]  # all but session_id
_STARTED, _ENDED = CONTENT_FIELDS.index("started_at"), CONTENT_FIELDS.index("ended_at")
# The JSON a content hash covers; changing it changes every stored hash (re-imports would conflict).
_HASHED_JSON = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
)


def hashed_json(values: Any) -> str:
    """The JSON text a content hash covers (of a list of content values, or of one of them)."""
    return _HASHED_JSON.encode(values)


class KnownEngineerIndex:
    """This process's copy of the known engineer codes (table known_engineers). `current` costs
    one count of the set; the codes are read again when the count moved (an engineer first
    stored, or erased), so the copy a write is checked with is the committed set at that moment,
    in every process. An erasure and a first session committed between two writes leave the count
    as it was: the copy is also read again once it is MAX_AGE_SECONDS old."""

    MAX_AGE_SECONDS = 60.0

    def __init__(self, key: bytes) -> None:
        self._key = key
        self._version: int | None = None
        self._read_at = 0.0
        self._known = KnownEngineers((), key)
        self._lock = threading.Lock()

    def current(self, conn: psycopg.Connection) -> KnownEngineers:
        """The known engineers as committed now."""
        version = store.known_engineers_version(conn)
        if version != self._version or self._stale():
            with self._lock:
                if version != self._version or self._stale():
                    stored = store.known_engineers(conn)
                    self._known = KnownEngineers(stored["codes"], self._key)
                    self._version = stored["version"]
                    self._read_at = time.monotonic()
        return self._known

    def _stale(self) -> bool:
        return time.monotonic() - self._read_at > self.MAX_AGE_SECONDS


_INDEXES: dict[bytes, KnownEngineerIndex] = {}


def known_engineers(conn: psycopg.Connection, key: bytes) -> KnownEngineers:
    """The engineers stored as committed now, whose names free text must not hold (through this
    process's KnownEngineerIndex under `key`)."""
    index = _INDEXES.get(key) or _INDEXES.setdefault(key, KnownEngineerIndex(key))
    return index.current(conn)


def personal_data_in(conn: psycopg.Connection, texts: list[str], key: bytes) -> dict[str, Any]:
    """The PII guard of free text for another service: for each text, the kinds and positions of
    its personal data, the names of the engineers stored now included."""
    known = known_engineers(conn, key)
    return {
        "items": [
            {"findings": [vars(finding) for finding in pii.find_pii(text, known=known)]}
            for text in texts
        ]
    }


class PersonalDataFound(Exception):
    """Free text holds personal data; `fields` maps each field path to the kinds found."""

    def __init__(self, fields: dict[str, list[str]]) -> None:
        super().__init__("personal data in free text")
        self.fields = fields


def prepare_record(
    data: dict[str, Any],
    key: bytes,
    *,
    redact: bool = False,
    now: datetime | None = None,
    codes: EngineerCodes | None = None,
    known: KnownEngineers | None = None,
) -> dict[str, Any]:
    """Turn a validated analysis into the row to store: names become pseudonyms, derived values are
    computed, and free text is PII-checked (rejected, or redacted when `redact`): the name sent
    with it, and the names of the `known` engineers (`known_engineers`; None: none is known).
    `codes` are the engineer codes of the import or batch the record belongs to."""
    record = dict(data)
    name = record.pop("engineer", None)
    number = record.pop("case_number", None)
    if name is not None:
        record["engineer_code"] = engineer_code(name, key) if codes is None else codes(name)
    if number is not None:
        record["case_ref"] = case_ref(str(number).strip(), key)
    record["session_id"] = record.get("session_id") or uuid.uuid4()
    record.setdefault("region", None)
    record["parts"] = record.get("parts") or 1
    if record.get("tone_label") is None:
        record["tone_label"] = domain.tone_for_sentiment(record["sentiment_score"])
    _guard_free_text(record, names=(name,) if name else (), known=known, redact=redact)
    overall = domain.overall_confidence(
        record["confidence_analysis"], record.get("confidence_translation"), record["languages"]
    )
    record["confidence_overall"] = overall
    record["confidence_rating"] = domain.confidence_rating(overall)
    record["duration_seconds"] = domain.duration_seconds(
        record.get("started_at"), record.get("ended_at")
    )
    record["analysed_at"] = record.get("ended_at") or now or datetime.now(UTC)
    record["content_hash"] = content_hash(record)
    return record


def _guard_free_text(
    record: dict[str, Any],
    *,
    names: tuple[str, ...],
    known: KnownEngineers | None,
    redact: bool,
) -> None:
    found: dict[str, list[str]] = {}
    notes = record.get("notes")
    if notes:
        findings = pii.find_pii(notes, names=names, known=known)
        if findings and redact:
            record["notes"] = pii.redact(notes, findings)
        elif findings:
            found["notes"] = sorted({finding.kind for finding in findings})
    attributes = record.get("attributes") or {}
    hits = pii.scan_value(attributes, names=names, known=known) if attributes else []
    if hits and redact:
        record["attributes"] = pii.redact_value(attributes, names=names, known=known)
    elif hits:
        for path, kind in hits:
            found.setdefault(f"attributes.{path}" if path else "attributes", []).append(kind)
    if found:
        raise PersonalDataFound(found)


def content_hash(record: dict[str, Any]) -> bytes:
    """SHA-256 over the client-determined content: JSON of the content fields in a fixed order,
    times in UTC (the same instant written with another offset is the same content)."""
    values = list(map(record.get, CONTENT_FIELDS))
    if isinstance(started := values[_STARTED], datetime):
        values[_STARTED] = started.astimezone(UTC).isoformat()
    if isinstance(ended := values[_ENDED], datetime):
        values[_ENDED] = ended.astimezone(UTC).isoformat()
    return hashlib.sha256(hashed_json(values).encode()).digest()


def pii_problem_errors(error: PersonalDataFound, prefix: str = "") -> list[dict[str, str]]:
    """Problem `errors` entries for personal data found, naming the field and the kinds only."""
    return [
        {
            "field": f"{prefix}{field}",
            "reason": "Personal data is not stored: remove the " + ", ".join(kinds) + ".",
        }
        for field, kinds in sorted(error.fields.items())
    ]


def prepare_or_reject(
    data: dict[str, Any], key: bytes, *, redact: bool, known: KnownEngineers
) -> dict[str, Any]:
    """prepare_record, with personal data answered as a 422 naming the fields."""
    try:
        return prepare_record(data, key, redact=redact, known=known)
    except PersonalDataFound as found:
        raise Unprocessable(
            "Personal data is not stored.", errors=pii_problem_errors(found)
        ) from None


def check_engineer_or_reject(name: str) -> None:
    """422 with the agent's own message when `name` is not a valid engineer name."""
    result = domain.check_engineer_name(name)
    if not result.valid:
        raise Unprocessable(errors=[{"field": "engineer", "reason": result.message}])


def engineer_codes_or_reject(names: list[str], key: bytes) -> list[str]:
    """The pseudonym of each name, in order; 422 naming each invalid name by its place
    (`engineers.3`, with the agent's message, never the name) before any is looked up."""
    errors = [
        field_error(f"engineers.{index}", result.message)
        for index, name in enumerate(names)
        if not (result := domain.check_engineer_name(name)).valid
    ]
    if errors:
        raise Unprocessable(errors=errors)
    return [engineer_code(name, key) for name in names]


OUTSIDE_TEAMS = "Outside the teams this caller acts for."


def outside_teams(team: str, teams: list[str] | None) -> bool:
    """True when a team-scoped caller (`teams` not None) names a team that is not one of its own."""
    return teams is not None and team not in teams


def check_team_or_refuse(team: str, teams: list[str] | None) -> None:
    """403 naming `team` (never its value) when a team-scoped caller writes for another team."""
    if outside_teams(team, teams):
        raise Forbidden(
            "This caller may only store analyses of its own teams.",
            errors=[field_error("team", OUTSIDE_TEAMS)],
        )


def store_session(conn: psycopg.Connection, record: dict[str, Any]) -> tuple[dict, bool]:
    """Insert the record; a repeat with the same content returns the stored row (created False),
    other content under the same id is a Conflict."""
    row = store.insert_session(conn, record)
    if row is not None:
        return row, True
    stored = store.content_hashes(conn, [record["session_id"]]).get(record["session_id"])
    if stored != record["content_hash"]:
        raise Conflict(
            "This session_id is stored with different content.",
            errors=[{"field": "session_id", "reason": "Stored with different content."}],
        )
    return store.get_session(conn, record["session_id"]), False


def sent_id(item: Any) -> uuid.UUID | None:
    """The session_id an item names, when it is a well-formed one (an invalid item's result says
    which session it was)."""
    value = item.get("session_id") if isinstance(item, dict) else None
    try:
        return uuid.UUID(value) if isinstance(value, str) else None
    except ValueError:
        return None


def store_batch(
    conn: psycopg.Connection,
    items: list[dict[str, Any]],
    key: bytes,
    *,
    redact: bool,
    teams: list[str] | None = None,
) -> dict[str, Any]:
    """Validate and store many items: one insert for all valid ones, one look-up for repeats;
    free text is checked against the engineers known when the batch starts. With `teams` (a
    team-scoped caller), an item of another team is invalid for `team` and not stored.

    Returns counts and one result per item (created, unchanged, conflict or invalid).
    """
    known = known_engineers(conn, key)
    results: list[dict[str, Any]] = []
    valid: dict[uuid.UUID, tuple[int, dict[str, Any]]] = {}
    codes = EngineerCodes(key)
    for index, item in enumerate(items):
        result: dict[str, Any] = {"index": index, "session_id": sent_id(item), "status": "invalid"}
        results.append(result)
        try:
            record = prepare_record(
                load_session(item), key, redact=redact, codes=codes, known=known
            )
        except ma.ValidationError as error:
            result["errors"] = flatten_messages(error.messages)
            continue
        except PersonalDataFound as found:
            result["errors"] = pii_problem_errors(found)
            continue
        result["session_id"] = record["session_id"]
        if outside_teams(record["team"], teams):
            result["errors"] = [field_error("team", OUTSIDE_TEAMS)]
            continue
        if record["session_id"] in valid:  # the same id twice in one batch
            first = valid[record["session_id"]][1]
            same = first["content_hash"] == record["content_hash"]
            result["status"] = "unchanged" if same else "conflict"
            continue
        valid[record["session_id"]] = (index, record)
    created = (
        store.copy_sessions(conn, [record for _, record in valid.values()]) if valid else set()
    )
    repeats = [sid for sid in valid if sid not in created]
    stored = store.content_hashes(conn, repeats) if repeats else {}
    for session_id, (index, record) in valid.items():
        if session_id in created:
            results[index]["status"] = "created"
        elif stored.get(session_id) == record["content_hash"]:
            results[index]["status"] = "unchanged"
        else:
            results[index]["status"] = "conflict"
    counts = {
        status: sum(1 for r in results if r["status"] == status)
        for status in ("created", "unchanged", "conflict", "invalid")
    }
    return {
        "created": counts["created"],
        "unchanged": counts["unchanged"],
        "conflicts": counts["conflict"],
        "invalid": counts["invalid"],
        "items": results,
    }
