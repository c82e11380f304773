"""The browser flow of the built-in provider: login, authorization code with PKCE, ID token,
refresh-token rotation, revocation, userinfo, logout, and the cookie and header hygiene."""

import base64
import hashlib
import re
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from gateway import clients, store, users
from gateway.clients import _hasher
from shared import db

REDIRECT = "http://app.test/callback"


@pytest.fixture
def manager(gateway_app):
    with gateway_app.app_context(), db.connection() as conn:
        users.create_user(conn, "Manager@Demo.Local", "right-password", ["manager"], ["emea-1"])
    return "manager@demo.local"


def register_web_client(gateway_app, first_party=True):
    with gateway_app.app_context(), db.connection() as conn:
        if first_party:
            store.upsert_first_party_client(
                conn,
                client_id="web",
                name="Dashboard",
                secret_hash=_hasher.hash("web-secret"),
                redirect_uris=[REDIRECT],
            )
            return "web", "web-secret"
        client_id, secret = clients.create_client(conn, "Third party", ["agent"])
        conn.execute(
            "UPDATE gateway.oauth_clients SET grant_types = '{authorization_code}', "
            "redirect_uris = %s, scope = 'openid email' WHERE client_id = %s",
            [[REDIRECT], client_id],
        )
        return client_id, secret


def pkce():
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).decode().rstrip("=")


def authorize_url(client_id, challenge, **extra):
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT,
        "scope": "openid email profile",
        "state": "st-123",
        "nonce": "n-456",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **extra,
    }
    return "/oauth/authorize?" + urlencode({k: v for k, v in params.items() if v is not None})


def csrf_of(page: bytes) -> str:
    return re.search(rb'name="csrf_token" value="([^"]+)"', page).group(1).decode()


def log_in(client, email, password, next_url=""):
    page = client.get("/login")
    return client.post(
        "/login",
        data={
            "email": email,
            "password": password,
            "next": next_url,
            "csrf_token": csrf_of(page.data),
        },
    )


def log_out(client):
    """Sign out as the sign-out button does: a post with the session's CSRF token."""
    page = client.get("/logout")
    return client.post("/logout", data={"csrf_token": csrf_of(page.data)})


def get_code(client, client_id, challenge):
    response = client.get(authorize_url(client_id, challenge))
    assert response.status_code == 302, response.data
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query["state"] == ["st-123"]
    return query["code"][0]


def exchange(client, code, verifier, client_id="web", secret="web-secret"):
    return client.post(
        "/oauth/token",
        auth=(client_id, secret),
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
        },
    )


def test_full_flow_gives_access_id_and_refresh_tokens(client, gateway_app, manager):
    register_web_client(gateway_app)
    verifier, challenge = pkce()

    first = client.get(authorize_url("web", challenge))
    assert first.status_code == 302
    assert first.headers["Location"].startswith("/login?next=")
    logged_in = log_in(client, manager, "right-password", next_url=authorize_url("web", challenge))
    assert logged_in.status_code == 302

    code = get_code(client, "web", challenge)
    tokens = exchange(client, code, verifier)
    assert tokens.status_code == 200, tokens.json
    body = tokens.json
    keys = KeySet.import_key_set(client.get("/oauth/jwks").json)

    id_token = jwt.decode(body["id_token"], keys, algorithms=["RS256"]).claims
    assert id_token["iss"] == "http://gateway.test"
    assert id_token["aud"] == ["web"]
    assert id_token["nonce"] == "n-456"
    assert id_token["email"] == manager
    access = jwt.decode(body["access_token"], keys, algorithms=["RS256"]).claims
    assert access["roles"] == ["manager"] and access["teams"] == ["emea-1"]
    assert access["sub"] == id_token["sub"]

    info = client.get(
        "/oauth/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert info.json["email"] == manager and info.json["roles"] == ["manager"]

    assert exchange(client, code, verifier).json["error"] == "invalid_grant"  # single use


def test_wrong_verifier_is_refused(client, gateway_app, manager):
    register_web_client(gateway_app)
    _, challenge = pkce()
    log_in(client, manager, "right-password")
    code = get_code(client, "web", challenge)
    other_verifier, _ = pkce()
    assert exchange(client, code, other_verifier).json["error"] == "invalid_grant"


@pytest.mark.parametrize(
    "extra",
    [{"code_challenge": None, "code_challenge_method": None}, {"code_challenge_method": "plain"}],
)
def test_authorization_without_s256_pkce_is_refused(client, gateway_app, manager, extra):
    register_web_client(gateway_app)
    _, challenge = pkce()
    log_in(client, manager, "right-password")
    response = client.get(authorize_url("web", challenge, **extra))
    location = response.headers.get("Location", "")
    assert "code=" not in location
    assert response.status_code == 400 or "error=invalid_request" in location


def test_refresh_tokens_rotate_and_can_be_revoked(client, gateway_app, manager):
    register_web_client(gateway_app)
    verifier, challenge = pkce()
    log_in(client, manager, "right-password")
    first = exchange(client, get_code(client, "web", challenge), verifier).json["refresh_token"]

    refreshed = client.post(
        "/oauth/token",
        auth=("web", "web-secret"),
        data={"grant_type": "refresh_token", "refresh_token": first},
    )
    assert refreshed.status_code == 200, refreshed.json
    second = refreshed.json["refresh_token"]
    assert second != first
    reused = client.post(
        "/oauth/token",
        auth=("web", "web-secret"),
        data={"grant_type": "refresh_token", "refresh_token": first},
    )
    assert reused.json["error"] == "invalid_grant"

    revoked = client.post("/oauth/revoke", auth=("web", "web-secret"), data={"token": second})
    assert revoked.status_code == 200
    after = client.post(
        "/oauth/token",
        auth=("web", "web-secret"),
        data={"grant_type": "refresh_token", "refresh_token": second},
    )
    assert after.json["error"] == "invalid_grant"


def test_third_party_client_sees_a_consent_screen(client, gateway_app, manager):
    client_id, _ = register_web_client(gateway_app, first_party=False)
    _, challenge = pkce()
    log_in(client, manager, "right-password")
    page = client.get(authorize_url(client_id, challenge))
    assert page.status_code == 200
    assert b"Allow access?" in page.data
    denied = client.post(
        authorize_url(client_id, challenge),
        data={"decision": "deny", "csrf_token": csrf_of(page.data)},
    )
    assert "error=access_denied" in denied.headers["Location"]


@pytest.mark.parametrize(
    ("email", "password"),
    [("manager@demo.local", "wrong"), ("nobody@demo.local", "right-password")],
)
def test_failed_login_says_the_same_thing_either_way(client, manager, email, password):
    response = log_in(client, email, password)
    assert response.status_code == 401
    assert b"The e-mail or password is not right." in response.data
    assert email.encode() not in response.data


def test_login_without_csrf_token_is_refused(client, gateway_app, manager):
    register_web_client(gateway_app)
    response = client.post("/login", data={"email": manager, "password": "right-password"})
    assert response.status_code == 400
    _, challenge = pkce()
    assert client.get(authorize_url("web", challenge)).headers["Location"].startswith("/login")


def test_login_lands_on_the_role_page_and_ignores_foreign_next(client, manager):
    assert log_in(client, manager, "right-password").headers["Location"] == "/dashboard/"
    log_out(client)
    foreign = log_in(client, manager, "right-password", next_url="https://evil.test/x")
    assert foreign.headers["Location"] == "/dashboard/"


def test_session_cookie_is_server_side_and_hardened(client, manager, database_url):
    response = log_in(client, manager, "right-password")
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("cr_session=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    value = cookie.split(";")[0].split("=", 1)[1]
    assert len(value) < 60 and "." not in value  # an opaque id, not signed data


def test_logout_ends_the_session_and_shows_login(client, gateway_app, manager):
    register_web_client(gateway_app)
    _, challenge = pkce()
    log_in(client, manager, "right-password")
    out = log_out(client)
    assert out.status_code == 302 and out.headers["Location"] == "/login"
    again = client.get(authorize_url("web", challenge))
    assert again.headers["Location"].startswith("/login?next=")


def test_a_cross_site_logout_link_or_post_signs_nobody_out(client, gateway_app, manager):
    """GET /logout only shows the sign-out button; a post without the session's CSRF token (what
    another site can make a browser send) is refused. The session goes on either way."""
    register_web_client(gateway_app)
    _, challenge = pkce()
    log_in(client, manager, "right-password")
    page = client.get("/logout", headers={"Sec-Fetch-Site": "cross-site"})
    assert page.status_code == 200 and b"Sign out" in page.data
    forged = client.post("/logout", data={}, headers={"Origin": "https://evil.test"})
    assert forged.status_code == 400
    still = client.get(authorize_url("web", challenge))
    assert still.status_code == 302 and "code=" in still.headers["Location"]


def test_security_headers_on_every_response(client):
    for path in ("/login", "/.well-known/openid-configuration", "/api/v1/sessions"):
        headers = client.get(path, base_url="https://gateway.test").headers
        assert "max-age=31536000" in headers["Strict-Transport-Security"]
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "Strict-Transport-Security" not in client.get("/login").headers  # only over HTTPS


def test_discovery_lists_the_browser_endpoints(client):
    document = client.get("/.well-known/openid-configuration").json
    assert document["authorization_endpoint"] == "http://gateway.test/oauth/authorize"
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert document["userinfo_endpoint"] == "http://gateway.test/oauth/userinfo"
