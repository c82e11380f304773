"""Sampling runs with round-robin assignment, the assignee=me queue, audited reassignment, and a
blind calibration whose agreement figures are worked out by hand."""

import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg.rows import dict_row

from qa_svc import store
from qa_svc.app import create_app
from tests.integration.qa.test_scorecards import CARD, headers

AGO = datetime.now(UTC) - timedelta(hours=2)
ANA, BEN, CID = ("qa-ana", "Ana QA"), ("qa-ben", "Ben QA"), ("qa-cid", "Cid QA")


def log(conn, version, outcome="valid", confidence=None):
    session_id = uuid.uuid4()
    store.insert_events(
        conn,
        [
            {
                "session_id": session_id,
                "source": "agent",
                "step": 7,
                "field": "model",
                "outcome": outcome,
                "code": None,
                "attempt": 1,
                "normalized": None,
                "message": None,
                "agent_version": version,
                "occurred_at": AGO,
                "confidence_overall": confidence,
            }
        ],
    )
    store.claim_sessions(conn, [session_id], [])
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


def as_(who):
    return headers(subject=who[0], name=who[1])


def test_sampling_assigns_round_robin_and_nobody_twice(client, conn):
    with_errors = [log(conn, "3.7.0", "error") for _ in range(4)]
    low = log(conn, "3.7.1", confidence=0.2)
    plain = [log(conn, version) for version in ["3.7.0"] * 20 + ["3.7.1"] * 20]
    conn.commit()
    for who in (ANA, BEN, CID):  # reviewers join the directory by using QA
        assert client.get("/api/v1/qa/reviewers", headers=as_(who)).status_code == 200
    assert (
        client.put("/api/v1/qa/sampling", json={"percent": 10}, headers=as_(ANA)).json["percent"]
        == 10.0
    )
    ran = client.post("/api/v1/qa/sampling/run", json={"quiet_minutes": 30}, headers=as_(ANA))
    assert ran.status_code == 200, ran.json
    result = ran.json
    assert result["considered"] == 45
    assert result["by_reason"] == {"errors": 4, "low_confidence": 1, "random": 4, "not_drawn": 36}
    assert result["sampled"] == 9
    assert result["assigned"] == {"Ana QA": 3, "Ben QA": 3, "Cid QA": 3}
    again = client.post("/api/v1/qa/sampling/run", json={"quiet_minutes": 30}, headers=as_(ANA))
    assert again.json["considered"] == 0  # each session is decided once

    mine = client.get("/api/v1/qa/reviews?assignee=me&limit=50", headers=as_(BEN)).json["items"]
    assert len(mine) == 3 and {item["assignee"] for item in mine} == {"Ben QA"}
    assigned = [
        uuid.UUID(item["session_id"])
        for who in (ANA, BEN, CID)
        for item in client.get("/api/v1/qa/reviews?assignee=me", headers=as_(who)).json["items"]
    ]
    assert len(assigned) == len(set(assigned)) == 9  # each sampled session to one reviewer
    assert set(with_errors) | {low} <= set(assigned)
    assert len(set(assigned) & set(plain)) == 4  # 10 % of 20 + 20 plain ones, per version

    session = uuid.UUID(mine[0]["session_id"])
    moved = client.post(
        f"/api/v1/qa/assignments/{session}", json={"reviewer_id": "qa-cid"}, headers=as_(ANA)
    )
    assert moved.status_code == 200
    assert [(h["reviewer"], h["reason"]) for h in moved.json["history"]] == [
        ("Ben QA", "sampling"),
        ("Cid QA", "reassignment"),
    ]
    assert moved.json["history"][1]["assigned_by"] == "Ana QA"
    back = client.post(
        f"/api/v1/qa/assignments/{session}", json={"reviewer_id": "qa-ben"}, headers=as_(ANA)
    )
    assert (back.status_code, back.json["errors"][0]["field"]) == (409, "reviewer_id")
    unknown = client.post(
        f"/api/v1/qa/assignments/{session}", json={"reviewer_id": "nobody"}, headers=as_(ANA)
    )
    assert unknown.status_code == 404
    left = client.get("/api/v1/qa/reviews?assignee=me", headers=as_(BEN)).json["items"]
    assert len(left) == 2

    # an inactive reviewer gets no new work
    assert (
        client.patch("/api/v1/qa/reviewers/qa-cid", json={"active": False}, headers=as_(ANA)).json[
            "active"
        ]
        is False
    )
    for _ in range(4):
        log(conn, "3.8.0", "error")
    conn.commit()
    third = client.post("/api/v1/qa/sampling/run", json={"quiet_minutes": 30}, headers=as_(ANA))
    assert third.json["assigned"] == {"Ana QA": 2, "Ben QA": 2}


def test_blind_calibration_and_its_agreement(client, conn):
    sessions = [log(conn, "3.7.0") for _ in range(4)]
    conn.commit()
    for who in (ANA, BEN):
        client.get("/api/v1/qa/reviewers", headers=as_(who))
    card = client.post("/api/v1/qa/scorecards", json=CARD, headers=as_(ANA)).json
    created = client.post(
        "/api/v1/qa/calibrations",
        json={"session_ids": [str(s) for s in sessions], "reviewer_ids": ["qa-ana", "qa-ben"]},
        headers=as_(ANA),
    )
    assert created.status_code == 201, created.json
    calibration = created.json
    assert (calibration["reviewers"], calibration["expected"], calibration["complete"]) == (
        ["Ana QA", "Ben QA"],
        8,
        False,
    )
    assert calibration["scorecard_id"] == card["scorecard_id"]
    path = f"/api/v1/qa/calibrations/{calibration['calibration_id']}"
    # root_cause: ana 1,2,3,3 / ben 1,3,3,3 ; spec: ana p,p,f,f / ben p,f,f,f
    given = {
        ANA: [(1, "pass"), (2, "pass"), (3, "fail"), (3, "fail")],
        BEN: [(1, "pass"), (3, "fail"), (3, "fail"), (3, "fail")],
    }
    for index, session in enumerate(sessions):
        for who in (ANA, BEN):
            if (who, index) == (BEN, 3):
                continue
            root_cause, spec = given[who][index]
            rated = client.post(
                f"{path}/ratings",
                json={
                    "session_id": str(session),
                    "ratings": {"root_cause": root_cause, "spec": spec},
                },
                headers=as_(who),
            )
            assert rated.status_code == 200, rated.json
    blind = client.get(path, headers=as_(ANA)).json
    assert (blind["scored"], blind["complete"], blind["ratings"], blind["agreement"]) == (
        7,
        False,
        None,
        None,
    )
    assert {r["reviewer"] for r in blind["my_ratings"]} == {"Ana QA"}
    assert len(blind["my_ratings"]) == 4
    outsider = client.post(
        f"{path}/ratings",
        json={"session_id": str(sessions[3]), "ratings": {"root_cause": 3, "spec": "fail"}},
        headers=as_(CID),
    )
    assert outsider.status_code == 403
    last = client.post(
        f"{path}/ratings",
        json={"session_id": str(sessions[3]), "ratings": {"root_cause": 3, "spec": "fail"}},
        headers=as_(BEN),
    ).json
    assert (last["complete"], len(last["ratings"])) == (True, 8)
    agreement = {item["criterion"]: item for item in last["agreement"]}
    # root_cause, ordinal, values 1,1 | 2,3 | 3,3 | 3,3: n1=2, n2=1, n3=5, n=8; d2(2,3) =
    # ((n2 + n3) / 2)^2 = 9, d2(1,2) = 2.25, d2(1,3) = (8 - 3.5)^2 = 20.25; observed 2 x 9 = 18;
    # expected 2 x (2 x 2.25 + 5 x 9 + 10 x 20.25) = 504; alpha = 1 - 7 x 18 / 504 = 0.75;
    # 3 of 4 pairs agree
    assert agreement["root_cause"] == {
        "criterion": "root_cause",
        "percent_agreement": 0.75,
        "krippendorff_alpha": 0.75,
    }
    # spec, nominal: pass=1 fail=0, o11=2, o10=o01=1, o00=4: n1=3, n0=5: 1 - 7 x 2 / 30
    assert agreement["spec"]["krippendorff_alpha"] == pytest.approx(0.5333, abs=1e-4)
    assert agreement["spec"]["percent_agreement"] == 0.75
    spread = {item["session_id"]: item for item in last["spread"]}
    assert spread[str(sessions[1])]["scores"] == [25.0, 62.5]  # ben (3, fail), ana (2, pass)
    assert spread[str(sessions[0])]["stdev"] == 0.0
    closed = client.post(
        f"{path}/ratings",
        json={"session_id": str(sessions[0]), "ratings": {"root_cause": 5, "spec": "pass"}},
        headers=as_(ANA),
    )
    assert closed.status_code == 409
    bad = client.post(
        "/api/v1/qa/calibrations",
        json={"session_ids": [str(uuid.uuid4())], "reviewer_ids": ["qa-ana", "nobody"]},
        headers=as_(ANA),
    )
    assert bad.status_code == 422
    assert [e["field"] for e in bad.json["errors"]] == ["session_ids.0", "reviewer_ids.1"]
