"""Error summary, review workflow and review metrics, computed exactly on a fixed data set."""

import uuid
from datetime import UTC, date, datetime, timedelta

import psycopg
import pytest
from psycopg.rows import dict_row

from devstack.testing import internal_headers
from qa_svc import reviews, store
from qa_svc.app import create_app

DAY1 = datetime(2026, 5, 4, tzinfo=UTC)
A, B = uuid.UUID(int=1), uuid.UUID(int=2)


def event(session, field, outcome, at, code=None, attempt=1, version="3.7.0"):
    return {
        "session_id": session,
        "source": "check",
        "step": 1,
        "field": field,
        "outcome": outcome,
        "code": code,
        "attempt": attempt,
        "normalized": None,
        "message": None,
        "agent_version": version,
        "occurred_at": at,
    }


@pytest.fixture
def conn(database_url):
    with psycopg.connect(
        database_url, row_factory=dict_row, options="-c search_path=qa"
    ) as connection:
        store.insert_events(
            connection,
            [
                event(A, "engineer", "valid", DAY1 + timedelta(hours=10)),
                event(
                    A,
                    "case_number",
                    "invalid",
                    DAY1 + timedelta(hours=10, minutes=1),
                    code="invalid_case_number",
                ),
                event(A, "case_number", "valid", DAY1 + timedelta(hours=10, minutes=2), attempt=2),
                event(B, "engineer", "valid", DAY1 + timedelta(hours=8)),
                event(
                    B,
                    "languages",
                    "warning",
                    DAY1 + timedelta(days=2),
                    code="unsupported_language",
                    version="3.6.2",
                ),
                event(
                    B,
                    "languages",
                    "warning",
                    DAY1 + timedelta(days=2, hours=1),
                    code="unsupported_language",
                    version="3.6.2",
                ),
            ],
        )
        connection.commit()
        yield connection


def test_review_metrics_are_exact(conn, text_guard):
    reviews.review(conn, A, "reviewed", "Checked, fine.", "qa-1", guard=text_guard)
    reviews.review(conn, B, "flagged", None, "qa-1", guard=text_guard)
    conn.execute(
        "UPDATE reviews SET decided_at = %s WHERE session_id = %s", [DAY1 + timedelta(hours=14), A]
    )
    conn.execute(
        "UPDATE reviews SET decided_at = %s WHERE session_id = %s",
        [DAY1 + timedelta(days=1, hours=8), B],
    )
    series = reviews.metrics(conn, 3, now=DAY1 + timedelta(days=2, hours=12))["series"]
    assert [
        (
            row["day"].isoformat(),
            row["reviews"],
            row["median_hours_to_review"],
            row["first_pass_validity"],
            row["errors_per_100_sessions"],
        )
        for row in series
    ] == [
        ("2026-05-04", 1, 4.0, 0.6667, 50.0),
        ("2026-05-05", 1, 24.0, None, None),
        ("2026-05-06", 0, None, 1.0, 0.0),  # warnings are valid entries
    ]


def test_error_summary_groups_and_trends(conn):
    items = reviews.error_summary(conn, 4, now=DAY1 + timedelta(days=3))
    by_code = {item["code"]: item for item in items}
    assert set(by_code) == {"invalid_case_number", "unsupported_language"}
    warning = by_code["unsupported_language"]
    assert (warning["count"], warning["sessions"], warning["agent_version"]) == (2, 1, "3.6.2")
    assert warning["daily"] == {"2026-05-06": 2}
    assert warning["trend"] == "new"
    assert by_code["invalid_case_number"]["trend"] == "falling"


def test_classify_rising_and_regressed():
    since, until = DAY1, DAY1 + timedelta(days=10)
    assert reviews.classify({"2026-05-05": 1, "2026-05-12": 3}, since, until, False) == "rising"
    assert reviews.classify({"2026-05-12": 3}, since, until, True) == "regressed"
    assert reviews.classify({"2026-05-05": 2, "2026-05-12": 2}, since, until, False) == "steady"


def test_review_api_queue_and_pii_guard(app_config, conn):
    app = create_app(app_config)
    try:
        client = app.test_client()
        headers = internal_headers("qa_lead", subject="qa-7")
        queue = client.get("/api/v1/qa/reviews?has_errors=true", headers=headers).json["items"]
        assert [item["session_id"] for item in queue] == [str(A)]
        assert queue[0]["status"] == "pending"
        done = client.post(
            f"/api/v1/qa/reviews/{A}", json={"status": "reviewed", "notes": "ok"}, headers=headers
        )
        assert done.status_code == 200
        # a machine client has no display name: never its bare subject id
        assert (done.json["status"], done.json["reviewer"]) == ("reviewed", "unnamed reviewer")
        leaked = client.post(
            f"/api/v1/qa/reviews/{B}",
            headers=headers,
            json={"status": "flagged", "notes": "call +49 170 1234567"},
        )
        assert leaked.status_code == 422
        assert (
            client.post(
                f"/api/v1/qa/reviews/{uuid.uuid4()}", json={"status": "reviewed"}, headers=headers
            ).status_code
            == 404
        )
        reviewed = client.get("/api/v1/qa/reviews?status=reviewed", headers=headers).json["items"]
        assert [item["session_id"] for item in reviewed] == [str(A)]
        assert client.get("/api/v1/validation/summary?days=365", headers=headers).status_code == 200
        series = client.get("/api/v1/validation/metrics?days=2", headers=headers).json["series"]
        assert [date.fromisoformat(row["day"]) for row in series] == [
            datetime.now(UTC).date() - timedelta(days=1),
            datetime.now(UTC).date(),
        ]
        assert (
            client.get("/api/v1/validation/metrics", headers=internal_headers("agent")).status_code
            == 403
        )
    finally:
        app.extensions["db_pool"].close()
