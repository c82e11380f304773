"""Flask commands of the gateway: clients (and consents given to them), API keys, demo
identities, key rotation."""

from __future__ import annotations

import sys
from collections.abc import Iterable

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from gateway import api_keys, audit, clients, delegation, keys, seed, store, store_api_keys, users
from shared import db
from shared.config import ConfigError
from shared.web import settings_of


def register_cli(app: Flask) -> None:
    app.cli.add_command(create_client_command)
    app.cli.add_command(create_user_command)
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(rotate_keys_command)
    app.cli.add_command(create_api_key_command)
    app.cli.add_command(list_api_keys_command)
    app.cli.add_command(revoke_api_key_command)
    app.cli.add_command(list_clients_command)
    app.cli.add_command(approve_client_command)
    app.cli.add_command(revoke_consent_command)


def roles_option(help_text: str):
    """The repeatable, required `--role` of the commands that create clients and keys."""
    return click.option(
        "--role",
        "roles",
        multiple=True,
        required=True,
        type=click.Choice(clients.ROLES),
        help=help_text,
    )


@click.command("create-client")
@with_appcontext
@click.argument("name")
@roles_option("Role of the client (repeatable).")
@click.option("--team", "teams", multiple=True, help="Team scope (repeatable).")
@click.option("--client-id", default=None, help="Choose the id instead of generating one.")
@click.option("--secret-stdin", is_flag=True, help="Read the secret from standard input.")
@click.option(
    "--redirect-uri",
    "redirect_uris",
    multiple=True,
    help="A third-party agent client acting for the person who signs in (repeatable; exact "
    "match; https, or http on 127.0.0.1/localhost for development).",
)
@click.option(
    "--pkce",
    type=click.Choice(["required", "optional"]),
    default="required",
    show_default=True,
    help="optional: the client may omit PKCE (some agent platforms send none).",
)
def create_client_command(name, roles, teams, client_id, secret_stdin, redirect_uris, pkce):
    """Create an OAuth client; prints its id and secret (the secret is shown only this once)."""
    secret = sys.stdin.readline().strip() if secret_stdin else None
    try:
        with db.connection() as conn:
            client_id, secret = clients.create_client(
                conn,
                name,
                roles,
                teams,
                client_id=client_id,
                secret=secret,
                redirect_uris=redirect_uris,
                pkce_required=pkce == "required",
            )
    except clients.ClientError as error:
        raise click.ClickException(str(error)) from None
    audit.record(
        "client.create", principal=None, actor="cli", outcome="success", obj=f"client {client_id}"
    )
    click.echo(f"client_id: {client_id}")
    click.echo(f"client_secret: {secret}")


@click.command("create-user")
@with_appcontext
@click.argument("email")
@click.option(
    "--role",
    "roles",
    multiple=True,
    required=True,
    type=click.Choice(users.USER_ROLES),
    help="Role of the user (repeatable).",
)
@click.option("--team", "teams", multiple=True, help="Team a manager may see (repeatable).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create_user_command(email, roles, teams, password_stdin):
    """Create a user of the built-in provider (the password is asked for, or read from stdin)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        with db.connection() as conn:
            user_id = users.create_user(conn, email, password, roles, teams)
    except users.UserError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"user_id: {user_id}")


@click.command("seed-demo")
@with_appcontext
def seed_demo_command():
    """Create the demo identities (refused when CR_ENV=production)."""
    try:
        created = seed.seed_demo_identities(settings_of(current_app))
    except ConfigError as error:
        raise click.ClickException(str(error)) from None
    click.echo("created: " + (", ".join(created) or "nothing (already present)"))


@click.command("rotate-keys")
@with_appcontext
def rotate_keys_command():
    """Add a new signing key; it is published at once and signs after the next restart."""
    click.echo(f"new key: {keys.rotate_keys(settings_of(current_app))}")


@click.command("create-api-key")
@with_appcontext
@click.argument("name")
@roles_option("Role of the key (repeatable).")
@click.option("--team", "teams", multiple=True, help="Team the key acts within (repeatable).")
@click.option(
    "--expires-days",
    type=click.IntRange(min=1),
    default=None,
    help="Days until the key is refused (default: never).",
)
def create_api_key_command(name, roles, teams, expires_days):
    """Create an API key; prints `api_key: …` (shown only this once, stored as a hash)."""
    try:
        with db.connection() as conn:
            key, row = api_keys.create_api_key(conn, name, roles, teams, expires_days=expires_days)
    except api_keys.ApiKeyError as error:
        raise click.ClickException(str(error)) from None
    audit.record(
        "api_key.create",
        principal=None,
        actor="cli",
        outcome="success",
        obj=f"api-key {row['prefix']} roles={','.join(row['roles'])}",
    )
    click.echo(f"api_key: {key}")
    click.echo(f"prefix: {row['prefix']}")
    click.echo(f"expires_at: {_shown(row['expires_at'])}")


@click.command("list-api-keys")
@with_appcontext
def list_api_keys_command():
    """List API keys: name, prefix, roles, teams, state, expiry and last use (never the key)."""
    with db.connection() as conn:
        rows = store_api_keys.list_api_keys(conn)
    columns = ["name", "prefix", "roles", "teams", "status", "created_at", "expires_at"]
    _echo_table(
        [*columns, "last_used_at"],
        (
            [
                row["name"],
                row["prefix"],
                ",".join(row["roles"]),
                ",".join(row["teams"]) or "-",
                row["status"],
                _shown(row["created_at"]),
                _shown(row["expires_at"]),
                _shown(row["last_used_at"]),
            ]
            for row in rows
        ),
    )


@click.command("revoke-api-key")
@with_appcontext
@click.argument("name")
def revoke_api_key_command(name):
    """Revoke the live API key with this name: every call with it gets 401 from now on."""
    try:
        with db.connection() as conn:
            row = api_keys.revoke_api_key(conn, name)
    except api_keys.ApiKeyError as error:
        raise click.ClickException(str(error)) from None
    audit.record(
        "api_key.revoke",
        principal=None,
        actor="cli",
        outcome="success",
        obj=f"api-key {row['prefix']}",
    )
    click.echo(f"revoked: {row['prefix']}")


@click.command("list-clients")
@with_appcontext
def list_clients_command():
    """List OAuth clients: id, name, roles, kind, state, redirect URIs (never a secret)."""
    with db.connection() as conn:
        rows = store.list_clients(conn)
    _echo_table(
        ["client_id", "name", "roles", "kind", "state", "redirect_uris"],
        (
            [
                row["client_id"],
                row["name"],
                ",".join(row["roles"]),
                _client_kind(row),
                "disabled" if row["disabled"] else "active" if row["approved"] else "awaiting",
                " ".join(row["redirect_uris"]) or "-",
            ]
            for row in rows
        ),
    )


def _client_kind(row: dict) -> str:
    kind = "public" if row["public"] else "confidential"
    if row["redirect_uris"] and not row["pkce_required"]:
        kind += ",pkce-optional"
    return kind


def _echo_table(columns: list[str], rows: Iterable[list[str]]) -> None:
    """A tab-separated table with a header line (for people and for `cut`)."""
    click.echo("\t".join(columns))
    for row in rows:
        click.echo("\t".join(row))


@click.command("approve-client")
@with_appcontext
@click.argument("client_id")
def approve_client_command(client_id):
    """Approve a client registered dynamically while MCP_CLIENT_REGISTRATION=admin."""
    with db.connection() as conn:
        approved = store.approve_client(conn, client_id)
    if not approved:
        raise click.ClickException("no client awaits approval under this id")
    audit.record(
        "client.approve", principal=None, actor="cli", outcome="success", obj=f"client {client_id}"
    )
    click.echo(f"approved: {client_id}")


@click.command("revoke-consent")
@with_appcontext
@click.option("--user", "email", required=True, help="Login e-mail of the person.")
@click.option("--client", "client_id", required=True, help="Id of the agent client.")
def revoke_consent_command(email, client_id):
    """Revoke a person's consent to an agent client: its refresh tokens for them end at once and
    the next authorization asks the person again."""
    with db.connection() as conn:
        user = store.get_user_by_email(conn, email)
        found = user is not None and delegation.revoke_consent(conn, user["user_id"], client_id)
    if not found:
        raise click.ClickException("this person has not connected this client")
    audit.record(
        "oauth.consent_revoke",
        principal=None,
        actor="cli",
        outcome="success",
        obj=f"client {client_id}",
    )
    click.echo(f"revoked: {client_id}")


def _shown(moment) -> str:
    return moment.isoformat(timespec="seconds") if moment else "-"
