"""Trend summaries for the dashboard: weekly, root causes, languages and the engineers list,
with filters and a manager's team scope."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from devstack.testing import internal_headers
from tests.integration.trends.conftest import NOW, change

CODE = "eng_" + "a" * 24  # shaped as the pseudonyms persistence issues (the URL checks it)


def manager():
    return internal_headers("manager", teams=("emea-1",))


def admin():
    return internal_headers("admin")


def test_engineers_list_counts_means_and_team_scope(trends_app, feed):
    feed(
        change("eng_a", days_ago=1, root_cause="knowledge_gap", sentiment=0.2, confidence=0.6),
        change("eng_a", days_ago=2, root_cause="knowledge_gap", sentiment=0.4, confidence=0.8),
        change("eng_a", days_ago=3, root_cause="process_issue", sentiment=0.6, confidence=1.0),
        change(
            "eng_b", days_ago=1, root_cause="communication_issue", sentiment=0.9, languages=("DE",)
        ),
        change("eng_c", team="apac-1", region="APAC", days_ago=1),
    )
    client = trends_app.test_client()
    everyone = client.get("/api/v1/trends/engineers", headers=admin()).json["items"]
    assert [row["engineer_code"] for row in everyone] == ["eng_a", "eng_b", "eng_c"]
    first = everyone[0]
    assert (first["team"], first["sessions"], first["most_common_root_cause"]) == (
        "emea-1",
        3,
        "knowledge_gap",
    )
    assert round(first["mean_sentiment"], 4) == 0.4
    assert round(first["mean_confidence"], 4) == 0.8
    scoped = client.get("/api/v1/trends/engineers", headers=manager()).json["items"]
    assert {row["engineer_code"] for row in scoped} == {"eng_a", "eng_b"}
    other_team = client.get("/api/v1/trends/engineers?team=apac-1", headers=manager()).json
    assert other_team["items"] == []
    german = client.get("/api/v1/trends/engineers?language=DE", headers=admin()).json["items"]
    assert [row["engineer_code"] for row in german] == ["eng_b"]
    assert client.get("/api/v1/trends/engineers?limit=0", headers=admin()).status_code == 422
    assert (
        client.get("/api/v1/trends/engineers", headers=internal_headers("agent")).status_code == 403
    )


def test_weekly_and_root_cause_summaries_respect_the_team_scope(trends_app, feed):
    feed(
        change("eng_a", days_ago=1, root_cause="knowledge_gap"),
        change("eng_c", team="apac-1", region="APAC", days_ago=1, root_cause="process_issue"),
    )
    client = trends_app.test_client()
    weekly = client.get("/api/v1/trends/weekly", headers=manager()).json["items"]
    assert {row["team"] for row in weekly} == {"emea-1"}
    causes = client.get("/api/v1/trends/root-causes", headers=manager()).json["items"]
    assert {row["root_cause"] for row in causes} == {"knowledge_gap"}
    all_causes = client.get("/api/v1/trends/root-causes", headers=admin()).json["items"]
    assert {row["root_cause"] for row in all_causes} == {"knowledge_gap", "process_issue"}


def test_compare_history_timeline_weeks_are_iso_dates(trends_app, feed):
    # the API answers relative to the real clock; the fixture's changes are relative to NOW
    offset = (datetime.now(UTC) - NOW).total_seconds() / 86400
    feed(change(CODE, days_ago=0.5 - offset), change(CODE, days_ago=8.5 - offset))
    answer = trends_app.test_client().get(f"/api/v1/history/{CODE}", headers=admin()).json
    weeks = [week["week"] for week in answer["timeline"]]
    assert weeks and all(len(week) == 10 and week[4] == "-" and week[7] == "-" for week in weeks)
    assert sum(week["sessions"] for week in answer["timeline"]) == 2


def test_compare_history_periods_carry_from_and_to_over_http(trends_app, feed):
    offset = (datetime.now(UTC) - NOW).total_seconds() / 86400
    feed(change(CODE, days_ago=0.5 - offset))
    answer = trends_app.test_client().get(f"/api/v1/history/{CODE}", headers=admin()).json
    for period in ("current", "previous", "team_baseline"):
        start = datetime.fromisoformat(answer[period]["from"])
        end = datetime.fromisoformat(answer[period]["to"])
        assert end - start == timedelta(days=30), period
    assert answer["current"]["from"] == answer["previous"]["to"]


def test_language_filter_applies_to_weekly_and_root_cause_summaries(trends_app, feed):
    feed(
        change(
            "eng_a",
            days_ago=1,
            root_cause="knowledge_gap",
            sentiment=0.2,
            confidence=0.6,
            languages=("EN", "DE"),
        ),
        change(
            "eng_b",
            days_ago=1,
            root_cause="process_issue",
            sentiment=0.8,
            confidence=0.9,
            languages=("FR",),
        ),
        change("eng_c", team="apac-1", region="APAC", days_ago=1, languages=("FR",)),
    )
    client = trends_app.test_client()
    french = "?language=FR&team=emea-1"
    languages = client.get("/api/v1/trends/languages" + french, headers=admin()).json["items"]
    assert [row["sessions"] for row in languages] == [1]
    weekly = client.get("/api/v1/trends/weekly" + french, headers=admin()).json["items"]
    assert weekly == [
        {
            "week": "2026-06-29",
            "team": "emea-1",
            "region": "EMEA",
            "sessions": 1,
            "mean_sentiment": 0.8,
            "mean_confidence": 0.9,
            "most_common_root_cause": "process_issue",
        }
    ]
    causes = client.get("/api/v1/trends/root-causes" + french, headers=admin()).json["items"]
    assert causes == [
        {
            "week": "2026-06-29",
            "root_cause": "process_issue",
            "sessions": 1,
            "mean_sentiment": 0.8,
            "mean_confidence": 0.9,
        }
    ]
    # a session in two languages counts once under each of them
    german = client.get("/api/v1/trends/weekly?language=DE", headers=admin()).json["items"]
    assert [(row["team"], row["sessions"], row["most_common_root_cause"]) for row in german] == [
        ("emea-1", 1, "knowledge_gap")
    ]
    # the manager's team scope holds on the language path too
    scoped = client.get("/api/v1/trends/weekly?language=FR", headers=manager()).json["items"]
    assert [(row["team"], row["sessions"]) for row in scoped] == [("emea-1", 1)]
    scoped = client.get("/api/v1/trends/root-causes?language=FR", headers=manager()).json["items"]
    assert [(row["root_cause"], row["sessions"]) for row in scoped] == [("process_issue", 1)]
    assert client.get("/api/v1/trends/weekly?language=XX", headers=admin()).status_code == 422


def test_weekly_summary_names_the_most_common_root_cause_first_by_name_on_a_tie(trends_app, feed):
    feed(
        change("eng_a", days_ago=1, root_cause="process_issue", sentiment=0.2),
        change("eng_b", days_ago=1, root_cause="knowledge_gap", sentiment=0.4),
        change("eng_c", days_ago=1, root_cause="other", sentiment=0.6, languages=("DE",)),
        change("eng_a", days_ago=8, root_cause="process_issue", languages=("DE",)),
        change("eng_b", days_ago=8, root_cause="other", languages=("DE",)),
        change("eng_c", days_ago=8, root_cause="other", languages=("DE",)),
    )
    client = trends_app.test_client()
    weekly = client.get("/api/v1/trends/weekly", headers=admin()).json["items"]
    assert [(row["week"], row["sessions"], row["most_common_root_cause"]) for row in weekly] == [
        ("2026-06-22", 3, "other"),
        ("2026-06-29", 3, "knowledge_gap"),
    ]
    assert round(weekly[1]["mean_sentiment"], 9) == 0.4
    german = client.get("/api/v1/trends/weekly?language=DE", headers=admin()).json["items"]
    assert [(row["week"], row["sessions"], row["most_common_root_cause"]) for row in german] == [
        ("2026-06-22", 3, "other"),
        ("2026-06-29", 1, "other"),
    ]


@pytest.mark.parametrize("path", ["/api/v1/trends/weekly", "/api/v1/trends/root-causes"])
def test_language_filter_matching_every_session_answers_as_the_rollup_does(trends_app, feed, path):
    """With a language every session has, the language rollup gives the team rollup's answer: same
    weeks (Monday, UTC), same from/to bounds, unknown region as null."""
    feed(
        change("eng_a", days_ago=1, root_cause="knowledge_gap", sentiment=0.2, confidence=0.6),
        change("eng_a", days_ago=9, root_cause="knowledge_gap", sentiment=0.4, confidence=0.7),
        change("eng_b", days_ago=9, root_cause="other", sentiment=0.9, confidence=0.5),
        change("eng_b", days_ago=16, root_cause="other", sentiment=0.1, region=None),
        change("eng_c", team="apac-1", region="APAC", days_ago=30, root_cause="process_issue"),
        change("eng_c", team="apac-1", region="APAC", days_ago=40, root_cause="process_issue"),
    )
    client = trends_app.test_client()
    window = "from=2026-05-25T00:00:00%2B00:00&to=2026-06-29T00:00:00%2B00:00"
    for query in ("", window, "root_cause=other", "team=apac-1"):
        rollup = client.get(f"{path}?{query}", headers=admin()).json["items"]
        by_language = client.get(f"{path}?{query}&language=EN", headers=admin()).json["items"]
        assert rollup, query
        assert rounded(by_language) == rounded(rollup), query


# The language summaries computed from the projection's sessions, the reference for the rollup.
PROJECTED_BY_LANGUAGE = """
    SELECT date_trunc('week', analysed_at AT TIME ZONE 'UTC')::date AS week, team,
           root_cause, count(*)::int AS sessions, avg(sentiment_score) AS mean_sentiment
    FROM sessions WHERE %(language)s = ANY(languages)
    GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
"""


def test_language_filter_follows_updates_and_deletes_as_the_projection_does(trends_app, feed, conn):
    """The language path reads the language rollup: after sessions change language, team, week
    and cause, and some are deleted, it answers what the projection's sessions say."""
    moved, dropped = str(uuid.uuid4()), str(uuid.uuid4())
    feed(
        change("eng_a", days_ago=1, languages=("EN", "DE"), session_id=moved, sentiment=0.1),
        change("eng_a", days_ago=2, languages=("DE",), root_cause="other", sentiment=0.3),
        change("eng_b", days_ago=9, languages=("DE", "FR"), session_id=dropped, sentiment=0.7),
        change("eng_c", team="apac-1", region="APAC", days_ago=3, languages=("DE",)),
    )
    feed(
        change(
            "eng_a",
            team="apac-1",
            region="APAC",
            days_ago=10,
            languages=("FR",),
            root_cause="process_issue",
            session_id=moved,
        ),
        change(operation="delete", session_id=dropped),
        change("eng_d", days_ago=2, languages=("EN", "DE"), root_cause="other", sentiment=0.9),
    )
    client = trends_app.test_client()
    for language in ("DE", "FR", "EN"):
        expected = conn.execute(PROJECTED_BY_LANGUAGE, {"language": language}).fetchall()
        causes = client.get(
            f"/api/v1/trends/root-causes?language={language}", headers=admin()
        ).json["items"]
        weekly = client.get(f"/api/v1/trends/weekly?language={language}", headers=admin()).json
        by_week_and_cause = {}
        for row in expected:
            key = (row["week"].isoformat(), row["root_cause"])
            sessions, total = by_week_and_cause.get(key, (0, 0.0))
            by_week_and_cause[key] = (
                sessions + row["sessions"],
                total + row["mean_sentiment"] * row["sessions"],
            )
        assert {
            (row["week"], row["root_cause"]): (row["sessions"], round(row["mean_sentiment"], 9))
            for row in causes
        } == {
            key: (sessions, round(total / sessions, 9))
            for key, (sessions, total) in by_week_and_cause.items()
        }, language
        assert sorted((row["week"], row["team"], row["sessions"]) for row in weekly["items"]) == [
            (row["week"].isoformat(), row["team"], row["sessions"])
            for row in conn.execute(
                "SELECT week, team, sum(sessions)::int AS sessions FROM ("
                + PROJECTED_BY_LANGUAGE
                + ") AS rows GROUP BY 1, 2 ORDER BY 1, 2",
                {"language": language},
            ).fetchall()
        ], language
    # the moved session left DE for FR: one German session fewer in its old week and team
    german = client.get("/api/v1/trends/weekly?language=DE&team=emea-1", headers=admin()).json
    assert sum(row["sessions"] for row in german["items"]) == 2


def rounded(rows):
    """Rows with their means rounded (the rollup sums in another order than the projection)."""
    return [
        {key: round(value, 9) if isinstance(value, float) else value for key, value in row.items()}
        for row in rows
    ]
