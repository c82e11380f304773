"""MCP authorization with OAuth, driven by the official SDK's own client (OAuthClientProvider):
from a 401 it discovers the protected-resource and authorization-server metadata, registers
itself (RFC 7591, MCP_CLIENT_REGISTRATION=open), sends the person through sign-in and consent
(played with plain HTTP), exchanges the code with PKCE S256 for a token bound to `<gateway>/mcp`
(RFC 8707), lists the tools and calls them. With `off` there is no registration endpoint; with
`admin` a registered client gets no code and no token until an admin approves it."""

import anyio
import httpx2
import psycopg
import pytest
import requests
from mcp.client.auth import OAuthClientProvider
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientMetadata
from psycopg.rows import dict_row

from devstack.processes import start_platform
from devstack.testing import clone_database, drop_database
from gateway import users
from shared.db import url_with_database
from tests.common.async_run import run_async
from tests.common.builders import make_session
from tests.common.delegation import Browser, authorization_url, claims_of, pkce, redirect_query
from tests.common.platform import gateway_command

MANAGER, PASSWORD = "lead@mcp-oauth.test", "a-long-mcp-oauth-password"
OWN, OTHER = "mcp-oauth-own", "mcp-oauth-other"
CALLBACK = "http://127.0.0.1:33418/callback"  # the client's loopback redirect (never served here)
TOOLS = {
    "store_analysis",
    "compare_history",
    "check_input",
    "report_validation_events",
    "show_validation_log",
}


def own_platform(pg_server, template_database, tmp_path_factory, mode: str, names=()):
    """A platform of its own with MCP_CLIENT_REGISTRATION=`mode` and a manager of OWN."""
    name = clone_database(pg_server, template_database)
    url = url_with_database(pg_server, name)
    with psycopg.connect(url, row_factory=dict_row, options="-c search_path=gateway") as conn:
        users.create_user(conn, MANAGER, PASSWORD, ["manager"], [OWN])
    running = start_platform(
        url,
        tmp_path_factory.mktemp(f"mcp-oauth-{mode}"),
        names=names,
        extra_env={"MCP_CLIENT_REGISTRATION": mode},
    )
    return running, name


@pytest.fixture(scope="module")
def open_platform(pg_server, template_database, tmp_path_factory):
    names = ["gateway", "persistence", "trends", "trends-worker", "qa", "mcp"]
    running, name = own_platform(pg_server, template_database, tmp_path_factory, "open", names)
    yield running
    running.stop()
    drop_database(pg_server, name)


@pytest.fixture(scope="module")
def admin_platform(pg_server, template_database, tmp_path_factory):
    running, name = own_platform(
        pg_server, template_database, tmp_path_factory, "admin", ["gateway"]
    )
    yield running
    running.stop()
    drop_database(pg_server, name)


class MemoryStorage:
    """The SDK's TokenStorage kept in memory (what the client registered and was given)."""

    def __init__(self) -> None:
        self.tokens = None
        self.client_info = None

    async def get_tokens(self):
        return self.tokens

    async def set_tokens(self, tokens) -> None:
        self.tokens = tokens

    async def get_client_info(self):
        return self.client_info

    async def set_client_info(self, client_info) -> None:
        self.client_info = client_info


def oauth_provider(gateway: str, storage: MemoryStorage, browser: Browser) -> OAuthClientProvider:
    """The SDK's OAuth provider as a public MCP client; the person approves in `browser`."""
    answered: dict[str, str] = {}

    async def redirect_handler(url: str) -> None:
        answered.update(browser.approve(url))

    async def callback_handler() -> AuthorizationCodeResult:
        return AuthorizationCodeResult(code=answered["code"], state=answered.get("state"))

    metadata = OAuthClientMetadata(
        client_name="Test MCP client",
        redirect_uris=[CALLBACK],
        grant_types=["authorization_code", "refresh_token"],
        response_types=["code"],
        token_endpoint_auth_method="none",
    )
    return OAuthClientProvider(
        server_url=f"{gateway}/mcp",
        client_metadata=metadata,
        storage=storage,
        redirect_handler=redirect_handler,
        callback_handler=callback_handler,
    )


def with_oauth_session(gateway: str, storage: MemoryStorage, browser: Browser, work):
    async def main():
        async with (
            httpx2.AsyncClient(auth=oauth_provider(gateway, storage, browser), timeout=30) as http,
            streamable_http_client(f"{gateway}/mcp", http_client=http) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            return await work(session)

    return run_async(main)


def register_public_client(gateway: str) -> dict:
    """RFC 7591 registration of a public client, as a plain HTTP call."""
    answer = requests.post(
        f"{gateway}/oauth/register",
        json={"redirect_uris": [CALLBACK], "token_endpoint_auth_method": "none"},
        timeout=10,
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_the_sdks_oauth_client_connects_and_calls_tools_within_the_persons_team(open_platform):
    gateway = open_platform.gateway
    storage = MemoryStorage()
    browser = Browser(gateway, MANAGER, PASSWORD)
    own = make_session(team=OWN, engineer="Mira Mcpowner")

    async def work(session):
        tools = {tool.name for tool in (await session.list_tools()).tools}
        stored = await session.call_tool("store_analysis", own)
        refused = await session.call_tool("store_analysis", make_session(team=OTHER))
        return tools, stored, refused

    tools, stored, refused = with_oauth_session(gateway, storage, browser, work)
    assert tools == TOOLS
    assert stored.is_error is False, stored.content
    assert stored.structured_content["session_id"] == own["session_id"]
    assert refused.is_error is True
    assert refused.structured_content["status"] == 403
    assert refused.structured_content["errors"] == [
        {"field": "team", "reason": "Outside the teams this caller acts for."}
    ]

    registered = storage.client_info
    assert registered.client_secret is None and registered.token_endpoint_auth_method == "none"
    claims = claims_of(gateway, storage.tokens.access_token)
    assert claims["aud"] == f"{gateway}/mcp"  # bound to the MCP endpoint (RFC 8707)
    assert (claims["roles"], claims["teams"]) == (["agent"], [OWN])
    assert storage.tokens.scope == "agent"

    # the same client again: token and registration reused, consent not asked again
    async def compare(session):
        for _ in range(300):
            answer = await session.call_tool("compare_history", {"engineer": "Mira Mcpowner"})
            if not answer.is_error:
                return answer
            await anyio.sleep(0.2)
        return answer

    compared = with_oauth_session(gateway, storage, browser, compare)
    assert compared.is_error is False, compared.content
    assert (
        compared.structured_content["engineer_code"] == stored.structured_content["engineer_code"]
    )
    assert compared.structured_content["team"] == OWN


def test_open_registration_is_advertised_and_refuses_what_it_cannot_register(open_platform):
    gateway = open_platform.gateway
    for path in ("/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"):
        metadata = requests.get(f"{gateway}{path}", timeout=10).json()
        assert metadata["registration_endpoint"] == f"{gateway}/oauth/register"
        assert "none" in metadata["token_endpoint_auth_methods_supported"]
    resource = requests.get(f"{gateway}/.well-known/oauth-protected-resource/mcp", timeout=10)
    assert resource.json()["scopes_supported"] == ["agent"]
    register = f"{gateway}/oauth/register"
    insecure = requests.post(
        register, json={"redirect_uris": ["http://gpt.example/cb"]}, timeout=10
    )
    assert insecure.status_code == 400
    assert insecure.json()["error"] == "invalid_redirect_uri"
    machine = requests.post(
        register,
        json={"redirect_uris": [CALLBACK], "grant_types": ["client_credentials"]},
        timeout=10,
    )
    assert machine.status_code == 400
    assert machine.json()["error"] == "invalid_client_metadata"


def test_a_token_for_a_foreign_resource_is_refused_with_invalid_target(open_platform):
    gateway = open_platform.gateway
    client = register_public_client(gateway)
    browser = Browser(gateway, MANAGER, PASSWORD)
    verifier, challenge = pkce()
    url = authorization_url(
        gateway,
        client["client_id"],
        CALLBACK,
        code_challenge=challenge,
        code_challenge_method="S256",
        resource="https://elsewhere.example/mcp",
    )
    refused = browser.authorize(url)
    assert refused.status_code == 400 and "invalid_target" in refused.text
    assert "elsewhere.example" not in refused.text
    code = browser.approve(url.replace("https%3A%2F%2Felsewhere.example", gateway))["code"]
    other = requests.post(
        f"{gateway}/oauth/token",
        data={
            "grant_type": "authorization_code",
            "client_id": client["client_id"],
            "code": code,
            "redirect_uri": CALLBACK,
            "code_verifier": verifier,
            "resource": gateway,  # the API, not the /mcp the code was granted for
        },
        timeout=10,
    )
    assert other.status_code == 400 and other.json()["error"] == "invalid_target"


def test_a_public_client_cannot_skip_pkce(open_platform):
    gateway = open_platform.gateway
    client = register_public_client(gateway)
    browser = Browser(gateway, MANAGER, PASSWORD)
    refused = browser.authorize(authorization_url(gateway, client["client_id"], CALLBACK))
    assert refused.status_code == 400 and "Location" not in refused.headers


def test_registration_off_has_no_endpoint(platform):
    gateway = platform.gateway
    metadata = requests.get(f"{gateway}/.well-known/oauth-authorization-server", timeout=10)
    assert "registration_endpoint" not in metadata.json()
    assert metadata.json()["token_endpoint_auth_methods_supported"] == [
        "client_secret_basic",
        "client_secret_post",
    ]
    answer = requests.post(
        f"{gateway}/oauth/register", json={"redirect_uris": [CALLBACK]}, timeout=10
    )
    assert answer.status_code == 404


def test_admin_registration_waits_for_approval(admin_platform):
    gateway = admin_platform.gateway
    registered = requests.post(
        f"{gateway}/oauth/register",
        json={"client_name": "Pending MCP client", "redirect_uris": [CALLBACK]},
        timeout=10,
    )
    assert registered.status_code == 201, registered.text
    client = registered.json()
    assert client["token_endpoint_auth_method"] == "client_secret_basic" and client["client_secret"]
    browser = Browser(gateway, MANAGER, PASSWORD)
    verifier, challenge = pkce()
    url = authorization_url(
        gateway,
        client["client_id"],
        CALLBACK,
        code_challenge=challenge,
        code_challenge_method="S256",
    )
    pending = browser.authorize(url)
    assert pending.status_code == 400 and "Location" not in pending.headers
    token = requests.post(
        f"{gateway}/oauth/token",
        data={"grant_type": "authorization_code", "code": "x", "redirect_uri": CALLBACK},
        auth=(client["client_id"], client["client_secret"]),
        timeout=10,
    )
    assert token.status_code == 401 and token.json()["error"] == "invalid_client"
    listed = gateway_command(admin_platform.env, "list-clients").stdout
    assert f"{client['client_id']}\tPending MCP client\tagent\tconfidential\tawaiting" in listed

    approved = gateway_command(admin_platform.env, "approve-client", client["client_id"])
    assert approved.returncode == 0, approved.stderr
    consent = browser.authorize(url)
    assert consent.status_code == 200
    assert "registered itself" in consent.text  # the name is the registrant's choice
    code = redirect_query(browser.decide(consent, "allow"))["code"]
    issued = requests.post(
        f"{gateway}/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": CALLBACK,
            "code_verifier": verifier,
        },
        auth=(client["client_id"], client["client_secret"]),
        timeout=10,
    )
    assert issued.status_code == 200, issued.text
    assert claims_of(gateway, issued.json()["access_token"])["aud"] == "cr-assistant-api"
