"""Smoke load: 20 seconds of mixed traffic through the gateway of the test run's platform (agent
writes, Compare History and validation checks, a manager's dashboard reads) at a rate a 2-core
CI machine sustains. Nothing may fail, every kind of request runs, every write is stored once.
Latency targets live in the soak benchmark (`make soak`), not here."""

import random
import string

import psycopg

from devstack.testing import create_client
from tests.common.load import REQUEST_NAMES, run_mixed_traffic
from tests.common.platform import Caller


def bearer(platform, name: str, role: str, teams: tuple[str, ...] = ()) -> str:
    client_id, secret = create_client(platform.env, name, role, teams=teams)
    header = Caller(platform.gateway, client_id, secret).session.headers["Authorization"]
    return header.removeprefix("Bearer ")


def test_mixed_traffic_has_no_failures_and_stores_every_write_once(platform, platform_db, tmp_path):
    # letters only: a team id may not hold six digits in a row (a case number could hide there)
    run = "".join(random.choices(string.ascii_lowercase, k=8))
    teams = tuple(f"load-{run}-{n}" for n in (1, 2, 3))
    result = run_mixed_traffic(
        platform.gateway,
        agent_token=bearer(platform, f"load-agent-{run}", "agent"),
        manager_token=bearer(platform, f"load-manager-{run}", "manager", teams),
        teams=teams,
        users=10,
        rps_per_user=2,
        seconds=20,
        work_dir=tmp_path,
    )

    assert result.failures == [], result.failures[:5]
    assert set(REQUEST_NAMES) <= set(result.stats), "every kind of request ran"
    assert {name: result.stats[name].failures for name in REQUEST_NAMES} == dict.fromkeys(
        REQUEST_NAMES, 0
    )
    counts = {name: result.stats[name].requests for name in REQUEST_NAMES}
    assert all(count > 0 for count in counts.values()), counts
    assert result.total.requests == sum(counts.values())  # nothing outside the profile
    with psycopg.connect(platform_db) as conn:
        stored = conn.execute(
            "SELECT count(*), count(DISTINCT session_id) FROM persistence.sessions "
            "WHERE team = ANY(%s)",
            [list(teams)],
        ).fetchone()
    assert stored == (counts["POST /sessions"], counts["POST /sessions"])
