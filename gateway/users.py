"""Users of the built-in provider: creation, password checks that leak nothing, roles and teams."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import psycopg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn

from gateway import store

USER_ROLES = ("manager", "qa_lead", "admin")
MIN_PASSWORD_LENGTH = 12
# zxcvbn's score: 3 = about 10^8 guesses or more. Below that are its lists of common passwords
# (and simple variants of them), common words and names, keyboard walks, repeats and dates.
MIN_PASSWORD_SCORE = 3
_hasher = PasswordHasher()
# Verified against when the e-mail is unknown, so both failures cost the same time.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


class UserError(ValueError):
    """A user cannot be created as asked."""


def password_problem(password: str, email: str) -> str | None:
    """Why a password may not be set, or None when it may: at least MIN_PASSWORD_LENGTH
    characters and not easy to guess (zxcvbn: common passwords, words, patterns, the login)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"the password must have at least {MIN_PASSWORD_LENGTH} characters"
    estimate = zxcvbn(password[:100], user_inputs=[email, *email.replace(".", "@").split("@")])
    if estimate["score"] < MIN_PASSWORD_SCORE:
        hint = estimate["feedback"]["warning"] or "it is made of common words or patterns"
        return f"the password is too easy to guess: {hint[0].lower()}{hint[1:].rstrip('.')}"
    return None


def create_user(
    conn: psycopg.Connection,
    email: str,
    password: str,
    roles: Sequence[str],
    teams: Sequence[str] = (),
    *,
    check_password: bool = True,
) -> uuid.UUID:
    """Create a user with an argon2-hashed password; returns the new user id. The password must
    pass `password_problem`; only the demo seeding (never in production) passes
    `check_password=False` for the documented demo password."""
    unknown = sorted(set(roles) - set(USER_ROLES))
    if not roles or unknown:
        raise UserError(f"roles must be among {', '.join(USER_ROLES)}")
    if "@" not in email or len(email) > 254:
        raise UserError("the login must be an e-mail address")
    problem = password_problem(password, email) if check_password else None
    if problem:
        raise UserError(problem)
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
