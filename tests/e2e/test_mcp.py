"""The MCP server at <gateway>/mcp, driven by the official SDK's own client (Streamable HTTP +
ClientSession): discovery of its authorization, the five tools, and tool calls held to the REST
API's policy, team scope, audit and rate limits."""

import httpx2
import requests
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client

from tests.common.async_run import run_async
from tests.common.builders import make_session

TOOLS = {
    "store_analysis",
    "compare_history",
    "check_input",
    "report_validation_events",
    "show_validation_log",
}
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "test", "version": "1"},
    },
}
MCP_HEADERS = {"Accept": "application/json, text/event-stream"}


def with_mcp(url: str, bearer: str, work):
    """Run `await work(session)` in an initialized MCP client session sending `bearer`."""

    async def main():
        headers = {"Authorization": f"Bearer {bearer}"}
        async with (
            httpx2.AsyncClient(headers=headers, timeout=30) as http,
            streamable_http_client(url, http_client=http) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            return await work(session)

    return run_async(main)


def call(platform, bearer: str, tool: str, arguments: dict):
    async def work(session):
        return await session.call_tool(tool, arguments)

    return with_mcp(f"{platform.gateway}/mcp", bearer, work)


def test_mcp_without_a_token_points_at_the_resource_metadata(platform):
    gateway = platform.gateway
    answer = requests.post(f"{gateway}/mcp", json=INITIALIZE, headers=MCP_HEADERS, timeout=10)
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == (
        f'Bearer resource_metadata="{gateway}/.well-known/oauth-protected-resource/mcp"'
    )
    assert answer.headers["Content-Type"] == "application/problem+json"
    forged = requests.post(
        f"{gateway}/mcp",
        json=INITIALIZE,
        headers={**MCP_HEADERS, "Authorization": "Bearer not-a-token"},
        timeout=10,
    )
    assert forged.status_code == 401
    assert forged.headers["WWW-Authenticate"] == (
        f'Bearer resource_metadata="{gateway}/.well-known/oauth-protected-resource/mcp", '
        'error="invalid_token"'
    )

    metadata = requests.get(f"{gateway}/.well-known/oauth-protected-resource/mcp", timeout=10)
    assert metadata.status_code == 200
    assert metadata.json()["resource"] == f"{gateway}/mcp"
    assert metadata.json()["authorization_servers"] == [gateway]
    assert metadata.json()["bearer_methods_supported"] == ["header"]
    root = requests.get(f"{gateway}/.well-known/oauth-protected-resource", timeout=10).json()
    assert root["resource"] == gateway
    assert root["authorization_servers"] == [gateway]
    for path in ("/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"):
        server = requests.get(f"{gateway}{path}", timeout=10).json()
        assert server["issuer"] == gateway
        assert server["authorization_endpoint"] == f"{gateway}/oauth/authorize"
        assert server["token_endpoint"] == f"{gateway}/oauth/token"
        assert server["code_challenge_methods_supported"] == ["S256"]


def test_mcp_server_port_without_the_gateway_gets_401(platform):
    answer = requests.post(
        f"{platform.urls['mcp']}/mcp", json=INITIALIZE, headers=MCP_HEADERS, timeout=10
    )
    assert answer.status_code == 401


def test_agent_key_lists_the_five_tools_with_the_rest_apis_schemas(platform, make_api_key):
    key = make_api_key("mcp-agent-tools", "agent")

    async def work(session):
        return (await session.list_tools()).tools

    tools = {tool.name: tool for tool in with_mcp(f"{platform.gateway}/mcp", key.key, work)}
    assert set(tools) == TOOLS
    agent_document = requests.get(f"{platform.gateway}/api/openapi-agent.json", timeout=10).json()
    session_in = agent_document["components"]["schemas"]["SessionIn"]
    store = tools["store_analysis"].input_schema
    assert store["properties"] == session_in["properties"]
    assert store["required"] == session_in["required"]
    assert store["additionalProperties"] is False
    log = tools["show_validation_log"].input_schema
    assert log["required"] == ["session_id"]
    assert log["properties"]["session_id"]["format"] == "uuid"
    events = tools["report_validation_events"].input_schema["properties"]["events"]
    assert events["items"]["properties"]["outcome"]["enum"] == [
        "valid",
        "invalid",
        "warning",
        "error",
    ]  # the nested Event schema is inlined, no $ref left
    assert "$ref" not in str({name: tool.input_schema for name, tool in tools.items()})


def test_agent_key_stores_an_analysis_and_compares_history(platform, make_api_key):
    key = make_api_key("mcp-agent-calls", "agent")
    body = make_session(team="mcp-team", engineer="Clara Mendes")
    stored = call(platform, key.key, "store_analysis", body)
    assert stored.is_error is False, stored.content
    assert stored.structured_content["session_id"] == body["session_id"]
    again = call(platform, key.key, "store_analysis", body)  # idempotent like REST (200)
    assert again.is_error is False
    compared = call(platform, key.key, "compare_history", {"engineer": "Clara Mendes"})
    assert compared.is_error is False, compared.content
    assert (
        compared.structured_content["engineer_code"] == stored.structured_content["engineer_code"]
    )
    assert set(compared.structured_content) >= {"current", "previous", "delta", "timeline"}

    checked = call(
        platform,
        key.key,
        "check_input",
        {"session_id": body["session_id"], "field": "case_number", "value": "12", "attempt": 1},
    )
    assert checked.structured_content["valid"] is False
    log = call(platform, key.key, "show_validation_log", {"session_id": body["session_id"]})
    assert log.is_error is False, log.content
    assert log.structured_content["case_attempts"] == 1
    assert len(log.structured_content["events"]) == 1


def test_invalid_arguments_get_the_rest_apis_problem(platform, make_api_key):
    key = make_api_key("mcp-agent-invalid", "agent")
    refused = call(platform, key.key, "store_analysis", make_session(sentiment_score=7))
    assert refused.is_error is True
    assert refused.structured_content["status"] == 422
    assert [error["field"] for error in refused.structured_content["errors"]] == ["sentiment_score"]
    missing = call(platform, key.key, "show_validation_log", {})
    assert missing.is_error is True
    assert missing.structured_content["errors"][0]["field"] == "session_id"


def test_client_credentials_token_of_an_agent_client_works_too(platform, agent):
    token = agent.session.headers["Authorization"].removeprefix("Bearer ")

    async def work(session):
        return {tool.name for tool in (await session.list_tools()).tools}

    assert with_mcp(f"{platform.gateway}/mcp", token, work) == TOOLS
    checked = call(
        platform,
        token,
        "check_input",
        {"session_id": make_session()["session_id"], "field": "case_number", "value": "1234"},
    )
    assert checked.is_error is False
    assert checked.structured_content["valid"] is False
    assert checked.structured_content["message"] == (
        "Invalid Case Number — please enter exactly 8 digits."
    )


def test_manager_key_is_refused_another_teams_history_as_over_rest(
    platform, make_api_key, agent, admin
):
    agent.request(
        "POST", "/api/v1/sessions", json=make_session(team="mcp-team-b", engineer="Dora Lind")
    )
    manager = make_api_key("mcp-manager-a", "manager", teams=("mcp-team-a",))
    rest = manager.request("POST", "/api/v1/history/compare", json={"engineer": "Dora Lind"})
    assert rest.status_code == 404
    tool = call(platform, manager.key, "compare_history", {"engineer": "Dora Lind"})
    assert tool.is_error is True
    assert tool.structured_content["status"] == 404
    assert tool.structured_content["title"] == rest.json()["title"]
    write = call(platform, manager.key, "store_analysis", make_session(team="mcp-team-a"))
    assert write.is_error is True
    assert write.structured_content["status"] == 403  # managers do not write sessions

    def audited(action):
        params = {"action": action, "actor": f"api-key:{manager.prefix}"}
        items = admin.request("GET", "/api/v1/audit", params=params).json()["items"]
        return sorted((event["status"], event["outcome"]) for event in items)

    # the REST call and the tool call leave the same trace: a look-up by name that found nothing
    # the manager may see, and the refused write
    assert audited("engineers.lookup") == [(404, "failure"), (404, "failure")]
    assert audited("access.denied") == [(403, "denied")]


def test_tool_calls_are_audited_and_rate_limited_like_rest(platform, make_api_key, admin):
    key = make_api_key("mcp-agent-limits", "agent")

    async def work(session):
        answers = []
        for _ in range(125):  # RATE_LIMIT_LOOKUP: 120 names per minute and caller
            result = await session.call_tool("compare_history", {"engineer": "Emil Sand"})
            answers.append(result.structured_content["status"] if result.is_error else 200)
        return answers

    answers = with_mcp(f"{platform.gateway}/mcp", key.key, work)
    assert answers[:120] == [200] * 120
    assert answers[120:] == [429] * 5
    lookups = admin.request(
        "GET",
        "/api/v1/audit",
        params={"action": "engineers.lookup", "actor": f"api-key:{key.prefix}", "limit": 500},
    ).json()["items"]
    assert len(lookups) == 120  # each name turned into a pseudonym, as over REST


def rpc(platform, bearer: str, message: dict, **headers) -> requests.Response:
    """One JSON-RPC message POSTed to <gateway>/mcp as a stateless client sends it."""
    return requests.post(
        f"{platform.gateway}/mcp",
        json=message,
        headers={**MCP_HEADERS, "Authorization": f"Bearer {bearer}", **headers},
        timeout=30,
    )


def tool_call(name: str, arguments: dict) -> dict:
    return {
        "jsonrpc": "2.0",
        "id": "call-1",
        "method": "tools/call",
        "params": {"name": name, "arguments": arguments},
    }


def test_tool_calls_run_in_the_gateway_and_the_rest_of_the_protocol_in_mcp_svc(
    platform, make_api_key, agent
):
    """A tools/call is answered by the gateway itself (one hop to the service, as REST): it works
    while mcp_svc is down, where initialize and tools/list answer 503."""
    key = make_api_key("mcp-agent-in-gateway", "agent")
    stored = agent.request("POST", "/api/v1/sessions", json=make_session(engineer="Ida Berg"))
    code = stored.json()["engineer_code"]
    rest = agent.request("POST", "/api/v1/history/compare", json={"engineer_code": code})
    platform.stop("mcp")
    try:
        answer = rpc(platform, key.key, tool_call("compare_history", {"engineer_code": code}))
        assert answer.status_code == 200
        assert answer.headers["Content-Type"] == "application/json"
        message = answer.json()
        assert message["jsonrpc"] == "2.0"
        assert message["id"] == "call-1"
        assert message["result"]["isError"] is False
        structured = message["result"]["structuredContent"]
        assert structured["engineer_code"] == code
        assert structured["current"]["sessions"] == rest.json()["current"]["sessions"] == 1
        assert message["result"]["content"][0]["type"] == "text"
        # the REST API's problem, as a tool error, for arguments that cannot be placed
        missing = rpc(platform, key.key, tool_call("show_validation_log", {})).json()["result"]
        assert missing["isError"] is True
        assert missing["structuredContent"]["status"] == 422
        assert missing["structuredContent"]["errors"][0]["field"] == "session_id"
        assert rpc(platform, key.key, INITIALIZE).status_code == 503
        listed = rpc(platform, key.key, {"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
        assert listed.status_code == 503
    finally:
        platform.start("mcp")
    listed = rpc(platform, key.key, {"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
    assert listed.status_code == 200
    assert {tool["name"] for tool in listed.json()["result"]["tools"]} == TOOLS


def test_tool_calls_the_gateway_does_not_run_go_to_the_sdk(platform, make_api_key):
    """Unknown tools, JSON not accepted, another protocol era: mcp_svc's SDK answers, as before."""
    key = make_api_key("mcp-agent-fallback", "agent")
    unknown = rpc(platform, key.key, tool_call("drop_tables", {}))
    assert unknown.status_code == 200
    assert unknown.json()["result"]["isError"] is True
    assert unknown.json()["result"]["structuredContent"]["status"] == 503
    refused = rpc(
        platform,
        key.key,
        tool_call("compare_history", {"engineer_code": "eng_x"}),
        Accept="text/event-stream",
    )
    assert refused.status_code == 406  # the SDK's answer: JSON must be accepted
    era = rpc(
        platform,
        key.key,
        tool_call("compare_history", {"engineer_code": "eng_x"}),
        **{"MCP-Protocol-Version": "1999-01-01"},
    )
    assert era.status_code >= 400
