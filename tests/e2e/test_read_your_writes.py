"""Read-your-writes for the agent (issue #22, part 4): Compare History right after the agent's own
write counts that write, every time, without the agent passing anything along."""

import secrets
import string

import psycopg
import pytest

from devstack.processes import start_platform
from devstack.testing import clone_database, create_client, drop_database
from shared.db import url_with_database
from tests.common.builders import make_session
from tests.common.platform import Caller
from tests.e2e.test_mcp import with_mcp

PAIRS = 100


def fresh_name() -> str:
    """A name no other test uses (letters only, as the workflow's name rule asks)."""
    return "Ryw " + "".join(secrets.choice(string.ascii_lowercase) for _ in range(12)).title()


def test_100_write_then_compare_pairs_all_count_their_write(make_caller):
    agent = make_caller("agent")
    missed = []
    for pair in range(PAIRS):
        created = agent.request(
            "POST", "/api/v1/sessions", json=make_session(engineer=fresh_name(), team="ryw-team")
        )
        assert created.status_code == 201, created.text
        code = created.json()["engineer_code"]
        compared = agent.request("POST", "/api/v1/history/compare", json={"engineer_code": code})
        assert compared.status_code == 200, compared.text
        if compared.json()["current"]["sessions"] != 1:
            missed.append(pair)
    assert missed == [], f"{len(missed)} of {PAIRS} compares missed their write"


def test_compare_by_name_right_after_the_write_counts_it(make_caller):
    agent = make_caller("agent")
    name = fresh_name()
    body = make_session(engineer=name, team="ryw-team")
    assert agent.request("POST", "/api/v1/sessions", json=body).status_code == 201
    compared = agent.request("POST", "/api/v1/history/compare", json={"engineer": name})
    assert compared.status_code == 200, compared.text
    assert compared.json()["current"]["sessions"] == 1


MCP_PAIRS = 20


def test_mcp_compare_history_right_after_store_analysis_counts_it(platform, make_api_key):
    """The MCP tools call the same REST operations: the same guarantee, in one client session."""
    key = make_api_key("mcp-read-your-writes", "agent")

    async def work(session):
        missed = []
        for pair in range(MCP_PAIRS):
            body = make_session(engineer=fresh_name(), team="ryw-team")
            stored = await session.call_tool("store_analysis", body)
            assert stored.is_error is False, stored.content
            code = stored.structured_content["engineer_code"]
            compared = await session.call_tool("compare_history", {"engineer_code": code})
            assert compared.is_error is False, compared.content
            if compared.structured_content["current"]["sessions"] != 1:
                missed.append(pair)
        return missed

    assert with_mcp(f"{platform.gateway}/mcp", key.key, work) == []


@pytest.fixture(scope="module")
def without_worker(pg_server, template_database, tmp_path_factory):
    """Gateway, persistence and trends, but no trends worker, on a database of their own."""
    name = clone_database(pg_server, template_database)
    running = start_platform(
        url_with_database(pg_server, name),
        tmp_path_factory.mktemp("ryw"),
        names=["gateway", "persistence", "trends"],
    )
    try:
        yield running
    finally:
        running.stop()
        drop_database(pg_server, name)


def test_compare_counts_the_write_without_a_worker_and_answers_while_persistence_is_down(
    without_worker,
):
    client_id, secret = create_client(without_worker.env, "ryw-agent", "agent")
    agent = Caller(without_worker.gateway, client_id, secret)
    created = agent.request(
        "POST", "/api/v1/sessions", json=make_session(engineer=fresh_name(), team="ryw-team")
    )
    assert created.status_code == 201, created.text
    code = created.json()["engineer_code"]
    compared = agent.request("POST", "/api/v1/history/compare", json={"engineer_code": code})
    assert compared.status_code == 200, compared.text
    assert compared.json()["current"]["sessions"] == 1  # trends applied the feed itself
    without_worker.stop("persistence")
    try:
        # the feed cannot be read: the answer is the projection's, as before
        offline = agent.request("POST", "/api/v1/history/compare", json={"engineer_code": code})
        assert offline.status_code == 200, offline.text
        assert offline.json()["current"]["sessions"] == 1
    finally:
        without_worker.start("persistence")


def test_compare_applies_the_changes_of_its_engineer_not_everyone_elses(without_worker):
    """Another engineer's pending write is left for the worker: Compare History of this engineer
    is already complete without it (under steady writes, no caller waits on all the others)."""
    client_id, secret = create_client(without_worker.env, "ryw-agent-other", "agent")
    agent = Caller(without_worker.gateway, client_id, secret)

    def store(name: str) -> str:
        created = agent.request(
            "POST", "/api/v1/sessions", json=make_session(engineer=name, team="ryw-team")
        )
        assert created.status_code == 201, created.text
        return created.json()["engineer_code"]

    def compared_sessions(code: str) -> int:
        answer = agent.request("POST", "/api/v1/history/compare", json={"engineer_code": code})
        assert answer.status_code == 200, answer.text
        return answer.json()["current"]["sessions"]

    def projected(code: str) -> int:
        with psycopg.connect(without_worker.env["DATABASE_URL"]) as conn:
            query = "SELECT count(*) FROM trends.sessions WHERE engineer_code = %s"
            return conn.execute(query, [code]).fetchone()[0]

    mine = store(fresh_name())
    assert compared_sessions(mine) == 1
    theirs = store(fresh_name())  # pending: no worker runs here
    assert compared_sessions(mine) == 1
    assert projected(theirs) == 0  # left in the feed
    assert compared_sessions(theirs) == 1  # their own compare applies it
    assert projected(theirs) == 1
