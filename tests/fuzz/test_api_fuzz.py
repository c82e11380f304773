"""Fuzzing the whole public API: schemathesis generates valid and invalid requests for every
operation of the merged OpenAPI document (/api/openapi.json at the gateway) and sends them through
the gateway to the real services, with a real access token for each role. Every answer must be a
documented status with a body that matches its schema, never a server error, and invalid input must
be refused with a 4xx.

The platform is its own (own database): fuzzing erases engineers and changes thresholds, which must
not leak into the other end-to-end tests. `FUZZ_EXAMPLES` and `FUZZ_SEED` widen or vary a run
(`make soak` runs it with more examples and a random seed)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from devstack.processes import start_platform
from devstack.testing import client_token, clone_database, create_client, drop_database
from shared.db import url_with_database

CONFIG = Path(__file__).with_name("schemathesis.toml")
CHECKS = (
    "not_a_server_error",
    "response_schema_conformance",
    "negative_data_rejection",
    "status_code_conformance",
)
ROLES = {"agent": (), "manager": ("emea-1",), "qa_lead": (), "admin": ()}


@pytest.fixture(scope="module")
def fuzz_platform(pg_server, template_database, tmp_path_factory):
    database = clone_database(pg_server, template_database)
    running = start_platform(
        url_with_database(pg_server, database),
        tmp_path_factory.mktemp("fuzz"),
        names=["gateway", "persistence", "trends", "qa"],
    )
    yield running
    running.stop()
    drop_database(pg_server, database)


def access_token(platform, role: str) -> str:
    client = create_client(platform.env, f"fuzz-{role}", role, teams=ROLES[role])
    return client_token(platform.gateway, *client)


@pytest.mark.parametrize("role", sorted(ROLES))
def test_every_operation_holds_up_to_generated_requests(fuzz_platform, role, tmp_path):
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--no-color",
        "--config-file",
        str(CONFIG),
        "run",
        f"{fuzz_platform.gateway}/api/openapi.json",
        "--header",
        f"Authorization: Bearer {access_token(fuzz_platform, role)}",
        "--checks",
        ",".join(CHECKS),
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        os.environ.get("FUZZ_EXAMPLES", "30"),
        "--seed",
        os.environ.get("FUZZ_SEED", "20261124"),
        "--workers",
        "1",  # two threads once tripped CPython's AST recursion check inside schemathesis
        "--request-timeout",
        "30",
    ]
    # in tmp_path: schemathesis keeps its replay files in the working directory
    run = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    output = run.stdout + run.stderr
    summary = re.search(r"(\d+) generated, (\d+) (passed|found)", output)
    assert summary, output[-3000:]
    assert run.returncode == 0, failures_of(output)
    operations = operation_count(fuzz_platform.gateway)
    assert f"Tested: {operations}" in output, "every operation of the document was exercised"
    generated, passed = int(summary.group(1)), int(summary.group(2))
    assert generated == passed and generated >= operations * 20, summary.group(0)


def operation_count(gateway: str) -> int:
    document = requests.get(f"{gateway}/api/openapi.json", timeout=10).json()
    methods = {"get", "put", "post", "delete", "patch"}
    return sum(len(methods & set(item)) for item in document["paths"].values())


def failures_of(output: str) -> str:
    """The FAILURES part of schemathesis' report (long generated values cut short)."""
    start = output.find("FAILURES")
    part = output[start:] if start != -1 else output[-6000:]
    return "\n".join(line[:300] for line in part.splitlines())[:8000]
