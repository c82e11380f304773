"""The trends worker killed in the middle of a stream of writes: after a restart the projection
has every session exactly once."""

import signal
import threading
import time

from tests.common.builders import make_session


def test_worker_crash_loses_and_duplicates_nothing(platform, agent, admin):
    name = "Kasimir Absturz"
    posted = []

    def write(count):
        for _ in range(count):
            body = make_session(engineer=name, team="crash-team", root_cause="other")
            assert agent.request("POST", "/api/v1/sessions", json=body).status_code == 201
            posted.append(body["session_id"])

    writer = threading.Thread(target=write, args=(40,))
    writer.start()
    time.sleep(0.5)
    platform.stop("trends-worker", signal.SIGKILL)  # no clean shutdown
    writer.join()
    write(20)
    platform.start("trends-worker")

    code = agent.request("POST", "/api/v1/engineers/lookup", json={"engineer": name}).json()[
        "engineer_code"
    ]
    deadline = time.monotonic() + 20
    history = {}
    while time.monotonic() < deadline:
        history = admin.request("GET", f"/api/v1/history/{code}").json()
        if history["current"]["sessions"] >= len(posted):
            break
        time.sleep(0.5)
    assert len(posted) == 60
    assert history["current"]["sessions"] == 60
    assert sum(week["sessions"] for week in history["timeline"]) == 60  # rollups: no double count
