"""The process model for real: two gateway replicas (one worker each, as every deployment runs
them) sharing a Redis, whose rate limit counts once across both and whose /metrics add up exactly
to the requests sent; and a production gateway that has nowhere to share its counts refuses to
start. Redis is Debian's `redis-server` on a free port of this test's own (`.ci/run` installs it)."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import redis
import requests
from prometheus_client.parser import text_string_to_metric_families

from devstack.postgres import free_port
from devstack.processes import start_platform
from devstack.stack import PROCESSES
from devstack.testing import client_token, clone_database, create_client, drop_database
from shared.config import PROJECT_ROOT
from shared.db import url_with_database
from tests.common.ports import refusing_url, unreachable_services

API_LIMIT = 6  # calls per minute and caller, across every replica
PROXY_ROUTE = "/api/v1/<path:path>"


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory) -> Iterator[str]:
    """A Redis server of this test's own: nothing kept on disk, gone afterwards."""
    binary = shutil.which("redis-server")
    assert binary, "redis-server is needed: apt-get install redis-server (.ci/run does)"
    port = free_port()
    folder = tmp_path_factory.mktemp("redis")
    options = ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    server = subprocess.Popen(
        [binary, *options, "--dir", str(folder), "--logfile", str(folder / "redis.log")]
    )
    client = redis.Redis(port=port, socket_timeout=1)
    try:
        deadline = time.monotonic() + 15
        while True:
            with contextlib.suppress(redis.ConnectionError):
                if client.ping():
                    break
            assert server.poll() is None and time.monotonic() < deadline, "redis did not start"
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        client.close()
        server.terminate()
        server.wait(10)


@pytest.fixture(scope="module")
def replicas_db(pg_server, template_database) -> Iterator[str]:
    name = clone_database(pg_server, template_database)
    yield url_with_database(pg_server, name)
    drop_database(pg_server, name)


@pytest.fixture(scope="module")
def replicas(replicas_db, redis_url, tmp_path_factory):
    """Two gateway processes on free ports with one issuer, one key ring (a shared DATA_DIR), one
    Redis; their services are a held port that refuses (a forwarded call answers 503)."""
    shared_data = tmp_path_factory.mktemp("gateway-data")
    with refusing_url() as nowhere:
        env = {
            "DATA_DIR": str(shared_data),
            "GATEWAY_ISSUER": "http://gateway.replicas.test",
            "REDIS_URL": redis_url,
            "RATE_LIMIT_API": f"{API_LIMIT} per minute",
            **{name.upper(): nowhere for name in unreachable_services(nowhere)},
        }
        first = start_platform(replicas_db, tmp_path_factory.mktemp("a"), ["gateway"], env)
        try:
            second = start_platform(replicas_db, tmp_path_factory.mktemp("b"), ["gateway"], env)
        except Exception:
            first.stop()
            raise
        try:
            yield first, second
        finally:
            second.stop()
            first.stop()


def proxied_counts(gateway_url: str) -> Counter:
    """This gateway process's cr_http_requests_total of forwarded API calls, by status."""
    text = requests.get(f"{gateway_url}/metrics", timeout=10).text
    counts = Counter()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = sample.labels
            if sample.name == "cr_http_requests_total" and labels.get("route") == PROXY_ROUTE:
                counts[labels["status"]] += int(sample.value)
    return counts


def test_two_replicas_count_one_limit_and_their_metrics_add_up(replicas):
    first, second = replicas
    client_id, secret = create_client(first.env, "replica-test", "admin")
    token = client_token(first.gateway, client_id, secret)
    headers = {"Authorization": f"Bearer {token}"}
    before = [proxied_counts(first.gateway), proxied_counts(second.gateway)]

    sent = 2 * API_LIMIT
    statuses = Counter()
    for number in range(sent):
        replica = (first, second)[number % 2]
        answer = requests.get(f"{replica.gateway}/api/v1/sessions", headers=headers, timeout=10)
        statuses[str(answer.status_code)] += 1

    # one count across both: counted per replica, all twelve would have gone through (503)
    assert statuses == Counter({"503": API_LIMIT, "429": sent - API_LIMIT})
    after = [proxied_counts(first.gateway), proxied_counts(second.gateway)]
    rose = [after[i] - before[i] for i in range(2)]
    assert sum(rose[0].values()) == sum(rose[1].values()) == sent // 2
    assert rose[0] + rose[1] == statuses  # every request in exactly one scrape, none twice


def gateway_exit(env: dict[str, str], timeout: float = 60) -> tuple[int, str]:
    """Start the gateway as `make run` and the deployments do; its exit code and output."""
    process = next(p for p in PROCESSES if p.name == "gateway")
    done = subprocess.run(
        replace(process, port=free_port()).command(),
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return done.returncode, done.stdout + done.stderr


def test_a_production_gateway_without_shared_storage_refuses_to_start(replicas, tmp_path):
    first, _ = replicas
    keys = tmp_path / "gateway_jwks.json"
    keys.write_text((Path(first.env["DATA_DIR"]) / "gateway_jwks.json").read_text())
    env = {
        **{key: value for key, value in os.environ.items() if not key.startswith("PYTEST")},
        **first.env,
        "CR_ENV": "production",
        "SESSION_SECRET": "production-session-secret-0123456789abcdef",
        "PSEUDONYM_KEY": "production-pseudonym-key-0123456789abcdef",
        "GATEWAY_SIGNING_KEYS": str(keys),
        "REDIS_URL": "",
    }
    code, output = gateway_exit(env)
    assert code != 0
    assert "REDIS_URL must be set when CR_ENV=production" in output
