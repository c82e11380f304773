"""Server-side browser sessions: the cookie holds a random id only; the data lives in
gateway.browser_sessions (shared by every gateway replica)."""

from __future__ import annotations

import hashlib
import secrets

from flask import Flask
from flask.sessions import SessionInterface, SessionMixin
from psycopg.types.json import Jsonb
from werkzeug.datastructures import CallbackDict

from gateway import store
from shared import db
from shared.config import secret_value
from shared.web import settings_of


class BrowserSession(CallbackDict, SessionMixin):
    """Session data plus the id it is stored under; remembers whether it changed."""

    def __init__(self, initial=None, session_id: str | None = None, new: bool = False) -> None:
        def on_update(this):
            this.modified = True

        super().__init__(initial, on_update)
        self.session_id = session_id
        self.new = new
        self.modified = False


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class DatabaseSessionInterface(SessionInterface):
    """Loads and saves sessions through the gateway's pool; a new id on every login (rotate)."""

    def __init__(self, ttl: int) -> None:
        self.ttl = ttl

    def open_session(self, app: Flask, request) -> BrowserSession:
        session_id = request.cookies.get(self.get_cookie_name(app))
        if session_id:
            with db.connection() as conn:
                data = store.load_browser_session(conn, _hash(session_id))
            if data is not None:
                return BrowserSession(data, session_id=session_id)
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
                response.delete_cookie(name, path="/", secure=cookie["secure"], samesite="Lax")
            return
        if not session.modified and not session.new:
            return
        session_id = session.session_id or secrets.token_urlsafe(32)
        with db.connection() as conn:
            store.save_browser_session(conn, _hash(session_id), Jsonb(dict(session)), self.ttl)
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
