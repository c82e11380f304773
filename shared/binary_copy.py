"""PostgreSQL's binary COPY format, written without a connection (an import's validation workers
send bytes, not Python objects): the header, and rows of the few column types the platform copies.

The format (https://www.postgresql.org/docs/current/sql-copy.html, "Binary Format"): a header,
then per row a 16-bit field count and per field a 32-bit length (-1 for NULL) and the value in
the type's binary form (https://www.postgresql.org/docs/current/protocol-overview.html: network
byte order). The data is made a column at a time: each column's fields by one map over C
functions (or once per distinct value), then interleaved, so that a row costs no Python call per
field; psycopg writes the trailer when its `Copy` ends.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from itertools import repeat
from typing import Any

# Signature, flags (no OIDs), header extension length.
HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(4) + bytes(4)
NULL = struct.pack(">i", -1)
_LENGTH = struct.Struct(">i").pack
_FIELD_COUNT = struct.Struct(">h").pack
_INT2 = struct.Struct(">ih").pack  # length 2, value
_INT4 = struct.Struct(">ii").pack
_INT8 = struct.Struct(">iq").pack
_FLOAT8 = struct.Struct(">id").pack
_ARRAY_HEAD = struct.Struct(">iiiii").pack  # dimensions, has nulls, element oid, size, lower bound
_TEXT_OID = 25
_PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)  # timestamps count microseconds from here
_MICROSECOND = timedelta(microseconds=1)
Slot = bytes | list[bytes]  # the same bytes on every row, or each row's own


def _text_field(value: str) -> bytes:
    data = value.encode()
    return _LENGTH(len(data)) + data


def _bytea_field(value: bytes) -> bytes:
    return _LENGTH(len(value)) + value


def _timestamptz_field(value: datetime) -> bytes:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("timestamptz values must be aware datetimes")
    return _INT8(8, (value - _PG_EPOCH) // _MICROSECOND)


def text_array(items: Sequence[str]) -> bytes:
    """A `text[]` value in its binary form (one dimension, no NULL items, lower bound 1)."""
    if not items:
        return struct.pack(">iii", 0, 0, _TEXT_OID)
    return _ARRAY_HEAD(1, 0, _TEXT_OID, len(items), 1) + b"".join(map(_text_field, items))


def _text_fields(values: Sequence[str]) -> list[Slot]:
    return _bytea_fields(list(map(str.encode, values)))


def _bytea_fields(values: Sequence[bytes]) -> list[Slot]:
    """The lengths and the values as two slots: no value is copied to put its length before it."""
    values = values if isinstance(values, list) else list(values)
    lengths = set(map(len, values))
    if len(lengths) == 1:  # ids, hashes, codes: one length prefix for all
        return [_LENGTH(lengths.pop()), values]
    return [list(map(_LENGTH, map(len, values))), values]


class ColumnType:
    """How one PostgreSQL type's values become fields: `field` for one value, `fields` for many
    without NULLs as slots (see columns_data), in C calls only. Values that repeat (labels,
    times) are encoded once per distinct value, which is cheaper than once per row."""

    def __init__(
        self,
        field: Callable[[Any], bytes],
        fields: Callable[[Sequence[Any]], list[Slot]],
    ) -> None:
        self.field = field
        self.fields = fields

    def slots(self, values: Sequence[Any]) -> list[Slot | _Tabled]:
        """The fields of a column: one field for every row, a table by value, or slots."""
        distinct = set(values)
        # A table by value would write 0.0 for -0.0 (they are equal): not with a zero.
        if (None in distinct or len(distinct) * 4 <= len(values)) and 0 not in distinct:
            table = {value: self.field(value) for value in distinct if value is not None}
            table[None] = NULL
            if len(distinct) == 1:
                return [table[distinct.pop()]]
            return [_Tabled(table, values)]
        if None in distinct:
            return [[NULL if value is None else self.field(value) for value in values]]
        return self.fields(values)


class _Tabled:
    """A column's fields as a table by value (a field for each distinct value)."""

    def __init__(self, table: dict[Any, bytes], values: Sequence[Any]) -> None:
        self.table = table
        self.values = values

    def fields(self) -> list[bytes]:
        return list(map(self.table.__getitem__, self.values))


def _each(field: Callable[[Any], bytes]) -> Callable[[Sequence[Any]], list[Slot]]:
    return lambda values: [list(map(field, values))]


COLUMN_TYPES: dict[str, ColumnType] = {
    "text": ColumnType(_text_field, _text_fields),
    "bytea": ColumnType(_bytea_field, _bytea_fields),
    "int2": ColumnType(
        lambda value: _INT2(2, value), lambda values: [list(map(_INT2, repeat(2), values))]
    ),
    "int4": ColumnType(
        lambda value: _INT4(4, value), lambda values: [list(map(_INT4, repeat(4), values))]
    ),
    "float8": ColumnType(
        lambda value: _FLOAT8(8, value),
        lambda values: [list(map(_FLOAT8, repeat(8), values))],
    ),
    "timestamptz": ColumnType(_timestamptz_field, _each(_timestamptz_field)),
}


def rows_data(rows: Iterable[Sequence[Any]], types: Sequence[str]) -> bytes:
    """`rows` as the data of `COPY … FROM STDIN (FORMAT BINARY)` with columns of `types` (names
    of COLUMN_TYPES), header included: hand it to `copy.write()`; psycopg adds the trailer."""
    rows = rows if isinstance(rows, list) else list(rows)
    if rows and set(map(len, rows)) != {len(types)}:
        raise ValueError(f"every row must have {len(types)} values")
    return columns_data(list(zip(*rows, strict=True)) or [()] * len(types), types)


def columns_data(columns: Sequence[Sequence[Any]], types: Sequence[str]) -> bytes:
    """rows_data of the rows whose values are given by column (all of one length)."""
    if len(columns) != len(types) or len(set(map(len, columns))) > 1:
        raise ValueError(f"give {len(types)} columns of one length")
    if not columns or not columns[0]:
        return HEADER
    # The data is one list of pieces, row after row, that one join makes bytes: each slot (what
    # one column gives every row: its fields, or their lengths, or their values) is put in its
    # places by one slice assignment. A slot with the same bytes on every row joins the slot
    # before it (the field count, a table by value, or another such slot), so that a row has
    # fewer pieces to join.
    slots: list[Slot | _Tabled] = [_FIELD_COUNT(len(types))]
    for name, values in zip(types, columns, strict=True):
        for slot in COLUMN_TYPES[name].slots(values):
            last = slots[-1]
            if isinstance(slot, bytes) and isinstance(last, bytes):
                slots[-1] = last + slot
            elif isinstance(slot, bytes) and isinstance(last, _Tabled):
                last.table = {value: field + slot for value, field in last.table.items()}
            else:
                slots.append(slot)
    count = len(columns[0])
    width = len(slots)
    pieces: list[bytes] = [b""] * (count * width)
    for position, slot in enumerate(slots):
        if isinstance(slot, bytes):
            pieces[position::width] = [slot] * count
        elif isinstance(slot, _Tabled):
            pieces[position::width] = slot.fields()
        else:
            pieces[position::width] = slot
    return HEADER + b"".join(pieces)
