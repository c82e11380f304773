"""Scorecards (versioned), scored reviews through the API, and the quality report on a seeded data
set with a known answer."""

import random
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg.rows import dict_row

from devstack.testing import TEST_GATEWAY_KEY
from qa_svc import quality, quality_store, scorecards, store
from qa_svc.app import create_app
from shared.tokens import SERVICES, Principal, sign_internal_token

DAY = datetime(2026, 6, 1, tzinfo=UTC)  # a Monday
CARD = {
    "name": "Agent QA",
    "criteria": [
        {"key": "root_cause", "label": "Root cause correct", "weight": 1, "scale": "1-5"},
        {"key": "spec", "label": "Spec messages followed", "weight": 1, "scale": "pass_fail"},
    ],
}


def headers(subject="qa-ana", name="Ana QA", roles=("qa_lead",)):
    principal = Principal(subject=subject, roles=frozenset(roles), kind="user", name=name)
    token = sign_internal_token(principal, TEST_GATEWAY_KEY, audience=SERVICES)
    return {"Authorization": f"Bearer {token}"}


def log_session(conn, version, at=DAY):
    session_id = uuid.uuid4()
    store.insert_events(
        conn,
        [
            {
                "session_id": session_id,
                "source": "check",
                "step": 1,
                "field": "engineer",
                "outcome": "valid",
                "code": None,
                "attempt": 1,
                "normalized": None,
                "message": None,
                "agent_version": version,
                "occurred_at": at,
            }
        ],
    )
    return session_id


@pytest.fixture
def conn(database_url):
    with psycopg.connect(
        database_url, row_factory=dict_row, options="-c search_path=qa"
    ) as connection:
        yield connection


@pytest.fixture
def client(app_config):
    app = create_app(app_config)
    yield app.test_client()
    app.extensions["db_pool"].close()


def test_scorecard_versions_and_scored_reviews(client, conn):
    session = log_session(conn, "3.7.0")
    conn.commit()
    first = client.post("/api/v1/qa/scorecards", json=CARD, headers=headers())
    assert first.status_code == 201
    v1 = first.json
    assert (v1["version"], v1["is_default"], v1["is_latest"]) == (1, True, True)  # the first one

    edited = {
        **CARD,
        "criteria": [*CARD["criteria"], {"key": "tone", "label": "Tone", "weight": 2}],
    }
    v2 = client.put(f"/api/v1/qa/scorecards/{v1['scorecard_id']}", json=edited, headers=headers())
    assert v2.status_code == 201
    v2 = v2.json
    assert (v2["version"], v2["family_id"], v2["is_default"]) == (2, v1["family_id"], True)
    assert v2["criteria"][2] == {"key": "tone", "label": "Tone", "weight": 2.0, "scale": "1-5"}
    stale = client.put(f"/api/v1/qa/scorecards/{v1['scorecard_id']}", json=CARD, headers=headers())
    assert stale.status_code == 409
    listed = client.get("/api/v1/qa/scorecards", headers=headers()).json["items"]
    assert [card["scorecard_id"] for card in listed] == [v2["scorecard_id"]]
    every = client.get("/api/v1/qa/scorecards?all_versions=true", headers=headers()).json
    assert [card["version"] for card in every["items"]] == [1, 2]

    # a review on version 1 keeps it; ratings with only a status default to reviewed
    review = client.post(
        f"/api/v1/qa/reviews/{session}",
        json={"scorecard_id": v1["scorecard_id"], "ratings": {"root_cause": 4, "spec": "fail"}},
        headers=headers(),
    )
    assert review.status_code == 200, review.json
    body = review.json
    assert (body["status"], body["reviewer"]) == ("reviewed", "Ana QA")
    assert body["scored"]["quality_score"] == 37.5  # (75 + 0) / 2
    assert (body["scored"]["scorecard_id"], body["scored"]["scorecard_version"]) == (
        v1["scorecard_id"],
        1,
    )
    assert "qa-ana" not in review.get_data(as_text=True)

    # the default (version 2) when none is named; its new criterion must be rated
    missing = client.post(
        f"/api/v1/qa/reviews/{session}",
        json={"ratings": {"root_cause": 4, "spec": "fail"}},
        headers=headers(),
    )
    assert missing.status_code == 422
    assert missing.json["errors"] == [
        {"field": "ratings.tone", "reason": "Rate every criterion of the scorecard."}
    ]
    again = client.post(
        f"/api/v1/qa/reviews/{session}",
        json={"ratings": {"root_cause": 5, "spec": "pass", "tone": 1}, "status": "flagged"},
        headers=headers(),
    ).json
    assert again["scored"]["quality_score"] == 50.0  # (100 + 100 + 2 x 0) / 4
    assert again["status"] == "flagged"
    queue = client.get("/api/v1/qa/reviews", headers=headers()).json["items"]
    assert [(item["session_id"], item["reviewer"]) for item in queue] == [(str(session), "Ana QA")]

    # the rollup replaced the first ratings: one review of 50
    report = client.get("/api/v1/qa/quality?group_by=agent_version", headers=headers()).json
    assert report["items"] == [
        {
            "agent_version": "3.7.0",
            "reviews": 1,
            "quality_score": 50.0,
            "criteria": {"root_cause": 100.0, "spec": 100.0, "tone": 0.0},
            "change": None,
        }
    ]


def test_refused_ratings_and_comments_write_nothing(client, conn):
    session = log_session(conn, "3.7.0")
    conn.commit()
    assert client.post("/api/v1/qa/scorecards", json=CARD, headers=headers()).status_code == 201
    bad = client.post(
        f"/api/v1/qa/reviews/{session}",
        json={"ratings": {"root_cause": 6, "spec": "pass"}, "notes": "fine"},
        headers=headers(),
    )
    assert (bad.status_code, bad.json["errors"][0]["field"]) == (422, "ratings.root_cause")
    leaked = client.post(
        f"/api/v1/qa/reviews/{session}",
        json={
            "ratings": {"root_cause": 3, "spec": "pass"},
            "comments": {"root_cause": "call him on +49 170 1234567"},
        },
        headers=headers(),
    )
    assert leaked.status_code == 422
    assert leaked.json["errors"] == [
        {"field": "comments.root_cause", "reason": "Personal data is not stored."}
    ]
    assert "1234567" not in leaked.get_data(as_text=True)
    assert conn.execute("SELECT count(*) AS n FROM scored_reviews").fetchone()["n"] == 0
    assert conn.execute("SELECT count(*) AS n FROM reviews").fetchone()["n"] == 0
    assert conn.execute("SELECT count(*) AS n FROM quality_rollup").fetchone()["n"] == 0
    assert conn.execute("SELECT count(*) AS n FROM quality_version_rollup").fetchone()["n"] == 0
    duplicate = {**CARD, "criteria": CARD["criteria"] + CARD["criteria"][:1]}
    refused = client.post("/api/v1/qa/scorecards", json=duplicate, headers=headers())
    assert (refused.status_code, refused.json["errors"][0]["field"]) == (422, "criteria")
    named = {**CARD, "criteria": [{"key": "x", "label": "Ask max.mustermann@example.com"}]}
    refused = client.post("/api/v1/qa/scorecards", json=named, headers=headers())
    assert (refused.status_code, refused.json["errors"][0]["field"]) == (422, "criteria.0.label")
    agent = client.get("/api/v1/qa/quality", headers=headers(roles=("agent",)))
    assert agent.status_code == 403


# (version, reviewer, root_cause, spec): 3.7.0 scores 100, 87.5, 100, 75 (mean 90.625);
# 3.7.1 scores 12.5, 25, 50, 12.5 (mean 25); 3.8.0 one review of 62.5
SEEDED = [
    ("3.7.0", "ana", 5, "pass"),
    ("3.7.0", "ben", 4, "pass"),
    ("3.7.0", "ana", 5, "pass"),
    ("3.7.0", "ben", 3, "pass"),
    ("3.7.1", "ana", 2, "fail"),
    ("3.7.1", "ben", 3, "fail"),
    ("3.7.1", "ana", 1, "pass"),
    ("3.7.1", "ben", 2, "fail"),
    ("3.8.0", "ana", 2, "pass"),
]


@pytest.fixture
def seeded(conn, text_guard):
    card = scorecards.create(conn, {**CARD, "is_default": True}, "qa-ana", text_guard)
    quality_store.note_reviewer(conn, "ana", "Ana QA")
    quality_store.note_reviewer(conn, "ben", "Ben QA")
    for index, (version, reviewer, root_cause, spec) in enumerate(SEEDED):
        scorecards.score(
            conn,
            log_session(conn, version),
            reviewer,
            card["scorecard_id"],
            {"root_cause": root_cause, "spec": spec},
            {},
            guard=text_guard,
            scored_at=DAY + timedelta(days=index, hours=index),
        )
    return conn


def test_quality_per_agent_version_has_the_known_answer(seeded):
    items = quality.report(seeded, "agent_version")
    assert [(i["agent_version"], i["reviews"], i["quality_score"]) for i in items] == [
        ("3.7.0", 4, 90.62),
        ("3.7.1", 4, 25.0),
        ("3.8.0", 1, 62.5),
    ]
    assert items[0]["criteria"] == {"root_cause": 81.25, "spec": 100.0}
    assert items[1]["criteria"] == {"root_cause": 25.0, "spec": 25.0}
    change = items[1]["change"]
    # Welch by hand: variances 143.23 and 312.5, se 10.674, df 5.27, t 2.53: (-92.6, -38.6)
    assert (change["previous_version"], change["difference"], change["flagged"]) == (
        "3.7.0",
        -65.62,
        True,
    )
    assert change["ci_low"] == pytest.approx(-92.6, abs=0.3)
    assert change["ci_high"] == pytest.approx(-38.6, abs=0.3)
    assert items[2]["change"] == {
        "previous_version": "3.7.1",
        "difference": 37.5,
        "ci_low": None,
        "ci_high": None,
        "flagged": False,
    }


def test_quality_by_reviewer_week_and_criterion(seeded):
    by_reviewer = quality.report(seeded, "reviewer")
    assert [(i["reviewer"], i["reviews"], i["quality_score"]) for i in by_reviewer] == [
        ("Ana QA", 5, 65.0),  # 100, 100, 12.5, 50, 62.5
        ("Ben QA", 4, 50.0),  # 87.5, 75, 25, 12.5
    ]
    by_week = quality.report(seeded, "week")
    assert [(i["week"].isoformat(), i["reviews"]) for i in by_week] == [
        ("2026-06-01", 7),
        ("2026-06-08", 2),
    ]
    by_criterion = quality.report(seeded, "criterion")
    assert [(i["criterion"], i["reviews"], i["quality_score"]) for i in by_criterion] == [
        ("root_cause", 9, 50.0),
        ("spec", 9, 66.67),
    ]


def test_the_two_rollups_hold_the_same_sums(seeded):
    by_reviewer = seeded.execute(
        "SELECT day, agent_version, criterion, sum(reviews) AS n, sum(score_sum) AS total "
        "FROM quality_rollup GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
    ).fetchall()
    by_version = seeded.execute(
        "SELECT day, agent_version, criterion, reviews AS n, score_sum AS total "
        "FROM quality_version_rollup ORDER BY 1, 2, 3"
    ).fetchall()
    assert by_reviewer == by_version and len(by_version) == 9 * 3


def test_any_period_matches_the_reviews_themselves(seeded):
    rows = seeded.execute("SELECT agent_version, quality_score, scored_at FROM scored_reviews")
    rows = rows.fetchall()
    pick = random.Random(27)
    for _ in range(25):
        since = DAY + timedelta(hours=pick.randrange(0, 240))
        until = since + timedelta(hours=pick.randrange(1, 200))
        expected = defaultdict(list)
        for row in rows:
            if since <= row["scored_at"] < until:
                expected[row["agent_version"]].append(row["quality_score"])
        got = quality.report(seeded, "agent_version", since, until)
        assert {i["agent_version"]: (i["reviews"], i["quality_score"]) for i in got} == {
            version: (len(scores), round(sum(scores) / len(scores), 2))
            for version, scores in expected.items()
        }, (since, until)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("group_by=engineer", "group_by"),
        ("from=2026-06-02T00:00:00Z&to=2026-06-01T00:00:00Z", "to"),
        ("from=0001-01-01T00:00:00%2B05:00", "from"),
        ("to=9999-12-31T23:00:00-05:00", "to"),
        ("from=2026-06-01", "from"),
    ],
)
def test_bad_quality_arguments_are_a_clear_422(client, query, field):
    answer = client.get(f"/api/v1/qa/quality?{query}", headers=headers())
    assert answer.status_code == 422
    assert [error["field"] for error in answer.json["errors"]] == [field]
