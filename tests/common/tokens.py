"""Real access tokens for tests of a gateway app: a client in its table, a token from its own
token endpoint, so a token carries exactly the claims and signature production tokens carry."""

from __future__ import annotations

from collections.abc import Sequence

from flask import Flask

from gateway import clients
from shared import db


def issue_token(app: Flask, *roles: str, teams: Sequence[str] = ()) -> str:
    """An access token from `app`'s /oauth/token for a new client with these roles (default
    agent) and teams."""
    with app.app_context(), db.connection() as conn:
        client_id, secret = clients.create_client(conn, "test client", roles or ("agent",), teams)
    response = app.test_client().post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    )
    if response.status_code != 200:
        raise RuntimeError(f"the token endpoint answered {response.status_code}")
    return response.json["access_token"]
