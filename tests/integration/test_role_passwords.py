"""`migrate` gives the service roles the passwords of SERVICE_DB_PASSWORDS (servers with password
logins, as in docker-compose and Kubernetes) and refuses pairs it does not understand."""

import psycopg
import pytest

from shared.migrations import migrate_all, parse_passwords


def test_migrate_sets_the_configured_role_passwords(database_url):
    try:
        migrate_all(database_url, "cr_qa=qa-secret-1, cr_trends=trends-secret-2")
        with psycopg.connect(database_url) as conn:
            rows = dict(
                conn.execute(
                    "SELECT rolname, rolpassword IS NOT NULL FROM pg_authid "
                    "WHERE rolname IN ('cr_qa', 'cr_trends', 'cr_gateway')"
                ).fetchall()
            )
        assert rows["cr_qa"] and rows["cr_trends"]
    finally:
        with psycopg.connect(database_url, autocommit=True) as conn:
            for role in ("cr_qa", "cr_trends"):
                conn.execute(f"ALTER ROLE {role} PASSWORD NULL")


@pytest.mark.parametrize("text", ["postgres=x", "cr_qa=", "cr_qa", "cr_unknown=x"])
def test_unknown_or_empty_pairs_are_refused(text):
    with pytest.raises(ValueError, match="SERVICE_DB_PASSWORDS"):
        parse_passwords(text)


def test_no_passwords_is_fine():
    assert parse_passwords("") == {}
    assert parse_passwords("cr_gateway=a=b") == {"cr_gateway": "a=b"}
