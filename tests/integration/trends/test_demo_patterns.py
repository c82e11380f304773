"""The demo data set trips every trend rule on its scripted subjects, so a fresh `make run` shows
alerts of each kind."""

from datetime import UTC, datetime

from devstack.demo import PATTERNS, demo_sessions
from shared import domain
from shared.pseudonyms import engineer_code
from trends_svc import alerts, rules

KEY = b"demo-patterns-test-key"


def as_change(body):
    languages = body["languages"]
    return {
        "operation": "insert",
        "session_id": body["session_id"],
        "session": {
            "session_id": body["session_id"],
            "engineer_code": engineer_code(body["engineer"], KEY),
            "team": body["team"],
            "region": body["region"],
            "languages": languages,
            "root_cause": body["root_cause"],
            "sentiment_score": body["sentiment_score"],
            "confidence_overall": domain.overall_confidence(
                body["confidence_analysis"], body["confidence_translation"], languages
            ),
            "analysed_at": body["ended_at"],
        },
    }


def test_every_rule_fires_on_the_demo_data(conn, feed):
    now = datetime(2026, 11, 24, 12, tzinfo=UTC)
    feed(*[as_change(body) for body in demo_sessions(now=now)])
    firings = rules.evaluate(conn, now, alerts.thresholds_by_rule(conn))
    fired = {(firing.rule, firing.subject) for firing in firings}
    for rule, (name, _team) in PATTERNS.items():
        assert (rule, engineer_code(name, KEY)) in fired, rule
    assert ("team_frequent_issue", "apac-1") in {(firing.rule, firing.team) for firing in firings}
