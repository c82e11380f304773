"""Issue #21, findings 7 and 10, against a real gateway (gunicorn, 16 threads) on its own database:
refresh-token rotation under concurrency and reuse (RFC 9700 §4.14), browser sessions stored only
when worth keeping and purged when expired, /oauth/authorize answering 400 (never 500) with no
authorization code in any log line, the password policy, and UI pages without inline or eval'd
scripts."""

import base64
import hashlib
import re
import secrets
import subprocess
import sys
import threading
from urllib.parse import parse_qs, urlencode, urlsplit

import psycopg
import pytest
import requests
from psycopg.rows import dict_row

from devstack.processes import start_platform
from devstack.testing import clone_database, drop_database
from gateway import store, users
from gateway.clients import _hasher
from shared.config import PROJECT_ROOT
from shared.db import url_with_database

REDIRECT = "http://app.test/callback"
PASSWORD = "a-long-manager-password"
EMAIL = "lead@hardening.test"
FLASK = [sys.executable, "-m", "flask", "--app", "gateway"]


@pytest.fixture(scope="module")
def gateway_db(pg_server, template_database):
    name = clone_database(pg_server, template_database)
    yield url_with_database(pg_server, name)
    drop_database(pg_server, name)


@pytest.fixture(scope="module")
def gateway(gateway_db, tmp_path_factory):
    """The gateway alone, as gunicorn runs it, with sign-in and token limits out of the way and
    a patient connection pool (20 requests at once on a busy 2-core machine may wait longer for
    the pool to grow than the default 5 s; capacity is not under test here)."""
    running = start_platform(
        gateway_db,
        tmp_path_factory.mktemp("hardening"),
        names=["gateway"],
        extra_env={
            "RATE_LIMIT_LOGIN": "100000 per minute",
            "RATE_LIMIT_TOKEN": "100000 per minute",
            "DB_POOL_TIMEOUT": "30",
        },
    )
    with connect(gateway_db) as conn:
        store.upsert_first_party_client(
            conn,
            client_id="web",
            name="Dashboard",
            secret_hash=_hasher.hash("web-secret"),
            redirect_uris=[REDIRECT],
        )
        users.create_user(conn, EMAIL, PASSWORD, ["manager"], ["emea-1"])
    yield running
    running.stop()


def connect(url: str) -> psycopg.Connection:
    return psycopg.connect(url, row_factory=dict_row, options="-c search_path=gateway")


def sign_in(base_url: str, next_url: str = "") -> requests.Session:
    browser = requests.Session()
    page = browser.get(f"{base_url}/login", timeout=10)
    response = browser.post(
        f"{base_url}/login",
        data={"email": EMAIL, "password": PASSWORD, "next": next_url, "csrf_token": csrf_of(page)},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302, response.text
    return browser


def csrf_of(page: requests.Response) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).decode().rstrip("=")


def authorize(browser: requests.Session, base_url: str, challenge: str, **extra):
    params = {
        "response_type": "code",
        "client_id": "web",
        "redirect_uri": REDIRECT,
        "scope": "openid email profile",
        "state": "st-1",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **extra,
    }
    query = urlencode({key: value for key, value in params.items() if value is not None})
    return browser.get(f"{base_url}/oauth/authorize?{query}", allow_redirects=False, timeout=10)


def token(base_url: str, **form) -> requests.Response:
    return requests.post(
        f"{base_url}/oauth/token", auth=("web", "web-secret"), data=form, timeout=30
    )


def tokens_of_a_sign_in(base_url: str, **extra) -> dict:
    verifier, challenge = pkce()
    redirect = authorize(sign_in(base_url), base_url, challenge, **extra)
    assert redirect.status_code == 302, redirect.text
    code = parse_qs(urlsplit(redirect.headers["Location"]).query)["code"][0]
    answer = token(
        base_url,
        grant_type="authorization_code",
        code=code,
        redirect_uri=REDIRECT,
        code_verifier=verifier,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def refresh(base_url: str, refresh_token: str) -> requests.Response:
    return token(base_url, grant_type="refresh_token", refresh_token=refresh_token)


# --- finding 7: refresh tokens ------------------------------------------------------------------


@pytest.mark.parametrize("concurrency", [8, 20])
def test_concurrent_refreshes_with_one_token_issue_once_and_revoke_the_family(gateway, concurrency):
    first = tokens_of_a_sign_in(gateway.gateway)["refresh_token"]
    start = threading.Barrier(concurrency)
    answers: list[requests.Response] = []

    def use_it() -> None:
        start.wait()
        answers.append(refresh(gateway.gateway, first))

    threads = [threading.Thread(target=use_it) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200] + [400] * (concurrency - 1)
    refused = [answer.json()["error"] for answer in answers if answer.status_code == 400]
    assert refused == ["invalid_grant"] * (concurrency - 1)
    # the others were reuses of a rotated token: the family is revoked, the winner's descendant too
    descendant = next(a for a in answers if a.status_code == 200).json()["refresh_token"]
    after = refresh(gateway.gateway, descendant)
    assert (after.status_code, after.json()["error"]) == (400, "invalid_grant")


def test_reusing_a_rotated_refresh_token_revokes_its_family(gateway):
    first = tokens_of_a_sign_in(gateway.gateway)["refresh_token"]
    rotated = refresh(gateway.gateway, first)
    assert rotated.status_code == 200, rotated.text
    second = rotated.json()["refresh_token"]

    reused = refresh(gateway.gateway, first)
    assert (reused.status_code, reused.json()["error"]) == (400, "invalid_grant")
    after = refresh(gateway.gateway, second)
    assert (after.status_code, after.json()["error"]) == (400, "invalid_grant")


def test_a_refresh_token_that_was_never_reused_keeps_rotating(gateway):
    current = tokens_of_a_sign_in(gateway.gateway)["refresh_token"]
    for _ in range(3):
        answer = refresh(gateway.gateway, current)
        assert answer.status_code == 200, answer.text
        assert answer.json()["refresh_token"] != current
        current = answer.json()["refresh_token"]


def test_revoking_a_refresh_token_ends_its_family(gateway):
    first = tokens_of_a_sign_in(gateway.gateway)["refresh_token"]
    second = refresh(gateway.gateway, first).json()["refresh_token"]
    revoked = requests.post(
        f"{gateway.gateway}/oauth/revoke",
        auth=("web", "web-secret"),
        data={"token": first},
        timeout=10,
    )
    assert revoked.status_code == 200
    assert refresh(gateway.gateway, second).json()["error"] == "invalid_grant"


# --- finding 10: browser sessions ---------------------------------------------------------------


def browser_session_rows(url: str) -> int:
    with connect(url) as conn:
        return conn.execute("SELECT count(*) AS n FROM browser_sessions").fetchone()["n"]


def test_cookie_less_login_pages_store_no_browser_session(gateway, gateway_db):
    before = browser_session_rows(gateway_db)
    with requests.Session() as http:
        for _ in range(1000):
            http.cookies.clear()
            page = http.get(f"{gateway.gateway}/login", timeout=10)
            assert page.status_code == 200
            assert csrf_of(page)
    assert browser_session_rows(gateway_db) == before


def test_the_login_form_keeps_its_csrf_protection(gateway):
    mine, theirs = requests.Session(), requests.Session()
    my_token = csrf_of(mine.get(f"{gateway.gateway}/login", timeout=10))
    theirs.get(f"{gateway.gateway}/login", timeout=10)
    form = {"email": EMAIL, "password": PASSWORD}

    for browser, csrf in ((theirs, my_token), (requests.Session(), my_token), (mine, "forged")):
        refused = browser.post(
            f"{gateway.gateway}/login", data={**form, "csrf_token": csrf}, allow_redirects=False
        )
        assert refused.status_code == 400
    accepted = mine.post(
        f"{gateway.gateway}/login", data={**form, "csrf_token": my_token}, allow_redirects=False
    )
    assert accepted.status_code == 302


def test_expired_browser_sessions_are_purged(gateway, gateway_db):
    with connect(gateway_db) as conn:
        for expired in range(300):
            conn.execute(
                "INSERT INTO browser_sessions (session_hash, data, expires_at) "
                "VALUES (%s, '{}', now() - interval '1 second' * %s)",
                [f"expired-{expired}", expired + 1],
            )
        conn.execute(
            "INSERT INTO browser_sessions (session_hash, data, expires_at) "
            "VALUES ('live-one', '{}', now() + interval '1 hour')"
        )
    sign_in(gateway.gateway)
    with connect(gateway_db) as conn:
        left = conn.execute(
            "SELECT count(*) FILTER (WHERE expires_at <= now()) AS expired, "
            "count(*) FILTER (WHERE session_hash = 'live-one') AS live FROM browser_sessions"
        ).fetchone()
    assert left == {"expired": 0, "live": 1}


# --- finding 10: /oauth/authorize and `next` -----------------------------------------------------


@pytest.mark.parametrize(
    "extra",
    [
        {"redirect_uri": None},
        {"redirect_uri": REDIRECT + "\r\nSet-Cookie: x=1"},
        {"redirect_uri": REDIRECT + "é"},
        {"state": "st\r\nSet-Cookie: x=1"},
        {"response_type": 'code"'},
        {"response_type": "codé"},
        {"client_id": None},
        {"response_type": None},
    ],
    ids=[
        "no-redirect-uri",
        "crlf-redirect-uri",
        "unregistered-redirect-uri",
        "crlf-state",
        "quote-response-type",
        "non-ascii-response-type",
        "no-client-id",
        "no-response-type",
    ],
)
def test_a_malformed_authorization_request_is_400_and_issues_no_code(gateway, extra):
    _, challenge = pkce()
    answer = authorize(sign_in(gateway.gateway), gateway.gateway, challenge, **extra)
    assert answer.status_code == 400, answer.text
    assert "code=" not in answer.headers.get("Location", "")
    assert "Sign-in request refused" in answer.text


def test_an_authorization_request_without_scope_gets_the_clients_scopes(gateway):
    tokens = tokens_of_a_sign_in(gateway.gateway, scope=None)
    assert sorted(tokens["scope"].split()) == ["email", "openid", "profile"]


@pytest.mark.parametrize(
    "target", ["/qa/\r\nSet-Cookie: x=1", "/qa/\n", "/\t/evil.test", "/qa/\x00"]
)
def test_a_next_with_control_characters_is_not_followed(gateway, target):
    browser = requests.Session()
    page = browser.get(f"{gateway.gateway}/login", params={"next": target}, timeout=10)
    assert page.status_code == 200
    answer = browser.post(
        f"{gateway.gateway}/login",
        data={"email": EMAIL, "password": PASSWORD, "next": target, "csrf_token": csrf_of(page)},
        allow_redirects=False,
        timeout=10,
    )
    assert (answer.status_code, answer.headers["Location"]) == (302, "/dashboard/")


def test_no_log_line_carries_an_authorization_code_or_an_error(gateway):
    """Runs after the requests above (same module): the gateway logged no code, no 500."""
    _, challenge = pkce()
    browser = sign_in(gateway.gateway)
    for extra in ({"redirect_uri": None}, {"scope": None}, {}):
        authorize(browser, gateway.gateway, challenge, **extra)
    codes = set()
    with connect(gateway.env["DATABASE_URL"]) as conn:
        codes |= {row["code"] for row in conn.execute("SELECT code FROM authorization_codes")}
    logs = gateway.logs()
    assert codes and not any(code in logs for code in codes)
    assert "code=" not in logs
    assert '"level": "ERROR"' not in logs
    assert "Failing row contains" not in logs


# --- finding 10: passwords ----------------------------------------------------------------------


def create_user(env: dict, email: str, password: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*FLASK, "create-user", email, "--role", "qa_lead", "--password-stdin"],
        input=f"{password}\n".encode(),
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("demo", "at least 12 characters"),
        ("short-pw-11", "at least 12 characters"),
        ("password1234", "too easy to guess"),
        ("qwertyuiop12", "too easy to guess"),
        ("aaaaaaaaaaaaaaaa", "too easy to guess"),
        ("weak@hardening.test", "too easy to guess"),  # the login itself
    ],
)
def test_short_and_common_passwords_are_refused_by_the_cli(gateway, password, reason):
    result = create_user(gateway.env, "weak@hardening.test", password)
    assert result.returncode == 1
    message = result.stderr.decode()
    assert reason in message
    assert password not in message and password not in result.stdout.decode()
    with connect(gateway.env["DATABASE_URL"]) as conn:
        assert store.get_user_by_email(conn, "weak@hardening.test") is None


def test_a_long_uncommon_password_is_accepted_by_the_cli(gateway):
    result = create_user(gateway.env, "strong@hardening.test", "amber-kettle-orbit-9")
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode().startswith("user_id: ")
