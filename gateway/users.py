"""Users of the built-in provider: creation, password checks that leak nothing, roles and teams."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import psycopg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from gateway import store

USER_ROLES = ("manager", "qa_lead", "admin")
_hasher = PasswordHasher()
# Verified against when the e-mail is unknown, so both failures cost the same time.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


class UserError(ValueError):
    """A user cannot be created as asked."""


def create_user(
    conn: psycopg.Connection,
    email: str,
    password: str,
    roles: Sequence[str],
    teams: Sequence[str] = (),
) -> uuid.UUID:
    """Create a user with an argon2-hashed password; returns the new user id."""
    unknown = sorted(set(roles) - set(USER_ROLES))
    if not roles or unknown:
        raise UserError(f"roles must be among {', '.join(USER_ROLES)}")
    if "@" not in email or len(email) > 254:
        raise UserError("the login must be an e-mail address")
    if len(password) < 4:
        raise UserError("the password is too short")
    if store.get_user_by_email(conn, email) is not None:
        raise UserError("a user with this e-mail exists already")
    user_id = uuid.uuid4()
    store.insert_user(
        conn,
        user_id=user_id,
        email=email,
        password_hash=_hasher.hash(password),
        roles=sorted(set(roles)),
        teams=sorted(set(teams)),
    )
    return user_id


def authenticate(conn: psycopg.Connection, email: str, password: str) -> dict | None:
    """The user when the password matches; None otherwise, in about the same time either way."""
    user = store.get_user_by_email(conn, email)
    try:
        _hasher.verify(user["password_hash"] if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    return user
