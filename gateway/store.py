"""SQL of the gateway schema: OAuth clients, users, codes, refresh tokens, consents and browser
sessions (audit events and erasures: store_audit.py; API keys: store_api_keys.py)."""

from __future__ import annotations

from collections.abc import Sequence

import psycopg


def insert_client(
    conn: psycopg.Connection,
    *,
    client_id: str,
    name: str,
    secret_hash: str | None,
    roles: Sequence[str],
    teams: Sequence[str],
    grant_types: Sequence[str] = ("client_credentials",),
    redirect_uris: Sequence[str] = (),
    scope: str = "",
    pkce_required: bool = True,
    approved: bool = True,
    registered_by: str = "cli",
) -> None:
    """Store a client; its secret only as a hash (None: a public client)."""
    conn.execute(
        """
        INSERT INTO oauth_clients (client_id, name, secret_hash, roles, teams, grant_types,
                                   redirect_uris, scope, pkce_required, approved, registered_by)
        VALUES (%(client_id)s, %(name)s, %(secret_hash)s, %(roles)s, %(teams)s, %(grant_types)s,
                %(redirect_uris)s, %(scope)s, %(pkce_required)s, %(approved)s, %(registered_by)s)
        """,
        {
            "client_id": client_id,
            "name": name,
            "secret_hash": secret_hash,
            "roles": list(roles),
            "teams": list(teams),
            "grant_types": list(grant_types),
            "redirect_uris": list(redirect_uris),
            "scope": scope,
            "pkce_required": pkce_required,
            "approved": approved,
            "registered_by": registered_by,
        },
    )


def approve_client(conn: psycopg.Connection, client_id: str) -> bool:
    """Approve a dynamically registered client; False when no client awaits approval by this id."""
    row = conn.execute(
        "UPDATE oauth_clients SET approved = true "
        "WHERE client_id = %(client_id)s AND NOT approved RETURNING client_id",
        {"client_id": client_id},
    ).fetchone()
    return row is not None


def list_clients(conn: psycopg.Connection) -> list[dict]:
    """Every client without its secret hash, newest first."""
    return conn.execute(
        """
        SELECT client_id, name, roles, teams, grant_types, redirect_uris, scope, pkce_required,
               approved, registered_by, disabled, secret_hash IS NULL AS public, created_at
        FROM oauth_clients ORDER BY created_at DESC, client_id
        """
    ).fetchall()


def get_client(conn: psycopg.Connection, client_id: str) -> dict | None:
    """One enabled (and, when registered dynamically, approved) client by id."""
    return conn.execute(
        "SELECT * FROM oauth_clients WHERE client_id = %(client_id)s AND NOT disabled AND approved",
        {"client_id": client_id},
    ).fetchone()


def client_exists(conn: psycopg.Connection, client_id: str) -> bool:
    """True when a client with this id exists (enabled or not)."""
    row = conn.execute(
        "SELECT 1 FROM oauth_clients WHERE client_id = %(client_id)s", {"client_id": client_id}
    ).fetchone()
    return row is not None


def delete_client(conn: psycopg.Connection, client_id: str) -> None:
    """Remove a client (its refresh tokens go with it)."""
    conn.execute(
        "DELETE FROM oauth_clients WHERE client_id = %(client_id)s", {"client_id": client_id}
    )


def insert_user(
    conn: psycopg.Connection,
    *,
    user_id,
    email: str,
    password_hash: str,
    roles: Sequence[str],
    teams: Sequence[str],
) -> None:
    """Store a user; the password only as a hash."""
    conn.execute(
        """
        INSERT INTO users (user_id, email, password_hash, roles, teams)
        VALUES (%(user_id)s, lower(%(email)s), %(password_hash)s, %(roles)s, %(teams)s)
        """,
        {
            "user_id": user_id,
            "email": email,
            "password_hash": password_hash,
            "roles": list(roles),
            "teams": list(teams),
        },
    )


def get_user_by_email(conn: psycopg.Connection, email: str) -> dict | None:
    """An enabled user by login name (case-insensitive)."""
    return conn.execute(
        "SELECT * FROM users WHERE lower(email) = lower(%(email)s) AND NOT disabled",
        {"email": email},
    ).fetchone()


def get_user(conn: psycopg.Connection, user_id) -> dict | None:
    """An enabled user by id."""
    return conn.execute(
        "SELECT * FROM users WHERE user_id = %(user_id)s AND NOT disabled", {"user_id": user_id}
    ).fetchone()


def upsert_first_party_client(
    conn: psycopg.Connection,
    *,
    client_id: str,
    name: str,
    secret_hash: str,
    redirect_uris: Sequence[str],
) -> None:
    """Create or refresh the platform's own browser client."""
    conn.execute(
        """
        INSERT INTO oauth_clients (client_id, name, secret_hash, roles, teams, grant_types,
                                   redirect_uris, scope, first_party)
        VALUES (%(client_id)s, %(name)s, %(secret_hash)s, '{}', '{}',
                '{authorization_code,refresh_token}', %(redirect_uris)s,
                'openid profile email', true)
        ON CONFLICT (client_id) DO UPDATE
        SET secret_hash = EXCLUDED.secret_hash, redirect_uris = EXCLUDED.redirect_uris,
            grant_types = EXCLUDED.grant_types, scope = EXCLUDED.scope, first_party = true
        """,
        {
            "client_id": client_id,
            "name": name,
            "secret_hash": secret_hash,
            "redirect_uris": list(redirect_uris),
        },
    )


def insert_authorization_code(conn: psycopg.Connection, values: dict) -> None:
    """Store a one-time authorization code."""
    conn.execute(
        """
        INSERT INTO authorization_codes (code, client_id, user_id, redirect_uri, scope, nonce,
            code_challenge, code_challenge_method, auth_time, resource, expires_at)
        VALUES (%(code)s, %(client_id)s, %(user_id)s, %(redirect_uri)s, %(scope)s, %(nonce)s,
            %(code_challenge)s, %(code_challenge_method)s, %(auth_time)s, %(resource)s,
            now() + interval '5 minutes')
        """,
        values,
    )


def take_authorization_code(conn: psycopg.Connection, code: str, client_id: str) -> dict | None:
    """A valid code of this client, deleted in the same statement so it can be used only once."""
    return conn.execute(
        """
        DELETE FROM authorization_codes
        WHERE code = %(code)s AND client_id = %(client_id)s AND expires_at > now()
        RETURNING *
        """,
        {"code": code, "client_id": client_id},
    ).fetchone()


def peek_authorization_code(conn: psycopg.Connection, code: str, client_id: str) -> dict | None:
    """A valid code of this client, left in place."""
    return conn.execute(
        """
        SELECT * FROM authorization_codes
        WHERE code = %(code)s AND client_id = %(client_id)s AND expires_at > now()
        """,
        {"code": code, "client_id": client_id},
    ).fetchone()


def nonce_used(conn: psycopg.Connection, nonce: str) -> bool:
    """True when a pending code already carries this nonce (replay)."""
    row = conn.execute(
        "SELECT 1 FROM authorization_codes WHERE nonce = %(nonce)s", {"nonce": nonce}
    ).fetchone()
    return row is not None


def insert_refresh_token_family(
    conn: psycopg.Connection, client_id: str, user_id, resource: str | None = None
) -> str:
    """Start the family of refresh tokens of one sign-in (bound to `resource`); returns its id."""
    return conn.execute(
        """
        INSERT INTO refresh_token_families (family_id, client_id, user_id, resource)
        VALUES (gen_random_uuid(), %(client_id)s, %(user_id)s, %(resource)s)
        RETURNING family_id
        """,
        {"client_id": client_id, "user_id": user_id, "resource": resource},
    ).fetchone()["family_id"]


def insert_refresh_token(
    conn: psycopg.Connection,
    *,
    token_hash: str,
    family_id,
    client_id: str,
    user_id,
    scope: str,
    ttl_seconds: int,
) -> None:
    """Store a refresh token of a family by its hash."""
    conn.execute(
        """
        INSERT INTO refresh_tokens (token_hash, family_id, client_id, user_id, scope, expires_at)
        VALUES (%(token_hash)s, %(family_id)s, %(client_id)s, %(user_id)s, %(scope)s,
                now() + make_interval(secs => %(ttl)s))
        """,
        {
            "token_hash": token_hash,
            "family_id": family_id,
            "client_id": client_id,
            "user_id": user_id,
            "scope": scope,
            "ttl": ttl_seconds,
        },
    )


def find_refresh_token(conn: psycopg.Connection, token_hash: str) -> dict | None:
    """An unexpired refresh token, live or already used, with `family_revoked_at` and
    `family_resource` of its family."""
    return conn.execute(
        """
        SELECT t.*, f.revoked_at AS family_revoked_at, f.resource AS family_resource
        FROM refresh_tokens t JOIN refresh_token_families f USING (family_id)
        WHERE t.token_hash = %(token_hash)s AND t.expires_at > now()
        """,
        {"token_hash": token_hash},
    ).fetchone()


def use_refresh_token(conn: psycopg.Connection, token_hash: str) -> bool:
    """Mark a live refresh token of a live family as used; True for the one caller whose update
    found it live (the row lock makes concurrent callers wait, then find it used)."""
    row = conn.execute(
        """
        UPDATE refresh_tokens t SET revoked_at = now()
        WHERE t.token_hash = %(token_hash)s AND t.revoked_at IS NULL AND t.expires_at > now()
          AND NOT EXISTS (SELECT 1 FROM refresh_token_families f
                          WHERE f.family_id = t.family_id AND f.revoked_at IS NOT NULL)
        RETURNING t.token_hash
        """,
        {"token_hash": token_hash},
    ).fetchone()
    return row is not None


def revoke_refresh_token_family(conn: psycopg.Connection, family_id) -> None:
    """Revoke a family and every token in it; tokens added to it later are refused too."""
    conn.execute(
        "UPDATE refresh_token_families SET revoked_at = now() "
        "WHERE family_id = %(family_id)s AND revoked_at IS NULL",
        {"family_id": family_id},
    )
    conn.execute(
        "UPDATE refresh_tokens SET revoked_at = now() "
        "WHERE family_id = %(family_id)s AND revoked_at IS NULL",
        {"family_id": family_id},
    )


def revoke_refresh_token_families_of(conn: psycopg.Connection, user_id, client_id: str) -> int:
    """Revoke every live family (and its tokens) a client holds for a user; returns how many."""
    families = conn.execute(
        """
        UPDATE refresh_token_families SET revoked_at = now()
        WHERE user_id = %(user_id)s AND client_id = %(client_id)s AND revoked_at IS NULL
        RETURNING family_id
        """,
        {"user_id": user_id, "client_id": client_id},
    ).fetchall()
    conn.execute(
        "UPDATE refresh_tokens SET revoked_at = now() "
        "WHERE family_id = ANY(%(families)s) AND revoked_at IS NULL",
        {"families": [row["family_id"] for row in families]},
    )
    return len(families)


def get_consent(conn: psycopg.Connection, user_id, client_id: str) -> dict | None:
    """The consent a user gave a client, if any."""
    return conn.execute(
        "SELECT * FROM oauth_consents WHERE user_id = %(user_id)s AND client_id = %(client_id)s",
        {"user_id": user_id, "client_id": client_id},
    ).fetchone()


def upsert_consent(conn: psycopg.Connection, user_id, client_id: str, scope: str) -> None:
    """Record (or renew) a user's consent to a client for `scope`."""
    conn.execute(
        """
        INSERT INTO oauth_consents (user_id, client_id, scope)
        VALUES (%(user_id)s, %(client_id)s, %(scope)s)
        ON CONFLICT (user_id, client_id)
        DO UPDATE SET scope = EXCLUDED.scope, granted_at = now()
        """,
        {"user_id": user_id, "client_id": client_id, "scope": scope},
    )


def delete_consent(conn: psycopg.Connection, user_id, client_id: str) -> bool:
    """Forget a user's consent to a client; False when there was none."""
    row = conn.execute(
        "DELETE FROM oauth_consents WHERE user_id = %(user_id)s AND client_id = %(client_id)s "
        "RETURNING client_id",
        {"user_id": user_id, "client_id": client_id},
    ).fetchone()
    return row is not None


def list_consents_of_user(conn: psycopg.Connection, user_id) -> list[dict]:
    """The clients a user approved, with their names, newest approval first."""
    return conn.execute(
        """
        SELECT c.client_id, o.name, c.scope, c.granted_at
        FROM oauth_consents c JOIN oauth_clients o USING (client_id)
        WHERE c.user_id = %(user_id)s
        ORDER BY c.granted_at DESC, c.client_id
        """,
        {"user_id": user_id},
    ).fetchall()


def load_browser_session(conn: psycopg.Connection, session_hash: str) -> dict | None:
    """The data of a live browser session."""
    row = conn.execute(
        "SELECT data FROM browser_sessions WHERE session_hash = %(h)s AND expires_at > now()",
        {"h": session_hash},
    ).fetchone()
    return row["data"] if row else None


def save_browser_session(
    conn: psycopg.Connection, session_hash: str, data, ttl_seconds: int
) -> None:
    """Create or replace a browser session."""
    conn.execute(
        """
        INSERT INTO browser_sessions (session_hash, data, expires_at)
        VALUES (%(h)s, %(data)s, now() + make_interval(secs => %(ttl)s))
        ON CONFLICT (session_hash) DO UPDATE SET data = EXCLUDED.data, expires_at = EXCLUDED.expires_at
        """,
        {"h": session_hash, "data": data, "ttl": ttl_seconds},
    )


def delete_browser_session(conn: psycopg.Connection, session_hash: str) -> None:
    """End a browser session."""
    conn.execute("DELETE FROM browser_sessions WHERE session_hash = %(h)s", {"h": session_hash})


def purge_expired_browser_sessions(conn: psycopg.Connection, limit: int) -> int:
    """Delete up to `limit` expired browser sessions (rows another purge holds are skipped);
    returns how many went."""
    return conn.execute(
        """
        DELETE FROM browser_sessions
        WHERE session_hash IN (
            SELECT session_hash FROM browser_sessions
            WHERE expires_at <= now()
            ORDER BY expires_at
            LIMIT %(limit)s
            FOR UPDATE SKIP LOCKED
        )
        """,
        {"limit": limit},
    ).rowcount
