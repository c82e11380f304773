"""Server-side browser sessions: the cookie holds a random id only; the data lives in
gateway.browser_sessions (shared by every gateway replica).

A session that holds nothing but the sign-in form's CSRF token is not worth a row: it travels in
the cookie itself, signed with the session secret, so that a visit to /login stores nothing. It
becomes a row when there is more to keep (a signed-in user, a sign-in flow in progress). Each new
row also deletes up to PURGE_BATCH expired ones: rows are only ever added by new sessions, so the
expired ones cannot pile up, on any number of replicas, without a timer of their own."""

from __future__ import annotations

import hashlib
import secrets

from flask import Flask
from flask.sessions import SessionInterface, SessionMixin
from itsdangerous import BadSignature, URLSafeTimedSerializer
from psycopg.types.json import Jsonb
from werkzeug.datastructures import CallbackDict

from gateway import store
from shared import db
from shared.config import secret_value
from shared.web import settings_of

COOKIE_ONLY_KEYS = frozenset({"csrf_token"})  # a session of only these keys needs no row
PURGE_BATCH = 500  # expired rows deleted with each new one: few ms, and more than are added


class BrowserSession(CallbackDict, SessionMixin):
    """Session data plus the id it is stored under; remembers whether it changed."""

    def __init__(
        self,
        initial=None,
        session_id: str | None = None,
        new: bool = False,
        in_cookie: bool = False,
    ) -> None:
        def on_update(this):
            this.modified = True

        super().__init__(initial, on_update)
        self.session_id = session_id
        self.new = new
        self.in_cookie = in_cookie  # the data came in the signed cookie, not from a row
        self.modified = False


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class DatabaseSessionInterface(SessionInterface):
    """Loads and saves sessions through the gateway's pool; a new id on every login (rotate)."""

    def __init__(self, ttl: int) -> None:
        self.ttl = ttl

    def signer(self, app: Flask) -> URLSafeTimedSerializer:
        """Signs the cookie of a session that needs no row (HMAC-SHA256 with the session secret)."""
        return URLSafeTimedSerializer(
            app.secret_key,
            salt="cr-cookie-session",
            signer_kwargs={"digest_method": hashlib.sha256},
        )

    def open_session(self, app: Flask, request) -> BrowserSession:
        value = request.cookies.get(self.get_cookie_name(app))
        if value and "." in value:  # signed data; an id of a row has no dot
            try:
                data = self.signer(app).loads(value, max_age=self.ttl)
            except BadSignature:
                return BrowserSession(new=True)
            return BrowserSession(data, in_cookie=True)
        if value:
            with db.connection() as conn:
                data = store.load_browser_session(conn, _hash(value))
            if data is not None:
                return BrowserSession(data, session_id=value)
        return BrowserSession(new=True)

    def save_session(self, app: Flask, session: BrowserSession, response) -> None:
        name = self.get_cookie_name(app)
        cookie = {
            "path": "/",
            "httponly": True,
            "samesite": "Lax",
            "secure": self.get_cookie_secure(app),
        }
        if not session:
            if session.session_id:
                with db.connection() as conn:
                    store.delete_browser_session(conn, _hash(session.session_id))
            if session.session_id or session.in_cookie:
                response.delete_cookie(name, path="/", secure=cookie["secure"], samesite="Lax")
            return
        if not session.modified and not session.new:
            return
        if session.session_id is None and session.keys() <= COOKIE_ONLY_KEYS:
            value = self.signer(app).dumps(dict(session))
            response.set_cookie(name, value, max_age=self.ttl, **cookie)
            return
        session_id = session.session_id or secrets.token_urlsafe(32)
        with db.connection() as conn:
            store.save_browser_session(conn, _hash(session_id), Jsonb(dict(session)), self.ttl)
            if session.session_id is None:
                store.purge_expired_browser_sessions(conn, PURGE_BATCH)
        response.set_cookie(name, session_id, max_age=self.ttl, **cookie)

    @staticmethod
    def regenerate(session: BrowserSession) -> None:
        """Forget the old id (after login), so a fixed session id cannot be taken over."""
        if session.session_id:
            with db.connection() as conn:
                store.delete_browser_session(conn, _hash(session.session_id))
        session.session_id = None
        session.modified = True


def register_browser_sessions(app: Flask) -> None:
    """Server-side sessions with Secure (configurable), HttpOnly, SameSite=Lax cookies."""
    settings = settings_of(app)
    app.secret_key = secret_value(settings, "session_secret")
    secure = settings.cookie_secure or settings.production
    app.config.update(
        SESSION_COOKIE_NAME="__Host-cr_session" if secure else "cr_session",
        SESSION_COOKIE_SECURE=secure,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
    )
    app.session_interface = DatabaseSessionInterface(settings.browser_session_ttl)
