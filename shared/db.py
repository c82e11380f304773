"""PostgreSQL access: one pool per process, transactions, and database errors mapped to HTTP errors."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
from flask import current_app
from psycopg import pq
from psycopg._copy_base import format_row_binary  # psycopg's own (C) COPY row writer
from psycopg.abc import Buffer
from psycopg.adapt import AdaptersMap, PyFormat, Transformer
from psycopg.rows import dict_row
from psycopg.types.datetime import DatetimeDumper
from psycopg_pool import ConnectionPool, PoolTimeout

from shared.errors import Conflict, ServiceUnavailable


class UtcDatetimeDumper(DatetimeDumper):
    """Aware datetimes go to PostgreSQL in UTC: Python accepts offsets up to ±23:59, PostgreSQL
    only up to ±15:59, and a valid instant must not fail because of how it was written."""

    def dump(self, obj: datetime) -> Buffer | None:
        return super().dump(obj.astimezone(UTC) if obj.tzinfo else obj)


psycopg.adapters.register_dumper(datetime, UtcDatetimeDumper)


# The dumpers of binary COPY data: psycopg's, but bytea by its C dumper of bytes (by type oid,
# psycopg would pick the one of the DB-API's Binary wrapper, written in Python).
_COPY_ADAPTERS = AdaptersMap(psycopg.adapters)
_COPY_ADAPTERS.register_dumper(bytes, psycopg.adapters.get_dumper(bytes, PyFormat.BINARY))

# The header of PostgreSQL's binary COPY format: signature, flags, header extension length
# (https://www.postgresql.org/docs/current/sql-copy.html#id-1.9.3.55.9.4.5).
BINARY_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(4) + bytes(4)


def binary_copy_data(rows: Iterable[Sequence], types: Sequence[str]) -> bytes:
    """`rows` as the data of `COPY … FROM STDIN (FORMAT BINARY)` with columns of `types`, header
    included (hand it to `copy.write()`; psycopg adds the trailer). Made without a connection, so
    another process can make it: an import's validation workers send bytes, not Python objects.
    psycopg's own row writer does the work (a private module: the version range in pyproject.toml
    pins it, and every import and batch test goes through it)."""
    transformer = Transformer(_COPY_ADAPTERS)
    registry = _COPY_ADAPTERS.types
    transformer.set_dumper_types([registry.get_oid(name) for name in types], pq.Format.BINARY)
    data = bytearray(BINARY_COPY_HEADER)
    for row in rows:
        format_row_binary(row, transformer, data)
    return bytes(data)


def binary_value(value: object, type_name: str) -> bytes:
    """One value as PostgreSQL's binary form of `type_name`, by psycopg's dumper of that type: a
    value that many rows repeat can be dumped once and sent in binary COPY data as `bytea`, whose
    binary form is the bytes themselves (the COPY format carries no types, only lengths)."""
    transformer = Transformer()
    transformer.set_dumper_types([psycopg.adapters.types.get_oid(type_name)], pq.Format.BINARY)
    (data,) = transformer.dump_sequence([value], [pq.Format.BINARY])
    return bytes(data)


def binary_dumper(type_name: str, python_type: type) -> Callable[[Any], Buffer | None]:
    """psycopg's binary dumper of `type_name` for values of `python_type`, as a function: each
    value as `binary_value` gives it, without setting up a transformer for every value."""
    oid = psycopg.adapters.types.get_oid(type_name)
    return psycopg.adapters.get_dumper_by_oid(oid, pq.Format.BINARY)(python_type).dump


def url_with_user(url: str, user: str, password: str | None = None) -> str:
    """The same server URL with another login (and optionally a password)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    credentials = quote(user) + (f":{quote(password)}" if password else "")
    netloc = f"{credentials}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def url_with_database(url: str, database: str) -> str:
    """The same server URL pointing at another database."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, parts.fragment))


def open_pool(
    url: str,
    *,
    schema: str,
    min_size: int,
    max_size: int,
    statement_timeout_ms: int,
    name: str,
    timeout: float = 5.0,
) -> ConnectionPool:
    """A pool whose connections use `schema` first and stop statements after the timeout."""
    options = f"-c search_path={schema} -c statement_timeout={statement_timeout_ms}"
    pool = ConnectionPool(
        url,
        min_size=min_size,
        max_size=max_size,
        name=name,
        open=False,
        timeout=timeout,
        kwargs={
            "options": options,
            "row_factory": dict_row,
            "application_name": name,
            "connect_timeout": 5,
        },
        # A pooled connection that went bad (server restart) is replaced, not handed out.
        check=ConnectionPool.check_connection,
    )
    pool.open(wait=False)
    return pool


def pool() -> ConnectionPool:
    """The current app's pool."""
    return current_app.extensions["db_pool"]


@contextlib.contextmanager
def connection() -> Iterator[psycopg.Connection]:
    """A pooled connection for the current request, in one transaction committed on success."""
    with wrap_db_errors(), pool().connection() as conn:
        yield conn


@contextlib.contextmanager
def wrap_db_errors() -> Iterator[None]:
    """Map database failures to the project's HTTP errors: outage -> 503, constraint -> 409."""
    try:
        yield
    except (PoolTimeout, psycopg.OperationalError) as exc:
        raise ServiceUnavailable(
            "The database is not reachable right now; retry later.", headers={"Retry-After": "2"}
        ) from exc
    except psycopg.errors.UniqueViolation as exc:
        raise Conflict("A record with this identity already exists.") from exc
    except psycopg.errors.QueryCanceled as exc:
        raise ServiceUnavailable(
            "The database took too long to answer; retry later.", headers={"Retry-After": "5"}
        ) from exc


def database_ready() -> bool:
    """True when a pooled connection answers a trivial query within a second or two."""
    try:
        with pool().connection(timeout=2) as conn:
            conn.execute("SELECT 1")
        return True
    except Exception:
        return False
