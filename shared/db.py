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
from psycopg.abc import Buffer
from psycopg.rows import dict_row
from psycopg.types.datetime import DatetimeDumper
from psycopg_pool import ConnectionPool, PoolTimeout

from shared import binary_copy
from shared.errors import Conflict, ServiceUnavailable


class UtcDatetimeDumper(DatetimeDumper):
    """Aware datetimes go to PostgreSQL in UTC: Python accepts offsets up to ±23:59, PostgreSQL
    only up to ±15:59, and a valid instant must not fail because of how it was written."""

    def dump(self, obj: datetime) -> Buffer | None:
        return super().dump(obj.astimezone(UTC) if obj.tzinfo else obj)


psycopg.adapters.register_dumper(datetime, UtcDatetimeDumper)


def binary_copy_data(rows: Iterable[Sequence], types: Sequence[str]) -> bytes:
    """`rows` as the data of `COPY … FROM STDIN (FORMAT BINARY)` with columns of `types`, header
    included (hand it to `copy.write()`; psycopg adds the trailer). Made without a connection, so
    another process can make it: an import's validation workers send bytes, not Python objects.
    The format is written by shared.binary_copy (psycopg's own writer is not a public API)."""
    return binary_copy.rows_data(rows, types)


def binary_value(value: object, type_name: str) -> bytes:
    """One value as PostgreSQL's binary form of `type_name`: a value that many rows repeat can be
    dumped once and sent in binary COPY data as `bytea`, whose binary form is the bytes themselves
    (the COPY format carries no types, only lengths). `text[]` by shared.binary_copy (psycopg
    picks an array's type from its items, none for an empty list), others by psycopg's dumper."""
    if type_name == "text[]":
        return binary_copy.text_array(value)  # type: ignore[arg-type]
    data = binary_dumper(type_name, type(value))(value)
    if data is None:
        raise ValueError(f"no binary form of {type_name} for this value")
    return bytes(data)


def binary_dumper(type_name: str, python_type: type) -> Callable[[Any], Buffer | None]:
    """psycopg's binary dumper of `type_name` for values of `python_type`, as a function (its
    public adaptation API: `AdaptersMap.get_dumper_by_oid`, `Dumper.dump`)."""
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
