"""Decisions on many alerts in one call (POST /alerts/decisions): all of them or none, within the
caller's teams, a resolved alert never decided again; the single ack/resolve are its one-id case."""

import uuid

import pytest

from devstack.testing import internal_headers
from tests.integration.trends.conftest import NOW, change
from trends_svc import alerts, projection
from trends_svc.schemas import MAX_DECISIONS

DECISIONS = "/api/v1/alerts/decisions"
# Three engineers of emea-1 and one of apac-1, each with a recurring knowledge gap.
ENGINEERS = {"eng_a": "emea-1", "eng_b": "emea-1", "eng_c": "emea-1", "eng_z": "apac-1"}


def manager(team="emea-1", subject="mgr-1"):
    """Fresh headers per call: internal tokens live 60 seconds."""
    return internal_headers("manager", teams=(team,), subject=subject)


def open_recurring_alerts(conn, teams: dict[str, str]) -> dict[str, str]:
    """Three knowledge gaps for each engineer (engineer_code -> team), evaluated: the id of each
    one's open recurring-issue alert, by engineer_code."""
    changes = [
        change(engineer=code, team=team, days_ago=days)
        for code, team in teams.items()
        for days in (1, 2, 3)
    ]
    with conn.transaction():
        projection.apply_page(conn, changes)
    with conn.transaction():
        alerts.reconcile(conn, NOW)
    rows = conn.execute(
        "SELECT engineer_code, alert_id::text AS id FROM alerts WHERE rule = 'recurring_issue'"
    ).fetchall()
    found = {row["engineer_code"]: row["id"] for row in rows}
    assert set(found) == set(teams)
    return found


@pytest.fixture
def alert_ids(trends_app, conn):
    return open_recurring_alerts(conn, ENGINEERS)


def states(conn, ids):
    """(status, acknowledged_by) of each alert, and how many history rows people wrote."""
    rows = conn.execute(
        "SELECT alert_id::text AS id, status, acknowledged_by FROM alerts "
        "WHERE alert_id = ANY(%s::uuid[])",
        [ids],
    ).fetchall()
    by_hand = conn.execute(
        "SELECT count(*) AS n FROM alert_history WHERE actor <> 'system' "
        "AND alert_id = ANY(%s::uuid[])",
        [ids],
    ).fetchone()["n"]
    return {row["id"]: (row["status"], row["acknowledged_by"]) for row in rows}, by_hand


def test_a_manager_acknowledges_three_alerts_in_one_call(trends_app, conn, alert_ids):
    ids = [alert_ids[code] for code in ("eng_c", "eng_a", "eng_b")]
    answer = trends_app.test_client().post(
        DECISIONS, json={"ids": ids, "status": "acknowledged"}, headers=manager()
    )
    assert answer.status_code == 200, answer.json
    items = answer.json["items"]
    assert [item["id"] for item in items] == ids, "in the order asked"
    assert {(item["status"], item["acknowledged_by"]) for item in items} == {
        ("acknowledged", "mgr-1")
    }
    assert states(conn, ids) == ({i: ("acknowledged", "mgr-1") for i in ids}, 3)


def test_an_admin_resolves_alerts_of_several_teams(trends_app, conn, alert_ids):
    ids = [alert_ids["eng_a"], alert_ids["eng_z"]]
    answer = trends_app.test_client().post(
        DECISIONS, json={"ids": ids, "status": "resolved"}, headers=internal_headers("admin")
    )
    assert answer.status_code == 200, answer.json
    assert all(
        item["status"] == "resolved" and item["resolved_at"] for item in answer.json["items"]
    )
    assert states(conn, ids)[1] == 2


def test_one_alert_of_another_team_is_a_404_and_nothing_changes(trends_app, conn, alert_ids):
    ids = [alert_ids["eng_a"], alert_ids["eng_b"], alert_ids["eng_c"], alert_ids["eng_z"]]
    answer = trends_app.test_client().post(
        DECISIONS, json={"ids": ids, "status": "acknowledged"}, headers=manager()
    )
    assert answer.status_code == 404
    assert answer.json["errors"] == [
        {
            "field": "ids.3",
            "id": alert_ids["eng_z"],
            "reason": "No alert with this id in your teams.",
        }
    ]
    assert states(conn, ids) == ({i: ("open", None) for i in ids}, 0)


def test_an_unknown_id_is_a_404_naming_it(trends_app, conn, alert_ids):
    unknown = str(uuid.uuid4())
    ids = [unknown, alert_ids["eng_a"]]
    answer = trends_app.test_client().post(
        DECISIONS, json={"ids": ids, "status": "resolved"}, headers=internal_headers("admin")
    )
    assert answer.status_code == 404
    assert [(e["field"], e["id"]) for e in answer.json["errors"]] == [("ids.0", unknown)]
    assert states(conn, ids) == ({alert_ids["eng_a"]: ("open", None)}, 0)


def test_one_resolved_alert_is_a_409_and_nothing_changes(trends_app, conn, alert_ids):
    client = trends_app.test_client()
    resolved = client.post(f"/api/v1/alerts/{alert_ids['eng_b']}/resolve", headers=manager())
    assert resolved.status_code == 200, resolved.json
    ids = [alert_ids["eng_a"], alert_ids["eng_b"], alert_ids["eng_c"]]
    for status in ("acknowledged", "resolved"):
        answer = client.post(DECISIONS, json={"ids": ids, "status": status}, headers=manager())
        assert answer.status_code == 409, status
        assert answer.json["detail"] == (
            "The alert is resolved already: 1 of the 3 alerts; none was changed."
        )
        assert [(e["field"], e["id"]) for e in answer.json["errors"]] == [
            ("ids.1", alert_ids["eng_b"])
        ]
    assert states(conn, ids) == (
        {
            alert_ids["eng_a"]: ("open", None),
            alert_ids["eng_b"]: ("resolved", None),
            alert_ids["eng_c"]: ("open", None),
        },
        1,  # the single resolve only
    )


def test_a_manager_of_another_team_cannot_decide(trends_app, conn, alert_ids):
    ids = [alert_ids[code] for code in ("eng_a", "eng_b", "eng_c")]
    answer = trends_app.test_client().post(
        DECISIONS, json={"ids": ids, "status": "resolved"}, headers=manager("apac-1")
    )
    assert answer.status_code == 404
    assert [e["field"] for e in answer.json["errors"]] == ["ids.0", "ids.1", "ids.2"]
    assert states(conn, ids) == ({i: ("open", None) for i in ids}, 0)


@pytest.mark.parametrize("role", ["qa_lead", "agent"])
def test_roles_that_do_not_decide_on_alerts_get_403(trends_app, conn, alert_ids, role):
    ids = [alert_ids["eng_a"]]
    answer = trends_app.test_client().post(
        DECISIONS,
        json={"ids": ids, "status": "acknowledged"},
        headers=internal_headers(role, teams=("emea-1",)),
    )
    assert answer.status_code == 403
    assert states(conn, ids)[1] == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"ids": [], "status": "resolved"}, "ids"),
        ({"ids": ["not-a-uuid"], "status": "resolved"}, "ids.0"),
        ({"ids": ["6f1c1a52-0d4e-4c55-9d43-2a4f5ad3e1a0"] * 2, "status": "resolved"}, "ids"),
        (
            {"ids": [str(uuid.uuid4()) for _ in range(MAX_DECISIONS + 1)], "status": "resolved"},
            "ids",
        ),
        ({"ids": [str(uuid.uuid4())], "status": "open"}, "status"),
        ({"ids": [str(uuid.uuid4())]}, "status"),
        ({"ids": [str(uuid.uuid4())], "status": "resolved", "actor": "x"}, "actor"),
    ],
)
def test_a_bad_decision_is_a_422_naming_the_field(trends_app, body, field):
    answer = trends_app.test_client().post(DECISIONS, json=body, headers=manager())
    assert answer.status_code == 422
    assert field in [error["field"] for error in answer.json["errors"]]


def test_the_single_decisions_are_the_one_id_case(trends_app, conn, alert_ids):
    client = trends_app.test_client()
    other = client.post(f"/api/v1/alerts/{alert_ids['eng_z']}/ack", headers=manager())
    assert other.status_code == 404
    acked = client.post(f"/api/v1/alerts/{alert_ids['eng_a']}/ack", headers=manager())
    assert (acked.json["status"], acked.json["acknowledged_by"]) == ("acknowledged", "mgr-1")
    assert (
        client.post(f"/api/v1/alerts/{alert_ids['eng_a']}/resolve", headers=manager()).json[
            "status"
        ]
        == "resolved"
    )
    again = client.post(f"/api/v1/alerts/{alert_ids['eng_a']}/resolve", headers=manager())
    assert again.status_code == 409
    assert again.json["detail"] == "The alert is resolved already."
