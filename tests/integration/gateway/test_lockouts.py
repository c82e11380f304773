"""Nobody can lock a client or a user out: only failed authentications count, per client address
(and per client or account at that address); the right secret or password from another address
is never refused because of someone else's failures. The gateway runs on a real socket; the tests
connect from different loopback addresses (127.0.0.0/8 is all loopback on Linux), or through a
trusted proxy that names the client address in X-Forwarded-For."""

import base64
import hashlib
import logging
import secrets
from contextlib import ExitStack
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from requests.adapters import HTTPAdapter

from gateway import clients, ui, users
from gateway.app import create_app
from shared import db
from tests.common.servers import serve
from tests.integration.gateway.test_browser_login import csrf_of

PASSWORD = "the-right-password-2026"
EMAIL = "lead@demo.local"
CLAIMED = "anna.mueller.12345678"  # a name and a case number typed as a client id


class FromAddress(HTTPAdapter):
    """Connections of a requests session that leave from a given local address."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def browser_from(address: str = "127.0.0.1") -> requests.Session:
    session = requests.Session()
    session.mount("http://", FromAddress(address))
    return session


@pytest.fixture
def gateway(gateway_config):
    """start(**settings) -> (app, base URL): a gateway served on a real socket for the test."""
    with ExitStack() as stack:
        apps = []

        def start(**settings):
            app = create_app({**gateway_config, **settings})
            apps.append(app)
            return app, stack.enter_context(serve(app))

        yield start
        for app in apps:
            app.extensions["db_pool"].close()


def new_client(app) -> tuple[str, str]:
    with app.app_context(), db.connection() as conn:
        return clients.create_client(conn, "agent", ["agent"])


def new_user(app) -> None:
    with app.app_context(), db.connection() as conn:
        users.create_user(conn, EMAIL, PASSWORD, ["qa_lead"])


def token(session: requests.Session, base: str, client_id: str, secret: str, **kwargs):
    return session.post(
        f"{base}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(client_id, secret),
        timeout=30,
        **kwargs,
    )


def sign_in(session: requests.Session, base: str, password: str, **kwargs):
    page = session.get(f"{base}/login", timeout=30, **kwargs)
    return session.post(
        f"{base}/login",
        data={"email": EMAIL, "password": password, "csrf_token": csrf_of(page.content)},
        allow_redirects=False,
        timeout=30,
        **kwargs,
    )


def test_wrong_secrets_from_one_address_leave_the_right_secret_from_another_working(gateway):
    app, base = gateway(rate_limit_token="120 per minute", rate_limit_token_client="30 per minute")
    client_id, secret = new_client(app)
    attacker = browser_from("127.0.0.2")
    answers = [token(attacker, base, client_id, "wrong").status_code for _ in range(120)]
    assert token(browser_from("127.0.0.3"), base, client_id, secret).status_code == 200
    assert answers == [401] * 30 + [429] * 90  # past the budget: refused without a secret check
    assert token(attacker, base, client_id, secret).status_code == 429


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).decode().rstrip("=")


def test_failures_against_the_public_browser_client_leave_browser_sign_in_working(gateway):
    """`cr-ui`'s id is public: failing it from one address must not stop every browser sign-in."""
    app, base = gateway(rate_limit_token="120 per minute", rate_limit_token_client="30 per minute")
    new_user(app)
    attacker = browser_from("127.0.0.2")
    answers = [token(attacker, base, ui.UI_CLIENT_ID, "guess").status_code for _ in range(121)]

    person = browser_from("127.0.0.3")
    assert sign_in(person, base, PASSWORD).status_code == 302
    verifier, challenge = pkce()
    redirect_uri = "http://gateway.test/ui/callback"  # the issuer of this test's gateway
    query = {
        "response_type": "code",
        "client_id": ui.UI_CLIENT_ID,
        "redirect_uri": redirect_uri,
        "scope": "openid profile email",
        "state": "st",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    authorized = person.get(
        f"{base}/oauth/authorize?{urlencode(query)}", allow_redirects=False, timeout=30
    )
    assert authorized.status_code == 302
    code = parse_qs(urlsplit(authorized.headers["Location"]).query)["code"][0]
    exchanged = person.post(
        f"{base}/oauth/token",
        auth=(ui.UI_CLIENT_ID, ui._ui_client_secret(app)),
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        },
        timeout=30,
    )
    assert exchanged.status_code == 200, exchanged.text
    assert exchanged.json()["token_type"].lower() == "bearer"
    assert answers == [401] * 30 + [429] * 91


def test_token_less_login_posts_do_not_block_a_valid_login_from_that_address(gateway):
    """A cross-site page can make a browser post the form without its CSRF token; those posts
    count for nothing but further token-less posts."""
    app, base = gateway(rate_limit_login="10 per minute")
    new_user(app)
    person = browser_from("127.0.0.2")
    token_less = [
        person.post(f"{base}/login", data={"email": EMAIL, "password": "x"}, timeout=30).status_code
        for _ in range(11)
    ]
    assert token_less == [400] * 10 + [429]
    signed_in = sign_in(person, base, PASSWORD)
    assert signed_in.status_code == 302 and signed_in.headers["Location"] == "/qa/"


def test_wrong_passwords_past_the_budget_are_refused_and_the_right_one_elsewhere_works(gateway):
    """Behind a trusted proxy the client address is the one X-Forwarded-For names."""
    app, base = gateway(
        rate_limit_login="10 per minute",
        rate_limit_login_account="5 per minute",
        trusted_proxies=("127.0.0.1/32",),
    )
    new_user(app)
    here = {"headers": {"X-Forwarded-For": "203.0.113.7"}}
    elsewhere = {"headers": {"X-Forwarded-For": "198.51.100.9"}}
    attacker = browser_from()
    answers = [sign_in(attacker, base, "wrong-guess", **here) for _ in range(6)]
    assert [answer.status_code for answer in answers] == [401] * 5 + [429]
    assert int(answers[-1].headers["Retry-After"]) > 0
    assert sign_in(attacker, base, PASSWORD, **here).status_code == 429  # no password check
    person = browser_from()
    signed_in = sign_in(person, base, PASSWORD, **elsewhere)
    assert signed_in.status_code == 302 and signed_in.headers["Location"] == "/qa/"


def test_an_address_trying_many_accounts_reaches_its_own_budget(gateway):
    app, base = gateway(rate_limit_login="4 per minute", rate_limit_login_account="5 per minute")
    new_user(app)
    attacker = browser_from("127.0.0.2")
    answers = []
    for number in range(5):
        page = attacker.get(f"{base}/login", timeout=30)
        answers.append(
            attacker.post(
                f"{base}/login",
                data={
                    "email": f"someone{number}@demo.local",
                    "password": "guess",
                    "csrf_token": csrf_of(page.content),
                },
                timeout=30,
            ).status_code
        )
    assert answers == [401] * 4 + [429]
    assert sign_in(browser_from("127.0.0.3"), base, PASSWORD).status_code == 302


@pytest.mark.parametrize("trusted_proxies", [(), ("127.0.0.1/32",)])
def test_x_forwarded_for_counts_only_from_a_trusted_proxy(gateway, trusted_proxies):
    """A caller that is not a listed proxy cannot pick its address with the header: its failures
    count under the address it connects from, whatever it claims."""
    _, base = gateway(
        rate_limit_token="5 per minute",
        rate_limit_token_client="5 per minute",
        trusted_proxies=trusted_proxies,
    )
    attacker = browser_from("127.0.0.2")
    answers = [
        token(
            attacker, base, "nobody", "x", headers={"X-Forwarded-For": f"198.51.100.{number}"}
        ).status_code
        for number in range(6)
    ]
    assert answers == [401] * 5 + [429]


def test_a_trusted_proxy_names_the_client_address(gateway):
    app, base = gateway(
        rate_limit_token="5 per minute",
        rate_limit_token_client="5 per minute",
        trusted_proxies=("127.0.0.1/32",),
    )
    client_id, secret = new_client(app)
    proxy = browser_from("127.0.0.1")
    first = {"headers": {"X-Forwarded-For": "203.0.113.7"}}
    second = {"headers": {"X-Forwarded-For": "10.1.2.3, 198.51.100.9"}}  # the proxy appends
    answers = [token(proxy, base, client_id, "wrong", **first).status_code for _ in range(6)]
    assert answers == [401] * 5 + [429]
    assert token(proxy, base, client_id, secret, **second).status_code == 200


def test_limit_log_lines_name_known_clients_only(gateway, caplog):
    app, base = gateway(rate_limit_token="3 per minute", rate_limit_token_client="3 per minute")
    client_id, _ = new_client(app)
    caplog.set_level(logging.INFO)
    attacker = browser_from("127.0.0.2")
    for _ in range(5):
        token(attacker, base, CLAIMED, "x")
    other = browser_from("127.0.0.3")
    for _ in range(5):
        token(other, base, client_id, "x")
    logged = [
        " ".join([record.getMessage(), *map(str, vars(record).values())])
        for record in caplog.records
        if record.name != "werkzeug"  # the test server's own access lines
    ]
    assert not any("anna" in line or "12345678" in line for line in logged)
    assert not any("127.0.0." in line for line in logged)  # nor an address
    limited = [record for record in caplog.records if record.name == "cr.limits"]
    assert [getattr(record, "client_id", None) for record in limited] == [None] * 2 + [
        client_id
    ] * 2


def test_wrong_secrets_at_the_revocation_endpoint_use_up_the_same_budget(gateway):
    """Revocation authenticates the client too: it is no way around the token endpoint's budget."""
    app, base = gateway(rate_limit_token="10 per minute", rate_limit_token_client="3 per minute")
    client_id, secret = new_client(app)
    attacker = browser_from("127.0.0.2")
    answers = [
        attacker.post(
            f"{base}/oauth/revoke", data={"token": "x"}, auth=(client_id, "wrong"), timeout=30
        ).status_code
        for _ in range(4)
    ]
    assert answers == [401] * 3 + [429]
    assert token(attacker, base, client_id, secret).status_code == 429
    assert token(browser_from("127.0.0.3"), base, client_id, secret).status_code == 200
