"""Compare History for a team-scoped caller (issue #21, finding 1): every part of the answer and
every store query under it counts the sessions of the caller's teams only; an engineer with no
session in them is answered 404 exactly like one who does not exist."""

from datetime import UTC, datetime, timedelta

import pytest

from devstack.testing import internal_headers
from tests.integration.trends.conftest import NOW, change
from trends_svc import alerts, history, store_alerts, store_rules, store_summaries

TEAM_A, TEAM_B, TEAM_C = "scope-a", "scope-b", "scope-c"
CODE = "eng_" + "s" * 24
MISSING = "eng_" + "m" * 24
# The issue's repro: four analyses in B (ten to four days ago, rising knowledge gaps), then one
# in A yesterday; a colleague in each team for the baselines.
REPRO = [
    (CODE, TEAM_B, 10, "knowledge_gap", 0.2),
    (CODE, TEAM_B, 8, "knowledge_gap", 0.3),
    (CODE, TEAM_B, 6, "knowledge_gap", 0.4),
    (CODE, TEAM_B, 4, "knowledge_gap", 0.5),
    (CODE, TEAM_A, 1, "communication_issue", 0.9),
    ("eng_colleague_a", TEAM_A, 2, "other", 0.5),
    ("eng_colleague_b", TEAM_B, 2, "other", 0.1),
]


def repro(now: datetime) -> list[dict]:
    """The repro's change items, their times counted back from `now`."""
    items = []
    for engineer, team, days_ago, root_cause, sentiment in REPRO:
        item = change(engineer, team=team, root_cause=root_cause, sentiment=sentiment)
        item["session"]["analysed_at"] = (now - timedelta(days=days_ago)).isoformat()
        items.append(item)
    return items


@pytest.fixture
def world(conn, feed):
    feed(*repro(NOW))
    with conn.transaction():
        assert alerts.reconcile(conn, NOW)["opened"] == 2  # B's recurring issue and rising trend
    return {
        row["rule"]: row["alert_id"]
        for row in store_alerts.list_alerts(
            conn, {"engineer_code": CODE}, limit=None, after=None, teams=None
        )
    }


def test_a_manager_of_the_latest_team_sees_that_teams_part_only(conn, world):
    answer = history.compare(conn, CODE, 30, now=NOW, teams=[TEAM_A])
    assert answer["current"]["sessions"] == 1
    assert answer["current"]["root_causes"] == {"communication_issue": 1}
    assert answer["current"]["mean_sentiment"] == 0.9
    assert answer["previous"]["sessions"] == 0
    assert answer["recurring"] == []
    assert answer["streaks"] == []
    assert answer["team"] == TEAM_A
    assert answer["team_baseline"]["sessions"] == 2  # the engineer's one and the colleague's
    assert answer["team_baseline"]["mean_sentiment"] == 0.7
    assert [week["sessions"] for week in answer["timeline"]] == [1]
    assert answer["alerts"] == []
    assert answer["text"] == (
        "1 analyses in the last 30 days (0 before); mean sentiment 0.90; mean confidence 0.80. "
        "Team mean sentiment in the same period: 0.70."
    )


def test_a_manager_of_an_earlier_team_sees_that_teams_part_and_its_alerts(conn, world):
    answer = history.compare(conn, CODE, 30, now=NOW, teams=[TEAM_B])
    assert answer["current"]["sessions"] == 4
    assert answer["current"]["root_causes"] == {"knowledge_gap": 4}
    assert answer["current"]["mean_sentiment"] == 0.35
    assert answer["recurring"] == [{"category": "knowledge_gap", "sessions": 4, "window_days": 90}]
    assert answer["streaks"] == [
        {"category": "knowledge_gap", "direction": "improving", "length": 3}
    ]
    assert answer["team"] == TEAM_B
    assert answer["team_baseline"]["sessions"] == 5
    assert sum(week["sessions"] for week in answer["timeline"]) == 4
    assert sorted(alert["rule"] for alert in answer["alerts"]) == [
        "positive_trend",
        "recurring_issue",
    ]
    assert {alert["team"] for alert in answer["alerts"]} == {TEAM_B}


def test_a_caller_of_both_teams_sees_both_parts_and_the_latest_teams_baseline(conn, world):
    answer = history.compare(conn, CODE, 30, now=NOW, teams=[TEAM_A, TEAM_B])
    assert answer["current"]["sessions"] == 5
    assert answer["team"] == TEAM_A
    assert len(answer["alerts"]) == 2


def test_an_unscoped_caller_sees_the_whole_history(conn, world):
    answer = history.compare(conn, CODE, 30, now=NOW)
    assert answer["current"]["sessions"] == 5
    assert answer["current"]["root_causes"] == {"communication_issue": 1, "knowledge_gap": 4}
    assert answer["team"] == TEAM_A  # the team of the latest analysis
    assert sum(week["sessions"] for week in answer["timeline"]) == 5
    assert len(answer["alerts"]) == 2


def test_a_caller_of_another_team_gets_no_team_and_nothing_counted(conn, world):
    answer = history.compare(conn, CODE, 30, now=NOW, teams=[TEAM_C])
    assert answer["team"] is None
    assert answer["current"]["sessions"] == answer["previous"]["sessions"] == 0
    assert answer["timeline"] == answer["recurring"] == answer["streaks"] == answer["alerts"] == []
    assert answer["team_baseline"] is None
    assert history.compare(conn, CODE, 30, now=NOW, teams=[])["team"] is None


# --- the store queries under the answer, on one category across two teams -----------------


@pytest.fixture
def moved(feed):
    """An engineer's knowledge gaps: two in B, then one in A, sentiment rising throughout."""
    feed(
        change(CODE, team=TEAM_B, days_ago=20, sentiment=0.2),
        change(CODE, team=TEAM_B, days_ago=15, sentiment=0.3),
        change(CODE, team=TEAM_A, days_ago=3, sentiment=0.4),
    )


@pytest.mark.parametrize(
    ("teams", "sessions"), [(None, 3), ([TEAM_A], 1), ([TEAM_B], 2), ([TEAM_C], 0)]
)
def test_period_summary_counts_the_callers_teams(conn, moved, teams, sessions):
    summary = store_summaries.period_summary(
        conn, start=NOW - timedelta(days=30), end=NOW, engineer_code=CODE, teams=teams
    )
    assert summary["sessions"] == sessions
    assert summary["root_causes"] == ({"knowledge_gap": sessions} if sessions else {})


@pytest.mark.parametrize(
    ("teams", "sentiments"),
    [(None, [0.2, 0.3, 0.4]), ([TEAM_A], [0.4]), ([TEAM_B], [0.2, 0.3]), ([TEAM_C], [])],
)
def test_engineer_sequence_holds_the_callers_teams(conn, moved, teams, sentiments):
    sequence = store_summaries.engineer_sequence(conn, CODE, NOW, teams=teams)
    assert [row["sentiment_score"] for row in sequence] == sentiments


@pytest.mark.parametrize(("teams", "found"), [(None, [3]), ([TEAM_A], []), ([TEAM_B], [])])
def test_recurring_issues_count_the_callers_teams(conn, moved, teams, found):
    rows = store_rules.recurring_issues(
        conn, NOW, min_count=3, window_days=90, engineer_code=CODE, teams=teams
    )
    assert [row["sessions"] for row in rows] == found


@pytest.mark.parametrize(("teams", "total"), [(None, 3), ([TEAM_A], 1), ([TEAM_B], 2)])
def test_engineer_timeline_counts_the_callers_teams(conn, moved, teams, total):
    timeline = store_summaries.engineer_timeline(conn, CODE, NOW - timedelta(days=84), teams=teams)
    assert sum(week["sessions"] for week in timeline) == total
    assert all(week["mean_sentiment"] is not None for week in timeline)


def test_the_scoped_timeline_of_every_team_is_the_whole_timeline(conn, moved):
    """A caller of every team the engineer worked in gets the weeks and means of an unscoped one."""
    since = NOW - timedelta(days=84)
    assert store_summaries.engineer_timeline(
        conn, CODE, since, teams=[TEAM_A, TEAM_B]
    ) == store_summaries.engineer_timeline(conn, CODE, since)


# --- through the API, as a manager ----------------------------------------------------------


def manager(team: str) -> dict[str, str]:
    return internal_headers("manager", teams=(team,))


@pytest.mark.parametrize(("team", "sessions"), [(TEAM_A, 1), (TEAM_B, 4)])
def test_the_history_routes_answer_a_manager_with_their_teams_part(
    trends_app, feed, team, sessions
):
    feed(*repro(datetime.now(UTC)))
    client = trends_app.test_client()
    for response in (
        client.get(f"/api/v1/history/{CODE}", headers=manager(team)),
        client.post("/api/v1/history/compare", json={"engineer_code": CODE}, headers=manager(team)),
    ):
        assert response.status_code == 200, response.json
        assert response.json["current"]["sessions"] == sessions
        assert response.json["team"] == team


def test_a_manager_of_a_third_team_gets_the_404_of_a_missing_engineer(trends_app, feed):
    feed(*repro(datetime.now(UTC)))
    client = trends_app.test_client()
    for path, body in ((f"/api/v1/history/{CODE}", None), ("/api/v1/history/compare", CODE)):
        answers = [
            client.get(path.replace(CODE, code), headers=manager(TEAM_C))
            if body is None
            else client.post(path, json={"engineer_code": code}, headers=manager(TEAM_C))
            for code in (CODE, MISSING)
        ]
        assert [answer.status_code for answer in answers] == [404, 404]
        other, missing = (answer.json for answer in answers)
        assert other | {"request_id": None} == missing | {"request_id": None}
