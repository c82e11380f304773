"""Thresholds with ETag/If-Match and the alert lifecycle (open, updated, acknowledged, resolved)."""

import threading

import psycopg
import pytest
from psycopg.rows import dict_row

from devstack.testing import internal_headers
from shared.api import encode_cursor
from tests.integration.trends.conftest import NOW, change
from trends_svc import alerts


def admin():
    """Fresh headers per call: internal tokens live 60 seconds."""
    return internal_headers("admin")


def test_threshold_update_needs_a_fresh_etag(trends_app):
    client = trends_app.test_client()
    current = client.get("/api/v1/thresholds/recurring_issue", headers=admin())
    assert current.status_code == 200, current.json
    assert current.json["params"] == {"min_count": 3, "window_days": 90}
    etag = current.headers["ETag"]
    body = {"params": {"min_count": 4}, "enabled": True}

    assert (
        client.put("/api/v1/thresholds/recurring_issue", json=body, headers=admin()).status_code
        == 428
    )
    changed = client.put(
        "/api/v1/thresholds/recurring_issue", json=body, headers={**admin(), "If-Match": etag}
    )
    assert changed.status_code == 200
    assert changed.json["params"] == {"min_count": 4, "window_days": 90}
    assert changed.json["updated_by"] == "test-client"
    assert changed.headers["ETag"] != etag
    stale = client.put(
        "/api/v1/thresholds/recurring_issue", json=body, headers={**admin(), "If-Match": etag}
    )
    assert stale.status_code == 412


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"min_count": 1}, "params.min_count"),
        ({"window_days": 2.5}, "params.window_days"),
        ({"colour": 3}, "params.colour"),
        ({"min_count": True}, "params.min_count"),
    ],
)
def test_bad_threshold_parameters_are_422(trends_app, params, field):
    client = trends_app.test_client()
    etag = client.get("/api/v1/thresholds/recurring_issue", headers=admin()).headers["ETag"]
    response = client.put(
        "/api/v1/thresholds/recurring_issue",
        json={"params": params, "enabled": True},
        headers={**admin(), "If-Match": etag},
    )
    assert response.status_code == 422
    assert response.json["errors"][0]["field"] == field


def test_server_fields_in_a_threshold_body_are_422(trends_app):
    client = trends_app.test_client()
    etag = client.get("/api/v1/thresholds/positive_trend", headers=admin()).headers["ETag"]
    response = client.put(
        "/api/v1/thresholds/positive_trend",
        json={"params": {}, "enabled": True, "updated_by": "mallory"},
        headers={**admin(), "If-Match": etag},
    )
    assert response.status_code == 422


def test_alert_lifecycle(trends_app, conn, feed, database_url):
    feed(*[change(days_ago=d) for d in (1, 2, 3)])
    with trends_app.app_context(), conn.transaction():
        assert alerts.reconcile(conn, NOW) == {"opened": 1, "updated": 0, "resolved": 0}
    with conn.transaction():
        assert alerts.reconcile(conn, NOW) == {"opened": 0, "updated": 0, "resolved": 0}
    feed(change(days_ago=4))
    with conn.transaction():
        assert alerts.reconcile(conn, NOW) == {"opened": 0, "updated": 1, "resolved": 0}

    client = trends_app.test_client()
    listed = client.get("/api/v1/alerts?status=open", headers=admin()).json["items"]
    assert [
        (a["rule"], a["engineer_code"], a["category"], a["evidence"]["sessions"]) for a in listed
    ] == [("recurring_issue", "eng_a", "knowledge_gap", 4)]
    alert_id = listed[0]["id"]

    other_team = internal_headers("manager", teams=("apac-1",))
    assert client.post(f"/api/v1/alerts/{alert_id}/ack", headers=other_team).status_code == 404
    own_team = internal_headers("manager", teams=("emea-1",), subject="mgr-1")
    acked = client.post(f"/api/v1/alerts/{alert_id}/ack", headers=own_team)
    assert (acked.json["status"], acked.json["acknowledged_by"]) == ("acknowledged", "mgr-1")

    later = NOW.replace(year=2027)  # every session has left the 90-day window
    with conn.transaction():
        assert alerts.reconcile(conn, later) == {"opened": 0, "updated": 0, "resolved": 1}
    resolved = client.get("/api/v1/alerts?status=resolved", headers=admin()).json["items"]
    assert resolved[0]["id"] == alert_id and resolved[0]["resolved_at"]
    assert client.post(f"/api/v1/alerts/{alert_id}/resolve", headers=admin()).status_code == 409
    with psycopg.connect(database_url) as raw:
        history = raw.execute(
            "SELECT status, actor FROM trends.alert_history "
            "WHERE alert_id = %s ORDER BY changed_at",
            [alert_id],
        ).fetchall()
    assert history == [("open", "system"), ("acknowledged", "mgr-1"), ("resolved", "system")]


def test_alert_export_formats(trends_app, conn, feed):
    feed(*[change(days_ago=d) for d in (1, 2, 3)])
    with conn.transaction():
        alerts.reconcile(conn, NOW)
    client = trends_app.test_client()
    as_csv = client.get("/api/v1/alerts/export?format=csv", headers=admin())
    assert as_csv.headers["Content-Disposition"] == 'attachment; filename="alerts.csv"'
    lines = as_csv.get_data(as_text=True).strip().splitlines()
    assert lines[0].startswith("id,rule,scope") and len(lines) == 2
    assert client.get("/api/v1/alerts/export?format=json", headers=admin()).json[0]["rule"] == (
        "recurring_issue"
    )


def test_evaluations_at_the_same_time_open_each_alert_once(conn, feed, database_url):
    """The worker and POST /trends/evaluate may evaluate at the same moment: the second waits for
    the first and finds its alerts, instead of opening them again (a unique violation, 409)."""
    feed(*[change(days_ago=d) for d in (1, 2, 3)])
    outcome: dict = {}

    def second_evaluation():
        with psycopg.connect(
            database_url, row_factory=dict_row, options="-c search_path=trends"
        ) as other:
            try:
                with other.transaction():
                    outcome["counts"] = alerts.reconcile(other, NOW)
            except Exception as error:  # reported below, not lost in the thread
                outcome["error"] = error

    first = conn.transaction()
    first.__enter__()
    assert alerts.reconcile(conn, NOW)["opened"] == 1
    thread = threading.Thread(target=second_evaluation)
    thread.start()
    thread.join(0.5)
    assert thread.is_alive()  # waiting for the first evaluation to end
    first.__exit__(None, None, None)
    thread.join(10)
    assert "error" not in outcome, outcome
    assert outcome["counts"] == {"opened": 0, "updated": 0, "resolved": 0}
    assert conn.execute("SELECT count(*) AS n FROM alerts").fetchone()["n"] == 1


@pytest.mark.parametrize(
    "key", ["jane.doe@example.com", "Anna Müller", "+44 20 7946 0958", "x" * 65]
)
def test_an_unknown_parameter_not_shaped_like_a_name_is_not_repeated(trends_app, key):
    client = trends_app.test_client()
    etag = client.get("/api/v1/thresholds/recurring_issue", headers=admin()).headers["ETag"]
    response = client.put(
        "/api/v1/thresholds/recurring_issue",
        json={"params": {key: 1}, "enabled": True},
        headers={**admin(), "If-Match": etag},
    )
    assert response.status_code == 422
    assert response.json["errors"] == [
        {"field": "params", "reason": "Unknown parameter of this rule."}
    ]
    text = response.get_data(as_text=True)
    assert key not in text and "jane" not in text and "Anna" not in text


def test_a_forged_alert_cursor_is_a_400_not_a_database_error(trends_app):
    client = trends_app.test_client()
    for values in (["x", "y"], ["2026-01-01T00:00:00+00:00", "not-a-uuid"]):
        response = client.get(f"/api/v1/alerts?cursor={encode_cursor(values)}", headers=admin())
        assert response.status_code == 400, response.json
        assert response.json["errors"][0]["field"] == "cursor"


def test_alerts_and_their_export_filter_by_root_cause(trends_app, conn, feed):
    feed(
        *[change(engineer="eng_k", days_ago=d) for d in (1, 2, 3)],
        *[change(engineer="eng_p", root_cause="process_issue", days_ago=d) for d in (1, 2, 3)],
    )
    with conn.transaction():
        alerts.reconcile(conn, NOW)
    client = trends_app.test_client()
    listed = client.get("/api/v1/alerts?category=process_issue", headers=admin()).json["items"]
    assert [(a["engineer_code"], a["category"]) for a in listed] == [("eng_p", "process_issue")]
    exported = client.get(
        "/api/v1/alerts/export?format=json&category=knowledge_gap", headers=admin()
    ).json
    assert [(a["engineer_code"], a["category"]) for a in exported] == [("eng_k", "knowledge_gap")]
    wrong = client.get("/api/v1/alerts?category=bad_luck", headers=admin())
    assert wrong.status_code == 422
    assert wrong.json["errors"][0]["field"] == "category"
