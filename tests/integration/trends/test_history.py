"""Compare History numbers, exactly."""

from datetime import UTC, date, datetime, timedelta

from tests.integration.trends.conftest import NOW, change
from trends_svc import history, store_summaries


def test_compare_history_numbers(conn, feed):
    feed(
        change(days_ago=2, root_cause="knowledge_gap", sentiment=0.2, confidence=0.9),
        change(days_ago=10, root_cause="knowledge_gap", sentiment=0.4, confidence=0.7),
        change(days_ago=20, root_cause="process_issue", sentiment=0.9, confidence=0.8),
        change(days_ago=45, root_cause="knowledge_gap", sentiment=0.5, confidence=0.6),
        change(days_ago=50, root_cause="other", sentiment=0.5, confidence=0.5),
        change(engineer="eng_b", days_ago=3, root_cause="other", sentiment=0.1, confidence=0.3),
        change(engineer="eng_c", team="apac-1", days_ago=3, sentiment=1.0, confidence=1.0),
    )
    answer = history.compare(conn, "eng_a", 30, now=NOW)

    assert answer["current"]["sessions"] == 3
    assert answer["current"]["mean_sentiment"] == 0.5
    assert answer["current"]["mean_confidence"] == 0.8
    assert answer["current"]["root_causes"] == {"knowledge_gap": 2, "process_issue": 1}
    assert answer["current"]["from"] == NOW - timedelta(days=30)
    assert answer["previous"]["sessions"] == 2
    assert answer["previous"]["mean_sentiment"] == 0.5
    assert answer["previous"]["mean_confidence"] == 0.55
    assert answer["delta"] == {"sessions": 1, "mean_sentiment": 0.0, "mean_confidence": 0.25}
    assert answer["recurring"] == [{"category": "knowledge_gap", "sessions": 3, "window_days": 90}]
    assert answer["team"] == "emea-1"
    baseline = answer["team_baseline"]  # eng_a's three and eng_b's one, not apac-1
    assert (baseline["sessions"], baseline["mean_sentiment"], baseline["mean_confidence"]) == (
        4,
        0.4,
        0.675,
    )
    assert answer["streaks"] == [
        {"category": "knowledge_gap", "direction": "declining", "length": 2}
    ]
    assert sum(week["sessions"] for week in answer["timeline"]) == 5
    assert answer["text"] == (
        "3 analyses in the last 30 days (2 before); mean sentiment 0.50 (+0.00); mean confidence "
        "0.80 (+0.25). Recurring: knowledge gap (3x in 90 days). Knowledge gap sentiment declining "
        "for 2 analyses in a row. Team mean sentiment in the same period: 0.40."
    )


def test_empty_history_has_null_means(conn):
    answer = history.compare(conn, "eng_nobody", 30, now=NOW)
    assert answer["current"]["sessions"] == 0
    assert answer["current"]["mean_sentiment"] is None
    assert answer["delta"] == {"sessions": 0, "mean_sentiment": None, "mean_confidence": None}
    assert answer["team_baseline"] is None
    assert answer["text"] == "0 analyses in the last 30 days (0 before)."


def test_updates_and_deletes_keep_rollups_exact(conn, feed):
    first = change(days_ago=1, sentiment=0.2)
    feed(first, change(days_ago=2, sentiment=0.4))
    feed(first)  # the same change again: idempotent
    updated = change(days_ago=1, sentiment=0.6, operation="update", session_id=first["session_id"])
    feed(updated)
    rows = conn.execute(
        "SELECT sum(sessions) AS n, sum(sentiment_sum) AS s FROM team_weekly"
    ).fetchone()
    assert (rows["n"], round(rows["s"], 6)) == (2, 1.0)
    feed(change(operation="delete", session_id=first["session_id"]))
    rows = conn.execute(
        "SELECT sum(sessions) AS n, sum(sentiment_sum) AS s FROM team_weekly"
    ).fetchone()
    assert (rows["n"], round(rows["s"], 6)) == (1, 0.4)


def days_before_now(moment: datetime) -> float:
    return (NOW - moment).total_seconds() / 86400


def test_the_timeline_starts_with_the_week_that_holds_since(conn, feed):
    """Weeks (Monday, UTC) from the one holding `since` on, each with its sessions and means, read
    from the projection: a session a minute before that Monday is not counted."""
    since = datetime(2026, 6, 3, 12, tzinfo=UTC)  # a Wednesday; its week starts on 1 June
    feed(
        change(days_ago=days_before_now(datetime(2026, 5, 31, 23, 59, tzinfo=UTC)), sentiment=0.9),
        change(days_ago=days_before_now(datetime(2026, 6, 1, tzinfo=UTC)), sentiment=0.2),
        change(days_ago=days_before_now(datetime(2026, 6, 7, 23, 0, tzinfo=UTC)), sentiment=0.4),
        change(days_ago=days_before_now(datetime(2026, 6, 10, tzinfo=UTC)), confidence=0.6),
        change(engineer="eng_b", days_ago=days_before_now(datetime(2026, 6, 10, tzinfo=UTC))),
    )
    timeline = store_summaries.engineer_timeline(conn, "eng_a", since)
    assert [
        (week["week"], week["sessions"], round(week["mean_sentiment"], 6)) for week in timeline
    ] == [(date(2026, 6, 1), 2, 0.3), (date(2026, 6, 8), 1, 0.5)]
    assert [round(week["mean_confidence"], 6) for week in timeline] == [0.8, 0.6]
