"""The person's side of a delegated OAuth flow, played with plain HTTP as a browser would: follow
the authorization request to the sign-in form, sign in with the form's CSRF token, answer the
consent form, and stop at the redirect to the agent platform's callback (never followed)."""

import base64
import hashlib
import re
import secrets
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import requests
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.common.platform import gateway_command

DEMO_PASSWORD = "demo"  # the documented demo password (gateway/seed.py)
CHATGPT_CALLBACK = "https://chat.openai.com/aip/g-0123456789abcdef/oauth/callback"


def csrf_of(page: requests.Response) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def pkce() -> tuple[str, str]:
    """A PKCE verifier and its S256 challenge."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).decode().rstrip("=")


def create_agent_client(env: dict, name: str, *redirect_uris: str, pkce: str = "required"):
    """`create-client NAME --role agent --redirect-uri …` through the real CLI: (id, secret)."""
    args = ["create-client", name, "--role", "agent", "--pkce", pkce]
    for uri in redirect_uris:
        args += ["--redirect-uri", uri]
    done = gateway_command(env, *args)
    assert done.returncode == 0, done.stderr
    values = dict(line.split(": ", 1) for line in done.stdout.splitlines() if ": " in line)
    return values["client_id"], values["client_secret"]


class Browser:
    """One person's browser at the gateway (a cookie jar), signed in on first need."""

    def __init__(self, gateway: str, email: str, password: str = DEMO_PASSWORD) -> None:
        self.gateway = gateway
        self.email = email
        self.password = password
        self.http = requests.Session()

    def get(self, url: str) -> requests.Response:
        return self.http.get(urljoin(self.gateway, url), allow_redirects=False, timeout=30)

    def authorize(self, url: str) -> requests.Response:
        """Open an authorization URL, signing in when the gateway sends us to /login. Returns the
        answer after sign-in: the consent page, a redirect to the client, or a refusal page."""
        answer = self.get(url)
        if answer.status_code == 302 and urlsplit(answer.headers["Location"]).path == "/login":
            form = self.get(answer.headers["Location"])
            signed_in = self.http.post(
                urljoin(self.gateway, "/login"),
                data={
                    "email": self.email,
                    "password": self.password,
                    "next": parse_qs(urlsplit(answer.headers["Location"]).query)["next"][0],
                    "csrf_token": csrf_of(form),
                },
                allow_redirects=False,
                timeout=30,
            )
            assert signed_in.status_code == 302, signed_in.text
            answer = self.get(signed_in.headers["Location"])
        return answer

    def decide(self, consent_page: requests.Response, decision: str) -> requests.Response:
        """Press Allow or Deny on the consent page (a form posted to the same URL)."""
        assert consent_page.status_code == 200 and "Allow access?" in consent_page.text
        return self.http.post(
            consent_page.url,
            data={"decision": decision, "csrf_token": csrf_of(consent_page)},
            allow_redirects=False,
            timeout=30,
        )

    def approve(self, url: str) -> dict[str, str]:
        """Authorize and allow (when asked): the query of the redirect to the client."""
        answer = self.authorize(url)
        if answer.status_code == 200:
            answer = self.decide(answer, "allow")
        return redirect_query(answer)


def redirect_query(answer: requests.Response) -> dict[str, str]:
    assert answer.status_code == 302, answer.text
    return {
        key: values[0]
        for key, values in parse_qs(urlsplit(answer.headers["Location"]).query).items()
    }


def authorization_url(gateway: str, client_id: str, redirect_uri: str, **extra) -> str:
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "state": secrets.token_urlsafe(12),
        **extra,
    }
    return (
        f"{gateway}/oauth/authorize?{urlencode({k: v for k, v in params.items() if v is not None})}"
    )


def claims_of(gateway: str, access_token: str) -> dict:
    """The verified claims of one of the gateway's access tokens (checked with its public JWKS)."""
    keys = KeySet.import_key_set(requests.get(f"{gateway}/oauth/jwks", timeout=10).json())
    return jwt.decode(access_token, keys, algorithms=["RS256"]).claims
