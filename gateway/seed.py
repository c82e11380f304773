"""Demo identities for `make run` (refused in production)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from gateway import clients, store, users
from shared.config import ConfigError, Settings, service_database_url

DEMO_AGENT = ("demo-agent", "demo-agent-secret")
DEMO_PASSWORD = "demo"  # noqa: S105 - the documented demo password, never seeded in production
DEMO_USERS = (
    ("manager@demo.local", ("manager",), ("emea-1",)),
    ("qa@demo.local", ("qa_lead",), ()),
    ("admin@demo.local", ("admin",), ()),
)


def _connect(settings: Settings) -> psycopg.Connection:
    return psycopg.connect(
        service_database_url(settings, "gateway"), options="-c search_path=gateway"
    )


@contextmanager
def temporary_client(settings: Settings, role: str) -> Iterator[tuple[str, str]]:
    """A client with a random secret that exists only while the demo seeding runs (the QA
    decisions of the demo data are posted through the API like any other)."""
    if settings.production:
        raise ConfigError("demo data is never seeded when CR_ENV=production")
    with _connect(settings) as conn:
        client_id, secret = clients.create_client(conn, "demo data seeding", [role])
    try:
        yield client_id, secret
    finally:
        with _connect(settings) as conn:
            store.delete_client(conn, client_id)


def seed_demo_identities(settings: Settings) -> list[str]:
    """Create the demo agent client if it is missing; returns the ids created."""
    if settings.production:
        raise ConfigError("demo identities are never created when CR_ENV=production")
    created = []
    with _connect(settings) as conn:
        client_id, secret = DEMO_AGENT
        if not store.client_exists(conn, client_id):
            clients.create_client(conn, "demo-agent", ["agent"], client_id=client_id, secret=secret)
            created.append(client_id)
        for email, roles, teams in DEMO_USERS:
            if store.get_user_by_email(conn, email) is None:
                # the one password below the policy: demo identities only, never in production
                users.create_user(conn, email, DEMO_PASSWORD, roles, teams, check_password=False)
                created.append(email)
    return created
