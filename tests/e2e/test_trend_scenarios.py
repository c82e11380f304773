"""Every scenario in tests/scenarios gives exactly its expected alerts through the real HTTP API:
once with POST /trends/evaluate, once waiting for the worker to evaluate by itself."""

import json
import random
import string
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

SCENARIOS = sorted(Path(__file__).parent.parent.joinpath("scenarios").glob("*.json"))
DEFAULTS = {
    "recurring_issue": {"min_count": 3, "window_days": 90},
    "performance_decline": {"max_drop": 0.15, "min_samples": 2},
    "positive_trend": {"min_consecutive": 3},
    "team_frequent_issue": {"window_days": 28, "min_count": 5, "min_share": 0.4},
}


def tone(score):
    return "negative" if score < 0.4 else "neutral" if score < 0.6 else "positive"


def set_threshold(admin, rule, params):
    current = admin.request("GET", f"/api/v1/thresholds/{rule}")
    assert current.status_code == 200, current.text
    response = admin.request(
        "PUT",
        f"/api/v1/thresholds/{rule}",
        json={"params": params, "enabled": True},
        headers={"If-Match": current.headers["ETag"]},
    )
    assert response.status_code == 200, response.text


def post_scenario(agent, scenario, suffix):
    now = datetime.now(UTC)
    for item in scenario["sessions"]:
        ended = now - timedelta(days=item["days_ago"])
        body = {
            "session_id": str(uuid.uuid4()),
            "engineer": item["engineer"] + " " + suffix,
            "case_number": f"{random.randrange(10_000_000, 99_999_999)}",
            "team": item["team"] + "-" + suffix,
            "region": item.get("region", "EMEA"),
            "record_type": item.get("record_type", "single"),
            "parts": item.get("parts", 1),
            "languages": item.get("languages", ["EN"]),
            "sentiment_score": item["sentiment_score"],
            "tone_label": tone(item["sentiment_score"]),
            "root_cause": item["root_cause"],
            "confidence_analysis": item["confidence_analysis"],
            "confidence_translation": item.get("confidence_translation"),
            "started_at": (ended - timedelta(minutes=20)).isoformat(),
            "ended_at": ended.isoformat(),
            "agent_version": "3.7.0",
            "model": "gpt-4o",
        }
        response = agent.request("POST", "/api/v1/sessions", json=body)
        assert response.status_code == 201, response.text


def engineer_codes(agent, scenario, suffix):
    """The scenario's engineers by pseudonym (looked up once: look-ups are rate limited)."""
    codes = {}
    for name in {item["engineer"] for item in scenario["sessions"]}:
        lookup = agent.request(
            "POST", "/api/v1/engineers/lookup", json={"engineer": f"{name} {suffix}"}
        )
        assert lookup.status_code == 200, lookup.text
        codes[lookup.json()["engineer_code"]] = name
    return codes


def open_alerts(admin, codes, scenario, suffix):
    teams = {item["team"] for item in scenario["sessions"]}
    found = set()
    queries = [f"engineer_code={code}" for code in codes] + [
        f"team={team}-{suffix}" for team in teams
    ]
    for query in queries:
        response = admin.request("GET", f"/api/v1/alerts?status=open&limit=500&{query}")
        assert response.status_code == 200, response.text
        for alert in response.json()["items"]:
            if alert["scope"] == "engineer":
                found.add(
                    (
                        alert["rule"],
                        "engineer",
                        codes.get(alert["engineer_code"], "?"),
                        alert["category"],
                    )
                )
            else:
                found.add(
                    (
                        alert["rule"],
                        "team",
                        alert["team"].removesuffix("-" + suffix),
                        alert["category"],
                    )
                )
    return found


def expected(scenario):
    return {
        (
            item["rule"],
            "engineer" if "engineer" in item else "team",
            item.get("engineer") or item.get("team"),
            item.get("category"),
        )
        for item in scenario["expect_alerts"]
    }


@pytest.mark.parametrize("path", SCENARIOS, ids=[path.stem for path in SCENARIOS])
@pytest.mark.parametrize("mode", ["evaluate", "worker"])
def test_scenario_raises_exactly_its_alerts(agent, admin, path, mode):
    scenario = json.loads(path.read_text())
    suffix = "".join(random.choices(string.ascii_lowercase, k=8))  # names allow letters only
    thresholds = scenario.get("thresholds") or {}
    try:
        for rule, params in thresholds.items():
            set_threshold(admin, rule, {**DEFAULTS[rule], **params})
        post_scenario(agent, scenario, suffix)
        codes = engineer_codes(agent, scenario, suffix)
        if mode == "evaluate":
            result = admin.request("POST", "/api/v1/trends/evaluate")
            assert result.status_code == 200, result.text
            assert open_alerts(admin, codes, scenario, suffix) == expected(scenario)
        else:
            deadline = time.monotonic() + 10
            found = set()
            while time.monotonic() < deadline:
                found = open_alerts(admin, codes, scenario, suffix)
                if found == expected(scenario):
                    break
                time.sleep(0.5)
            assert found == expected(scenario)
    finally:
        for rule in thresholds:
            set_threshold(admin, rule, DEFAULTS[rule])
