"""Demo identities for `make run` (refused in production)."""

from __future__ import annotations

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


def seed_demo_identities(settings: Settings) -> list[str]:
    """Create the demo agent client if it is missing; returns the ids created."""
    if settings.production:
        raise ConfigError("demo identities are never created when CR_ENV=production")
    created = []
    options = "-c search_path=gateway"
    with psycopg.connect(service_database_url(settings, "gateway"), options=options) as conn:
        client_id, secret = DEMO_AGENT
        if not store.client_exists(conn, client_id):
            clients.create_client(conn, "demo-agent", ["agent"], client_id=client_id, secret=secret)
            created.append(client_id)
        for email, roles, teams in DEMO_USERS:
            if store.get_user_by_email(conn, email) is None:
                users.create_user(conn, email, DEMO_PASSWORD, roles, teams)
                created.append(email)
    return created
