"""One runner for every service's forward-only SQL migrations (yoyo), plus role/schema provisioning."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import psycopg
from psycopg import sql
from yoyo import read_migrations
from yoyo.backends.core.postgresql import PostgresqlPsycopgBackend
from yoyo.connections import parse_uri

from shared.config import PROJECT_ROOT, admin_database_url, load_settings, role_name

# Order matters only for readability: no schema reads another's tables.
SERVICES: dict[str, str] = {
    "gateway": "gateway",
    "persistence": "persistence_svc",
    "trends": "trends_svc",
    "qa": "qa_svc",
}
log = logging.getLogger("cr.migrations")


class _RoleBackend(PostgresqlPsycopgBackend):
    """yoyo's psycopg backend that acts as the service's role, so the role owns what it creates."""

    def connect(self, dburi):
        args = dict(dburi.args)
        role = args.pop("role", None)
        connection = super().connect(dburi._replace(args=args))
        if role:
            connection.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(role)))
        return connection


def provision(admin_url: str, schema: str, password: str | None = None) -> None:
    """Create the service's login role and its schema (owned by that role) if they are missing;
    give the role `password` when one is configured."""
    role = role_name(schema)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        # Serialise concurrent provisioning (several test workers, several migration jobs).
        conn.execute("SELECT pg_advisory_lock(hashtext('cr-provision'))")
        try:
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role]).fetchone()
            if not exists:
                conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
            if password:
                conn.execute(
                    sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                        sql.Identifier(role), sql.Literal(password)
                    )
                )
            conn.execute(sql.SQL("GRANT {} TO CURRENT_USER").format(sql.Identifier(role)))
            conn.execute(
                sql.SQL("CREATE SCHEMA IF NOT EXISTS {} AUTHORIZATION {}").format(
                    sql.Identifier(schema), sql.Identifier(role)
                )
            )
            conn.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")
        finally:
            conn.execute("SELECT pg_advisory_unlock(hashtext('cr-provision'))")


def migrations_dir(schema: str) -> Path:
    """Where a service keeps its migrations, e.g. persistence_svc/migrations."""
    return PROJECT_ROOT / SERVICES[schema] / "migrations"


def migrate(admin_url: str, schema: str, password: str | None = None) -> int:
    """Provision, then apply the service's pending migrations under yoyo's lock; returns how many."""
    provision(admin_url, schema, password)
    uri = admin_url.replace("postgresql://", "postgresql+psycopg://", 1).replace(
        "postgres://", "postgresql+psycopg://", 1
    )
    uri += ("&" if "?" in uri else "?") + f"schema={schema}&role={role_name(schema)}"
    backend = _RoleBackend(parse_uri(uri), "_yoyo_migration")
    backend.init_database()
    try:
        migrations = read_migrations(str(migrations_dir(schema)))
        with backend.lock():
            pending = backend.to_apply(migrations)
            backend.apply_migrations(pending)
        if len(pending):
            log.info("applied migrations", extra={"schema": schema, "count": len(pending)})
        return len(pending)
    finally:
        backend.connection.close()


def migrate_all(admin_url: str, passwords: str = "") -> dict[str, int]:
    """Migrate every service schema; returns the number applied per schema. `passwords` is the
    SERVICE_DB_PASSWORDS setting (`cr_gateway=…,cr_persistence=…`)."""
    by_role = parse_passwords(passwords)
    return {
        schema: migrate(admin_url, schema, by_role.get(role_name(schema))) for schema in SERVICES
    }


def parse_passwords(text: str) -> dict[str, str]:
    """`role=password` pairs separated by commas; a role outside the services' is refused."""
    pairs = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        role, _, password = item.partition("=")
        if role not in {role_name(schema) for schema in SERVICES} or not password:
            raise ValueError(f"SERVICE_DB_PASSWORDS: expected cr_<service>=password, got {role!r}")
        pairs[role] = password
    return pairs


def main() -> int:
    """`python -m shared.migrations`: migrate every schema at DATABASE_URL (the release job)."""
    logging.basicConfig(level=logging.INFO)
    settings = load_settings(dict(os.environ))
    print(migrate_all(admin_database_url(settings), settings.service_db_passwords))
    return 0


if __name__ == "__main__":
    sys.exit(main())
