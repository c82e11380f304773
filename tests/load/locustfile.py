"""Mixed traffic through the gateway, for locust (started as a subprocess by tests/load/test_load.py
and bench/soak.py): the agent storing analyses, asking Compare History and checking fields, a
manager reading the dashboard's weekly trends and alerts.

Read from the environment: LOAD_AGENT_TOKEN and LOAD_MANAGER_TOKEN (bearer tokens), LOAD_TEAMS
(comma-separated teams the sessions go to and the manager may read), LOAD_RPS_PER_USER (requests
per second of each simulated user), LOAD_RESULT_FILE (where the final figures are written as JSON).
Every answer but the expected status counts as a failure."""

import json
import os
import random
import uuid
from datetime import UTC, datetime, timedelta

from locust import FastHttpUser, constant_throughput, events, task

ENGINEERS = [f"Load Engineer {chr(65 + i // 26)}{chr(65 + i % 26)}" for i in range(50)]
TEAMS = os.environ.get("LOAD_TEAMS", "load-1,load-2,load-3").split(",")
CAUSES = ["communication_issue", "knowledge_gap", "analytical_error", "process_issue", "other"]
CHECKS = [
    ("languages", "EN, de"),
    ("case_number", "1234 5678"),
    ("record_type", "series"),
    ("engineer", "Load Engineer AA"),
]


def analysis() -> dict:
    """A valid POST /sessions body: one analysis ended some time in the last 90 days."""
    ended = datetime.now(UTC) - timedelta(minutes=random.randint(5, 60 * 24 * 90))
    return {
        "session_id": str(uuid.uuid4()),
        "engineer": random.choice(ENGINEERS),
        "case_number": f"{random.randint(10_000_000, 99_999_999)}",
        "team": random.choice(TEAMS),
        "region": "EMEA",
        "record_type": "single",
        "parts": 1,
        "languages": random.choice([["EN"], ["EN", "DE"], ["FR"]]),
        "sentiment_score": round(random.random(), 2),
        "root_cause": random.choice(CAUSES),
        "confidence_analysis": round(random.uniform(0.4, 1), 2),
        "confidence_translation": round(random.uniform(0.4, 1), 2),
        "started_at": (ended - timedelta(minutes=20)).isoformat(),
        "ended_at": ended.isoformat(),
        "agent_version": "3.7.0",
    }


class MixedTraffic(FastHttpUser):
    wait_time = constant_throughput(float(os.environ.get("LOAD_RPS_PER_USER", "2")))

    def on_start(self) -> None:
        self.agent = {"Authorization": f"Bearer {os.environ['LOAD_AGENT_TOKEN']}"}
        self.manager = {"Authorization": f"Bearer {os.environ['LOAD_MANAGER_TOKEN']}"}

    def expect(self, method: str, path: str, status: int, name: str, **kwargs) -> None:
        """One request that succeeds only with exactly `status` (locust would accept any 2xx/3xx)."""
        with self.client.request(
            method, path, name=name, catch_response=True, **kwargs
        ) as response:
            if response.status_code == status:
                response.success()
            else:
                response.failure(f"HTTP {response.status_code}: {(response.text or '')[:200]}")

    @task(5)
    def store_an_analysis(self) -> None:
        self.expect(
            "POST", "/api/v1/sessions", 201, "POST /sessions", json=analysis(), headers=self.agent
        )

    @task(2)
    def compare_history(self) -> None:
        self.expect(
            "POST",
            "/api/v1/history/compare",
            200,
            "POST /history/compare",
            json={"engineer": random.choice(ENGINEERS)},
            headers=self.agent,
        )

    @task(2)
    def validation_check(self) -> None:
        field, value = random.choice(CHECKS)
        self.expect(
            "POST",
            "/api/v1/validation/check",
            200,
            "POST /validation/check",
            json={"session_id": str(uuid.uuid4()), "field": field, "value": value, "attempt": 1},
            headers=self.agent,
        )

    @task(2)
    def dashboard_trends(self) -> None:
        self.expect(
            "GET",
            f"/api/v1/trends/weekly?team={random.choice(TEAMS)}",
            200,
            "GET /trends/weekly",
            headers=self.manager,
        )

    @task(1)
    def dashboard_alerts(self) -> None:
        self.expect("GET", "/api/v1/alerts?status=open", 200, "GET /alerts", headers=self.manager)


@events.quitting.add_listener
def write_result(environment, **_kwargs) -> None:
    """The final figures, taken after every user finished its last request (the CSV files that
    locust writes every second can miss the last requests)."""
    if not os.environ.get("LOAD_RESULT_FILE"):
        return
    stats = environment.stats
    entries = [*stats.entries.values(), stats.total]
    result = {
        "stats": [
            {
                "name": entry.name,
                "requests": entry.num_requests,
                "failures": entry.num_failures,
                "requests_per_second": entry.total_rps,
                "p50_ms": entry.get_response_time_percentile(0.5),
                "p99_ms": entry.get_response_time_percentile(0.99),
            }
            for entry in entries
        ],
        "failures": [
            {"name": error.name, "error": str(error.error), "occurrences": error.occurrences}
            for error in stats.errors.values()
        ],
    }
    with open(os.environ["LOAD_RESULT_FILE"], "w") as handle:
        json.dump(result, handle)
