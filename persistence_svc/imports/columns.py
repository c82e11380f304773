"""The lines of a CSV import chunk prepared a column at a time: the rules of POST /sessions (the
field table, persistence_svc.field_table), applied once per distinct cell.

A file repeats few distinct values in most of its columns (teams, categories, languages, scores,
days), so each distinct cell of a column is checked once, by the field's direct check (the one
`schemas.load_session` uses), then the table's rules across fields; what
`sessions.prepare_record` derives from it (pseudonyms, the default tone, the confidences, the
duration, the content hash's JSON, the COPY value) is computed once per distinct value or
combination. A line that any check doubts (an invalid or missing value, a column the direct
checks do not know, personal data in its text, more cells than the header) is left to the way
every other record goes, `load_session` and `prepare_record`, whose answer, messages included, is
the reference: tests/properties/test_columnar.py shows that both ways give the same COPY rows
and content hashes.
"""

from __future__ import annotations

import functools
import hashlib
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from persistence_svc import store
from persistence_svc.field_kinds import UNSET, Uuid
from persistence_svc.field_table import (
    BY_NAME,
    CHECKS,
    MADE_DEFAULTS,
    ONE_OF,
    PLAIN_DEFAULTS,
    RECORD_RULES,
    REQUIRED,
)
from persistence_svc.fileformats import DERIVED_COLUMNS, cell_value
from persistence_svc.sessions import CONTENT_FIELDS, hashed_json
from shared import domain, pii
from shared.pseudonyms import EngineerCodes, KnownEngineers, case_ref, case_refs

_DEFAULTS = {**dict.fromkeys(CHECKS), **PLAIN_DEFAULTS}
_MADE = dict(MADE_DEFAULTS)
_DROPPED = frozenset(DERIVED_COLUMNS)  # computed here, whatever the file says
# The form of a session_id that files write: uuid.UUID(text).bytes is then its hex digits' bytes.
_CANONICAL_UUID = Uuid.CANONICAL
_CANONICAL_UUIDS = re.compile(rf"{Uuid.CANONICAL.pattern}(?:\n{Uuid.CANONICAL.pattern})*")


def _whole_column(pattern: re.Pattern[str]) -> re.Pattern[str]:
    """The pattern of a column's cells joined by line breaks, each matching `pattern`."""
    return re.compile(rf"{pattern.pattern}(?:\n{pattern.pattern})*")


# Columns whose cells, when every one has the kind's column pattern, are their own loaded value.
_SELF_LOADING = {
    name: _whole_column(field.kind.column_pattern)
    for name, field in BY_NAME.items()
    if getattr(field.kind, "column_pattern", None) is not None
}


@dataclass
class PreparedLines:
    """The outcome for the lines of a chunk: `doubtful` holds the indices of the lines left to the
    record path; the others, in order, have a session_id (16 bytes), a content hash and a row of
    COPY data (store.session_copy_row's layout) each."""

    doubtful: set[int] = field(default_factory=set)
    session_ids: list[bytes] = field(default_factory=list)
    content_hashes: list[bytes] = field(default_factory=list)
    copy_rows: list[tuple[Any, ...]] = field(default_factory=list)


def _loaded(name: str, text: str) -> Any:
    """The loaded value of one field's cell as load_session's direct checks give it (absent: the
    field's default), or UNSET when they doubt it."""
    value = cell_value(text)
    if value is None:
        if name in REQUIRED:
            return UNSET
        return _MADE[name]() if name in _MADE else _DEFAULTS[name]
    try:
        return CHECKS[name](value)
    except Exception:  # whatever a direct check trips on, the schema answers
        return UNSET


def _session_id(text: str) -> Any:
    """The 16 bytes of a cell's session_id, None when absent, UNSET when doubtful."""
    value = cell_value(text)
    if value is None:
        return None
    if _CANONICAL_UUID.fullmatch(value):
        return bytes.fromhex(value.replace("-", ""))
    loaded = _loaded("session_id", text)
    return UNSET if loaded is UNSET else loaded.bytes


def _uuid_column(cells: Sequence[str]) -> list[bytes] | None:
    """The 16 bytes of each session_id of a column where every cell has the canonical form
    (one pattern match and one hex decoding for all), else None."""
    text = "\n".join(cells)
    if not cells or not _CANONICAL_UUIDS.fullmatch(text):
        return None
    data = bytes.fromhex(text.replace("-", "").replace("\n", ""))
    return [data[start : start + 16] for start in range(0, len(data), 16)]


def _present(text: str) -> bool:
    return cell_value(text) is not None


def _json(value: Any) -> bytes:
    """One content value's part of the content hash's JSON (sessions.hashed_json of a list joins
    its items' texts with commas)."""
    return hashed_json(value).encode()


def _json_time(moment: datetime | None) -> bytes:
    return _json(None if moment is None else moment.astimezone(UTC).isoformat())


def _by_key(function: Callable[..., Any], keys: Sequence[Any], *, spread: bool) -> list[Any]:
    """function(key) (function(*key) with `spread`) for every key, computed once per distinct key."""
    if spread:
        table = {key: function(*key) for key in set(keys)}
    else:
        table = {key: function(key) for key in set(keys)}
    return list(map(table.__getitem__, keys))


def _doubted(keys: Sequence[Any], table: dict[Any, Any], doubtful: set[int]) -> None:
    """Add the indices of the keys whose value in `table` is UNSET or False."""
    bad = {key for key, value in table.items() if value is UNSET or value is False}
    if bad:
        doubtful.update(index for index, key in enumerate(keys) if key in bad)


class _Lines:
    """The cells of a chunk's lines by column, the loaded value of each distinct cell by field."""

    def __init__(
        self, names: Sequence[str], lines: list[list[str]], known: KnownEngineers | None = None
    ) -> None:
        self.known = known
        self.size = len(lines)
        width = len(names)
        self.doubtful: set[int] = set()
        if set(map(len, lines)) - {width}:
            lines = [self._fit(index, cells, width) for index, cells in enumerate(lines)]
        by_name = dict(zip(names, zip(*lines, strict=True), strict=True)) if lines else {}
        self.unknown = {name: by_name[name] for name in by_name.keys() - CHECKS - _DROPPED}
        nothing = ("",) * self.size
        self.cells = {name: by_name.get(name, nothing) for name in CHECKS}
        self.tables: dict[str, dict[str, Any]] = {}

    def _fit(self, index: int, cells: list[str], width: int) -> list[str]:
        if len(cells) > width:  # the record path rejects it
            self.doubtful.add(index)
            return cells[:width]
        return cells + [""] * (width - len(cells))

    def check(self) -> None:
        """Find the doubtful lines: load every distinct cell, then the checks across fields."""
        for cells in self.unknown.values():
            self.doubtful.update(index for index, text in enumerate(cells) if _present(text))
        for name, cells in self.cells.items():
            if name == "session_id" and (ids := _uuid_column(cells)) is not None:
                self.tables[name] = dict(zip(cells, ids, strict=True))
                continue
            if name in _SELF_LOADING and _SELF_LOADING[name].fullmatch("\n".join(cells)):
                self.tables[name] = dict(zip(cells, cells, strict=True))  # each is its own value
                continue
            load = _session_id if name == "session_id" else functools.partial(_loaded, name)
            table = self.tables[name] = {text: load(text) for text in set(cells)}
            _doubted(cells, table, self.doubtful)
        for first, second in ONE_OF:
            self._one_of(first, second)
        for rule in RECORD_RULES:
            self._doubt_unless(
                lambda *values, holds=rule.holds: UNSET in values or holds(*values), *rule.names
            )
        self._doubt_unless(_free_text_is_clean, "notes", "attributes", "engineer")
        if self.known:  # known engineers' names: once per distinct notes and attributes cell
            self._doubt_unless(
                functools.partial(_free_of_known_names, self.known), "notes", "attributes"
            )

    def _one_of(self, first: str, second: str) -> None:
        """Doubt the lines that give both fields or neither (both load as None when absent)."""
        tables = self.tables[first], self.tables[second]
        absent = [{text for text, value in table.items() if value is None} for table in tables]
        for this, other in ((0, 1), (1, 0)):
            if absent[other] == tables[other].keys():  # the other is absent on every line
                name = (first, second)[this]
                _doubted(self.cells[name], dict.fromkeys(absent[this], False), self.doubtful)
                return
        self._doubt_unless(lambda one, two: (one is None) != (two is None), first, second)

    def _doubt_unless(self, check: Callable[..., bool], *names: str) -> None:
        """Doubt the lines for which check(loaded values of `names`) is False."""
        passed = self.derived(check, *names)
        if not all(passed):
            self.doubtful.update(index for index, ok in enumerate(passed) if not ok)

    def keep_sure(self) -> None:
        """Drop the doubtful lines' cells (they go the record path)."""
        if not self.doubtful:
            return
        kept = [index for index in range(self.size) if index not in self.doubtful]
        self.cells = {name: [cells[i] for i in kept] for name, cells in self.cells.items()}
        self.size = len(kept)

    def values(self, name: str) -> list[Any]:
        return list(map(self.tables[name].__getitem__, self.cells[name]))

    def derived(self, function: Callable[..., Any], *names: str) -> list[Any]:
        """function(loaded values of `names`) for every line, computed once per distinct
        combination of the cells of the fields that vary (a field with one distinct cell in the
        chunk, such as one the file does not have, is a constant)."""
        tables = [self.tables[name] for name in names]
        varying = [slot for slot, table in enumerate(tables) if len(table) > 1]
        args = [None if len(table) > 1 else next(iter(table.values())) for table in tables]
        if not varying:
            return [function(*args)] * self.size
        if len(varying) == 1:
            (slot,) = varying
            table = tables[slot]

            def compute(text: str) -> Any:
                args[slot] = table[text]
                return function(*args)

            return _by_key(compute, self.cells[names[slot]], spread=False)

        def compute_many(*texts: str) -> Any:
            for slot, text in zip(varying, texts, strict=True):
                args[slot] = tables[slot][text]
            return function(*args)

        keys = list(zip(*(self.cells[names[slot]] for slot in varying), strict=True))
        return _by_key(compute_many, keys, spread=True)


def _free_text_is_clean(notes: Any, attributes: Any, engineer: Any) -> bool:
    """sessions.prepare_record's PII guard finds nothing (False: the record path reports it)."""
    if notes is UNSET or attributes is UNSET or engineer is UNSET:
        return True  # doubtful anyway
    names = (engineer,) if engineer else ()
    if notes and pii.find_pii(notes, names=names):
        return False
    return not (attributes and pii.scan_value(attributes, names=names))


def _free_of_known_names(known: KnownEngineers, notes: Any, attributes: Any) -> bool:
    """The same guard finds no known engineer's name (False: the record path reports it)."""
    if notes is UNSET or attributes is UNSET:
        return True  # doubtful anyway
    if notes and pii.find_pii(notes, known=known):
        return False
    return not (attributes and pii.scan_value(attributes, known=known))


def prepare_lines(
    names: Sequence[str],
    lines: list[list[str]],
    *,
    key: bytes,
    codes: EngineerCodes,
    now: datetime,
    known: KnownEngineers | None = None,
) -> PreparedLines:
    """Check and prepare the cells of CSV lines (not blank; `names`: the header) as
    `prepare_record(load_session(record), known=known)` would with `now`, the lines it doubts
    aside."""
    if not lines:
        return PreparedLines()
    if len(set(names)) != len(names):  # a column twice: the record path decides which counts
        return PreparedLines(doubtful=set(range(len(lines))))
    columns = _Lines(names, lines, known)
    columns.check()
    columns.keep_sure()
    outcome = PreparedLines(doubtful=columns.doubtful)
    if columns.size == 0:
        return outcome
    values: dict[str, list[Any]] = {}

    def code(engineer: Any, engineer_code: Any) -> str:
        return codes(engineer) if engineer is not None else engineer_code

    def reference(number: Any, ref: Any) -> str:
        return case_ref(str(number).strip(), key) if number is not None else ref

    values["engineer_code"] = columns.derived(code, "engineer", "engineer_code")
    numbers = columns.values("case_number")
    if None not in numbers:  # every line gives a number (so none a case_ref): all distinct, mostly
        values["case_ref"] = case_refs(map(str.strip, numbers), key)
    else:
        values["case_ref"] = columns.derived(reference, "case_number", "case_ref")
    for name in ("team", "region", "record_type", "root_cause", "agent_version", "model"):
        values[name] = columns.values(name)
    for name in ("sentiment_score", "confidence_analysis", "confidence_translation", "notes"):
        values[name] = columns.values(name)
    values["parts"] = columns.derived(lambda parts: parts or 1, "parts")
    values["languages"] = columns.values("languages")
    values["attributes"] = columns.values("attributes")
    values["tone_label"] = columns.derived(
        lambda tone, score: domain.tone_for_sentiment(score) if tone is None else tone,
        "tone_label",
        "sentiment_score",
    )
    values["started_at"] = columns.values("started_at")
    values["ended_at"] = columns.values("ended_at")
    content = [_content_json(columns, values, name) for name in CONTENT_FIELDS]
    outcome.content_hashes = [
        hashlib.sha256(b"[" + b",".join(parts) + b"]").digest()
        for parts in zip(*content, strict=True)
    ]
    overall = columns.derived(
        domain.overall_confidence, "confidence_analysis", "confidence_translation", "languages"
    )
    values["confidence_overall"] = overall
    values["confidence_rating"] = _by_key(domain.confidence_rating, overall, spread=False)
    values["analysed_at"] = columns.derived(lambda end: end or now, "ended_at")
    values["duration_seconds"] = columns.derived(domain.duration_seconds, "started_at", "ended_at")
    values["languages"] = columns.derived(store.languages_bytes, "languages")
    values["attributes"] = columns.derived(store.attributes_bytes, "attributes")
    ids = columns.values("session_id")
    outcome.session_ids = [sid if sid is not None else uuid.uuid4().bytes for sid in ids]
    values["session_id"] = outcome.session_ids
    values["content_hash"] = outcome.content_hashes
    outcome.copy_rows = list(zip(*(values[name] for name in store.SESSION_COLUMNS), strict=True))
    return outcome


def _content_json(columns: _Lines, values: dict[str, list[Any]], name: str) -> list[bytes]:
    """The JSON part of each line's content hash for one content field."""
    if name in ("started_at", "ended_at"):
        return columns.derived(_json_time, name)
    if name in ("engineer_code", "case_ref"):  # pseudonyms: letters, digits, `_` (no escapes)
        return list(map(str.encode, map('"{}"'.format, values[name])))
    if name in ("parts", "tone_label"):  # derived: by value
        return _by_key(_json, values[name], spread=False)
    return columns.derived(_json, name)
