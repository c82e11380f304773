"""Issue #21 finding 1, through the gateway on real processes: an engineer's history answers a
manager with their own teams' part of it only. The engineer has four analyses in team B (ten to
four days ago, one recurring knowledge gap) and then one in team A (yesterday); a manager of A
sees that one, a manager of B the four and their alerts, a manager of a third team gets exactly the
404 of an engineer who does not exist, and the agent and an admin still see all five."""

import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

TEAM_A, TEAM_B, TEAM_C = "scope-a", "scope-b", "scope-c"
ENGINEER = "Hester Scopewise"
MISSING_NAME = "Nemo Scopeless"
MISSING_CODE = "eng_" + "y" * 24
# (days ago, team, root cause, sentiment): B's knowledge gaps improve step by step.
ANALYSES = [
    (10, TEAM_B, "knowledge_gap", 0.2),
    (8, TEAM_B, "knowledge_gap", 0.3),
    (6, TEAM_B, "knowledge_gap", 0.4),
    (4, TEAM_B, "knowledge_gap", 0.5),
    (1, TEAM_A, "communication_issue", 0.9),
]


def analysis(days_ago: int, team: str, root_cause: str, sentiment: float) -> dict:
    ended = datetime.now(UTC) - timedelta(days=days_ago, hours=2)
    return {
        "session_id": str(uuid.uuid4()),
        "engineer": ENGINEER,
        "case_number": "12340001",
        "team": team,
        "region": "EMEA",
        "record_type": "single",
        "parts": 1,
        "languages": ["EN"],
        "sentiment_score": sentiment,
        "root_cause": root_cause,
        "confidence_analysis": 0.8,
        "confidence_translation": 0.8,
        "started_at": (ended - timedelta(minutes=10)).isoformat(),
        "ended_at": ended.isoformat(),
        "agent_version": "3.7.0",
    }


@pytest.fixture(scope="module")
def world(make_caller, agent, admin):
    """The agent stores the five analyses; an admin evaluates until B's two alerts are open
    (default thresholds): four knowledge gaps in 90 days, and their sentiment rising four times
    in a row."""
    stored = agent.request(
        "POST", "/api/v1/sessions/batch", json={"items": [analysis(*row) for row in ANALYSES]}
    )
    assert stored.status_code == 200 and stored.json()["created"] == 5, stored.text
    code = admin.request("POST", "/api/v1/engineers/lookup", json={"engineer": ENGINEER}).json()[
        "engineer_code"
    ]
    deadline, alerts = time.monotonic() + 60, {}
    while time.monotonic() < deadline and set(alerts) != set(ALERT_RULES):
        admin.request("POST", "/api/v1/trends/evaluate")
        items = admin.request("GET", "/api/v1/alerts", params={"engineer_code": code}).json()
        alerts = {item["rule"]: item for item in items["items"] if item["status"] == "open"}
        time.sleep(0.3)
    assert {rule: (alert["team"], alert["category"]) for rule, alert in alerts.items()} == {
        rule: (TEAM_B, "knowledge_gap") for rule in ALERT_RULES
    }
    return {
        "code": code,
        "alerts": sorted(alert["id"] for alert in alerts.values()),
        "agent": agent,
        "admin": admin,
        TEAM_A: make_caller("manager", teams=(TEAM_A,)),
        TEAM_B: make_caller("manager", teams=(TEAM_B,)),
        TEAM_C: make_caller("manager", teams=(TEAM_C,)),
    }


ALERT_RULES = ("positive_trend", "recurring_issue")
READS = ["GET by code", "compare by code", "compare by name"]


def history(caller, read: str, code: str, name: str):
    if read == "GET by code":
        return caller.request("GET", f"/api/v1/history/{code}")
    body = {"engineer_code": code} if read == "compare by code" else {"engineer": name}
    return caller.request("POST", "/api/v1/history/compare", json=body)


# What each reader must see: sessions and root causes of the period, the recurring categories,
# the streaks, the team (baseline) and the open alerts.
EXPECTED = {
    TEAM_A: {
        "sessions": 1,
        "root_causes": {"communication_issue": 1},
        "recurring": [],
        "streaks": [],
        "team": TEAM_A,
        "baseline_sessions": 1,
        "alert": False,
    },
    TEAM_B: {
        "sessions": 4,
        "root_causes": {"knowledge_gap": 4},
        "recurring": [{"category": "knowledge_gap", "sessions": 4, "window_days": 90}],
        "streaks": [{"category": "knowledge_gap", "direction": "improving", "length": 3}],
        "team": TEAM_B,
        "baseline_sessions": 4,
        "alert": True,
    },
    "all": {
        "sessions": 5,
        "root_causes": {"communication_issue": 1, "knowledge_gap": 4},
        "recurring": [{"category": "knowledge_gap", "sessions": 4, "window_days": 90}],
        "streaks": [{"category": "knowledge_gap", "direction": "improving", "length": 3}],
        "team": TEAM_A,  # the team of the latest analysis
        "baseline_sessions": 1,
        "alert": True,
    },
}


def assert_history(answer: dict, expected: dict, world: dict) -> None:
    assert answer["engineer_code"] == world["code"]
    assert answer["current"]["sessions"] == expected["sessions"]
    assert answer["current"]["root_causes"] == expected["root_causes"]
    assert answer["previous"]["sessions"] == 0
    assert answer["delta"]["sessions"] == expected["sessions"]
    assert sum(week["sessions"] for week in answer["timeline"]) == expected["sessions"]
    assert answer["recurring"] == expected["recurring"]
    assert answer["streaks"] == expected["streaks"]
    assert answer["team"] == expected["team"]
    assert answer["team_baseline"]["sessions"] == expected["baseline_sessions"]
    assert sorted(alert["id"] for alert in answer["alerts"]) == (
        world["alerts"] if expected["alert"] else []
    )
    assert answer["text"].startswith(f"{expected['sessions']} analyses in the last 30 days")


@pytest.mark.parametrize("read", READS)
@pytest.mark.parametrize("team", [TEAM_A, TEAM_B])
def test_a_manager_sees_only_their_teams_part_of_an_engineers_history(world, team, read):
    response = history(world[team], read, world["code"], ENGINEER)
    assert response.status_code == 200, response.text
    assert_history(response.json(), EXPECTED[team], world)
    other = TEAM_B if team == TEAM_A else TEAM_A
    assert other not in response.text


@pytest.mark.parametrize("read", READS)
def test_a_manager_of_a_third_team_gets_the_404_of_a_missing_engineer(world, read):
    manager = world[TEAM_C]
    other = history(manager, read, world["code"], ENGINEER)
    missing = history(manager, read, MISSING_CODE, MISSING_NAME)
    assert other.status_code == missing.status_code == 404, (other.text, missing.text)
    assert other.json() | {"request_id": None} == missing.json() | {"request_id": None}
    assert other.headers["Content-Type"] == missing.headers["Content-Type"]
    assert TEAM_A not in other.text and TEAM_B not in other.text


@pytest.mark.parametrize("read", READS)
@pytest.mark.parametrize("caller", ["agent", "admin"])
def test_the_agent_and_an_admin_still_see_the_whole_history(world, caller, read):
    response = history(world[caller], read, world["code"], ENGINEER)
    assert response.status_code == 200, response.text
    assert_history(response.json(), EXPECTED["all"], world)


@pytest.mark.parametrize("team", [TEAM_A, TEAM_B])
def test_the_alert_list_by_engineer_shows_a_manager_their_teams_alerts_only(world, team):
    response = world[team].request("GET", "/api/v1/alerts", params={"engineer_code": world["code"]})
    assert response.status_code == 200, response.text
    assert sorted(item["id"] for item in response.json()["items"]) == (
        world["alerts"] if team == TEAM_B else []
    )


@pytest.mark.parametrize("team", [TEAM_A, TEAM_B])
def test_the_engineers_list_counts_a_managers_teams_sessions_only(world, team):
    response = world[team].request("GET", "/api/v1/trends/engineers")
    assert response.status_code == 200, response.text
    rows = [row for row in response.json()["items"] if row["engineer_code"] == world["code"]]
    assert [(row["team"], row["sessions"]) for row in rows] == [(team, EXPECTED[team]["sessions"])]


@pytest.mark.parametrize("team", [TEAM_A, TEAM_B])
def test_the_sessions_of_an_engineer_show_a_manager_their_teams_sessions_only(world, team):
    listed = world[team].request(
        "GET", "/api/v1/sessions", params={"engineer_code": world["code"], "limit": 100}
    )
    assert listed.status_code == 200, listed.text
    assert (
        sorted(item["team"] for item in listed.json()["items"])
        == [team] * (EXPECTED[team]["sessions"])
    )
    exported = world[team].request(
        "GET", "/api/v1/sessions/export", params={"engineer_code": world["code"], "format": "json"}
    )
    assert exported.status_code == 200, exported.text
    assert sorted(item["team"] for item in exported.json()) == [team] * EXPECTED[team]["sessions"]
