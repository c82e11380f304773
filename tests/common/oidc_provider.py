"""A real OpenID Connect provider process (panva/oidc-provider on Node.js) for the external-identity
tests: its own issuer on a free 127.0.0.1 port, JWT access tokens for the API audience, roles and
teams in configurable claims, and a login form checked against the accounts it is given."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from joserfc.jwk import RSAKey

from devstack.postgres import free_port

PACKAGE_DIR = Path(__file__).resolve().parent.parent / "oidc_provider"
AUDIENCE = "cr-assistant-api"
RESOURCE = "https://api.cr-assistant.test/"
ROLES_CLAIM = "https://cr-assistant.test/roles"
TEAMS_CLAIM = "https://cr-assistant.test/teams"


def ensure_installed() -> None:
    """`npm ci` once when the provider's packages are missing (CI runs it in `.ci/run`)."""
    if (PACKAGE_DIR / "node_modules" / "oidc-provider").is_dir():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("Node.js and npm are needed for the external OpenID provider tests")
    subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=PACKAGE_DIR,
        check=True,
        timeout=300,
    )


def signing_key(kid: str) -> RSAKey:
    return RSAKey.generate_key(2048, {"kid": kid, "use": "sig", "alg": "RS256"}, private=True)


@dataclass
class OidcProvider:
    """A running provider; `keys` are its private signing keys (the tests forge tokens with them)."""

    issuer: str
    port: int
    config_path: Path
    config: dict[str, Any]
    keys: list[RSAKey]
    log_path: Path
    process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def key(self) -> RSAKey:
        return self.keys[0]

    def start(self) -> None:
        self.config["jwks"] = {"keys": [key.as_dict(private=True) for key in self.keys]}
        self.config_path.write_text(json.dumps(self.config))
        with open(self.log_path, "a") as log:
            self.process = subprocess.Popen(
                [shutil.which("node") or "node", "provider.js", str(self.config_path)],
                cwd=PACKAGE_DIR,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"oidc-provider exited:\n{self.log_path.read_text()}")
            try:
                discovery = f"{self.issuer}/.well-known/openid-configuration"
                if requests.get(discovery, timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"oidc-provider not ready:\n{self.log_path.read_text()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None

    def restart_with_keys(self, keys: list[RSAKey]) -> None:
        """Key rotation at the provider: the same issuer and port, a new published key set."""
        self.stop()
        self.keys = keys
        self.start()

    def client_credentials_token(self, client_id: str, secret: str) -> str:
        response = requests.post(
            f"{self.issuer}/token",
            auth=(client_id, secret),
            data={"grant_type": "client_credentials", "resource": RESOURCE, "scope": "api"},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        return response.json()["access_token"]


def start_oidc_provider(
    work_dir: Path,
    *,
    clients: list[dict[str, Any]],
    accounts: dict[str, dict[str, Any]] | None = None,
    kid: str = "corp-key-1",
) -> OidcProvider:
    """Start a provider on a free port; `clients` are oidc-provider client metadata plus the
    `roles`/`teams` its client-credentials tokens carry."""
    ensure_installed()
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    work_dir.mkdir(parents=True, exist_ok=True)
    provider = OidcProvider(
        issuer=issuer,
        port=port,
        config_path=work_dir / "provider.json",
        config={
            "issuer": issuer,
            "port": port,
            "audience": AUDIENCE,
            "resource": RESOURCE,
            "rolesClaim": ROLES_CLAIM,
            "teamsClaim": TEAMS_CLAIM,
            "clients": clients,
            "accounts": accounts or {},
        },
        keys=[signing_key(kid)],
        log_path=work_dir / "provider.log",
    )
    provider.start()
    return provider


def gateway_settings(provider: OidcProvider, client_id: str, client_secret: str) -> dict[str, str]:
    """The gateway's environment for this provider as its corporate identity provider."""
    return {
        "OIDC_ISSUER": provider.issuer,
        "OIDC_CLIENT_ID": client_id,
        "OIDC_CLIENT_SECRET": client_secret,
        "OIDC_AUDIENCE": AUDIENCE,
        "OIDC_ROLES_CLAIM": ROLES_CLAIM,
        "OIDC_TEAMS_CLAIM": TEAMS_CLAIM,
    }


def authorization_code_tokens(
    provider: OidcProvider,
    *,
    client_id: str,
    client_secret: str,
    redirect_uri: str,
    login: str,
    password: str,
) -> dict[str, Any]:
    """Walk the provider's browser flow with plain HTTP (login form, no consent) and exchange the
    code: the token response with `access_token`, `id_token` and `refresh_token`."""
    from authlib.common.security import generate_token
    from authlib.oauth2.rfc7636 import create_s256_code_challenge

    browser = requests.Session()
    verifier = generate_token(48)
    response = browser.get(
        f"{provider.issuer}/auth",
        params={
            "client_id": client_id,
            "response_type": "code",
            "scope": "openid email profile offline_access",
            "redirect_uri": redirect_uri,
            "code_challenge": create_s256_code_challenge(verifier),
            "code_challenge_method": "S256",
            "state": generate_token(16),
            "nonce": generate_token(16),
        },
        allow_redirects=False,
        timeout=10,
    )
    while response.is_redirect and not response.headers["Location"].startswith(redirect_uri):
        location = requests.compat.urljoin(response.url, response.headers["Location"])
        response = browser.get(location, allow_redirects=False, timeout=10)
        if "/interaction/" in location and response.status_code == 200:
            form = {"prompt": "login", "login": login, "password": password}
            if 'value="consent"' in response.text:
                form = {"prompt": "consent"}
            response = browser.post(
                location,
                data=form,
                allow_redirects=False,
                timeout=10,
            )
    assert response.is_redirect, response.text
    query = requests.utils.urlparse(response.headers["Location"]).query
    code = dict(part.split("=", 1) for part in query.split("&"))["code"]
    token = requests.post(
        f"{provider.issuer}/token",
        auth=(client_id, client_secret),
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        },
        timeout=10,
    )
    assert token.status_code == 200, token.text
    return token.json()
