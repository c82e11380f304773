"""OWASP API1 (object-level authorisation), through the gateway on real processes: a manager of
one team cannot read, list, export or act on another team's sessions, history or alerts. Another
team's object answers exactly like an object that does not exist (no existence oracle), and lists
and exports simply leave it out. The meta-test at the end fails for any route with an id that has
no row here and no stated reason."""

import re
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from gateway.policy import RULES, SEGMENT

OWN, OTHER = "bola-own", "bola-other"
NAMES = {OWN: "Olive Ownteam", OTHER: "Otto Otherteam"}
# The manager of OWN who reads: alone, and holding a further role that must not widen the scope.
# Each gets a world of its own (teams and engineers suffixed), as the alert calls change alerts.
MANAGER_ROLES = {"": ("manager",), "-agent": ("manager", "agent")}


def analysis(team: str, suffix: str, days_ago: int) -> dict:
    ended = datetime.now(UTC) - timedelta(days=days_ago, hours=2)
    return {
        "session_id": str(uuid.uuid4()),
        "engineer": NAMES[team] + suffix.replace("-", " "),
        "case_number": "12340000",
        "team": team + suffix,
        "region": "EMEA",
        "record_type": "single",
        "parts": 1,
        "languages": ["EN"],
        "sentiment_score": 0.4,
        "root_cause": "knowledge_gap",
        "confidence_analysis": 0.8,
        "confidence_translation": 0.8,
        "started_at": (ended - timedelta(minutes=10)).isoformat(),
        "ended_at": ended.isoformat(),
        "agent_version": "3.7.0",
    }


@pytest.fixture(scope="module", params=sorted(MANAGER_ROLES), ids=lambda s: "manager" + s)
def world(request, make_caller):
    """Each team: one engineer with three knowledge gaps this month (a recurring-issue alert),
    and a manager of OWN holding the roles of the parameter."""
    suffix = request.param
    agent, admin = make_caller("agent"), make_caller("admin")
    items = [analysis(team, suffix, days) for team in (OWN, OTHER) for days in (1, 3, 5)]
    stored = agent.request("POST", "/api/v1/sessions/batch", json={"items": items})
    assert stored.status_code == 200 and stored.json()["created"] == 6, stored.text
    codes = {
        team: admin.request(
            "POST", "/api/v1/engineers/lookup", json={"engineer": name + suffix.replace("-", " ")}
        ).json()["engineer_code"]
        for team, name in NAMES.items()
    }
    deadline = time.monotonic() + 60
    alerts = {}
    while time.monotonic() < deadline and len(alerts) < 2:
        admin.request("POST", "/api/v1/trends/evaluate")
        for team, code in codes.items():
            page = admin.request("GET", "/api/v1/alerts", params={"engineer_code": code}).json()
            if page["items"]:
                alerts[team] = page["items"][0]["id"]
        time.sleep(0.3)
    assert len(alerts) == 2, "both recurring-issue alerts opened"
    return {
        "manager": make_caller(*MANAGER_ROLES[suffix], teams=(OWN + suffix,)),
        "suffix": suffix,
        "session": {
            team: next(i["session_id"] for i in items if i["team"] == team + suffix)
            for team in NAMES
        },
        "code": codes,
        "alert": alerts,
    }


# (method, path template, body): each call on an object of a team, {team} filled in per team.
OBJECT_CALLS = {
    "read a session": ("GET", "/api/v1/sessions/{session}", None),
    "read an engineer's history": ("GET", "/api/v1/history/{code}", None),
    "compare an engineer's history by name": ("POST", "/api/v1/history/compare", "name"),
    "acknowledge an alert": ("POST", "/api/v1/alerts/{alert}/ack", {}),
    "acknowledge alerts in one call": ("POST", "/api/v1/alerts/decisions", "ids"),
    "resolve an alert": ("POST", "/api/v1/alerts/{alert}/resolve", {}),
}
MISSING = {"session": str(uuid.uuid4()), "code": "eng_" + "z" * 24, "alert": str(uuid.uuid4())}


def call(world, caller, name: str, team: str | None):
    method, template, body = OBJECT_CALLS[name]
    values = {key: world[key][team] for key in ("session", "code", "alert")} if team else MISSING
    name = NAMES[team] + world["suffix"].replace("-", " ") if team else "Nobody Atall"
    json = {"engineer": name} if body == "name" else body
    if body == "ids":
        json = {"ids": [values["alert"]], "status": "acknowledged"}
    return caller.request(method, template.format(**values), json=json)


@pytest.mark.parametrize("name", sorted(OBJECT_CALLS))
def test_another_teams_object_is_exactly_like_a_missing_one(world, name):
    manager = world["manager"]
    own = call(world, manager, name, OWN)
    assert own.status_code == 200, own.text  # the manager can do this on their own team
    other, missing = call(world, manager, name, OTHER), call(world, manager, name, None)
    assert other.status_code == missing.status_code == 404, (other.text, missing.text)
    assert other.json()["detail"] == missing.json()["detail"]
    assert other.headers["Content-Type"] == missing.headers["Content-Type"]


LISTS = {
    "sessions": ("/api/v1/sessions", "session"),
    "session export": ("/api/v1/sessions/export?format=json", "session"),
    "alerts": ("/api/v1/alerts", "alert"),
    "alerts of the other engineer by filter": ("/api/v1/alerts?engineer_code={code}", "alert"),
    "alert export": ("/api/v1/alerts/export?format=csv", "alert"),
    "engineers": ("/api/v1/trends/engineers", "code"),
}


@pytest.mark.parametrize("name", sorted(LISTS))
def test_lists_and_exports_leave_another_teams_objects_out(world, name):
    template, kind = LISTS[name]
    response = world["manager"].request("GET", template.format(code=world["code"][OTHER]))
    assert response.status_code == 200, response.text
    assert world[kind][OTHER] not in response.text
    assert OTHER + world["suffix"] not in response.text


# Lists and exports a manager filters by naming a team (another team's: refused, see below).
TEAM_FILTERS = {
    "sessions": "/api/v1/sessions?team={team}",
    "session export": "/api/v1/sessions/export?format=csv&team={team}",
    "alerts": "/api/v1/alerts?team={team}",
    "alert export": "/api/v1/alerts/export?format=csv&team={team}",
    "weekly trends": "/api/v1/trends/weekly?team={team}",
    "engineers": "/api/v1/trends/engineers?team={team}",
}


@pytest.mark.parametrize("name", sorted(TEAM_FILTERS))
def test_filtering_on_another_team_is_refused_and_audited(world, admin, name):
    """Naming another team is asking for its data: 403 naming the field, and an audit event."""
    manager = world["manager"]
    own_team, other_team = OWN + world["suffix"], OTHER + world["suffix"]
    own = manager.request("GET", TEAM_FILTERS[name].format(team=own_team))
    assert own.status_code == 200, own.text
    other = manager.request("GET", TEAM_FILTERS[name].format(team=other_team))
    assert other.status_code == 403, other.text
    assert other.headers["Content-Type"] == "application/problem+json"
    assert [error["field"] for error in other.json()["errors"]] == ["team"]
    assert world["session"][OTHER] not in other.text
    denied = admin.request("GET", "/api/v1/audit", params={"action": "access.denied"}).json()
    request_id = other.headers["X-Request-ID"]
    recorded = [event for event in denied["items"] if event["request_id"] == request_id]
    path = TEAM_FILTERS[name].format(team=other_team).split("?")[0]
    assert [(event["object"], event["outcome"], event["status"]) for event in recorded] == [
        (f"GET {path}?team={other_team}", "denied", 403)
    ]


def test_the_own_team_shows_in_the_same_lists(world):
    manager = world["manager"]
    assert world["session"][OWN] in manager.request("GET", "/api/v1/sessions").text
    assert world["alert"][OWN] in manager.request("GET", "/api/v1/alerts").text
    assert world["code"][OWN] in manager.request("GET", "/api/v1/trends/engineers").text


# Routes with an id that are not a manager's to call at all (function-level authorisation,
# tested per role in tests/integration/gateway/test_proxy.py), or that hold no team data.
NOT_TEAM_OBJECTS = {
    ("DELETE", f"engineers/{SEGMENT}"): "admin only (erasure)",
    ("GET", f"erasures/{SEGMENT}"): "admin only (erasure requests)",
    ("GET", f"imports/{SEGMENT}"): "admin only",
    ("GET", f"thresholds/{SEGMENT}"): "thresholds are global settings, not team data",
    ("PUT", f"thresholds/{SEGMENT}"): "admin only",
    ("GET", f"validation/sessions/{SEGMENT}"): (
        "never a manager; an agent acting for teams: tests/security/test_validation_log_scope.py"
    ),
    ("POST", f"qa/reviews/{SEGMENT}"): "QA lead and admin only",
    ("GET", f"qa/scorecards/{SEGMENT}"): "QA lead and admin only (no team data)",
    ("PUT", f"qa/scorecards/{SEGMENT}"): "QA lead and admin only (no team data)",
    ("PATCH", f"qa/reviewers/{SEGMENT}"): "QA lead and admin only (no team data)",
    ("POST", f"qa/assignments/{SEGMENT}"): "QA lead and admin only",
    ("GET", f"qa/calibrations/{SEGMENT}"): "QA lead and admin only",
    ("POST", f"qa/calibrations/{SEGMENT}/ratings"): "QA lead and admin only",
    ("GET", f"notifications/channels/{SEGMENT}"): "admin only",
    ("PUT", f"notifications/channels/{SEGMENT}"): "admin only",
    ("DELETE", f"notifications/channels/{SEGMENT}"): "admin only",
    ("POST", f"notifications/channels/{SEGMENT}/test"): "admin only",
    ("POST", f"notifications/deliveries/{SEGMENT}/retry"): "admin only",
    ("PUT", f"notifications/routes/{SEGMENT}"): "admin only",
    ("GET", f"notifications/routes/{SEGMENT}"): (
        "a manager's own routes only: tests/integration/trends/test_notifications_routing.py"
    ),
    ("POST", f"notifications/routes/{SEGMENT}/confirm"): (
        "a manager's own routes only: tests/integration/trends/test_notifications_routing.py"
    ),
    ("DELETE", f"notifications/(routes|silences)/{SEGMENT}"): (
        "own routes, own teams' silences: tests/integration/trends/test_notifications_routing.py"
    ),
}


def test_every_route_with_an_id_is_covered_here():
    covered = {
        ("GET", "sessions/" + SEGMENT),
        ("GET", "history/" + SEGMENT),
        ("POST", f"alerts/{SEGMENT}/(ack|resolve)"),
    }
    with_ids = {(rule.method, rule.pattern) for rule in RULES if SEGMENT in rule.pattern}
    assert with_ids - covered - set(NOT_TEAM_OBJECTS) == set(), "add the route to OBJECT_CALLS"
    for method, pattern in with_ids - set(NOT_TEAM_OBJECTS):
        assert any(
            method == call_method
            and re.fullmatch(pattern, re.sub(r"\{\w+\}", "x", template.removeprefix("/api/v1/")))
            for call_method, template, _ in OBJECT_CALLS.values()
        ), (method, pattern)
