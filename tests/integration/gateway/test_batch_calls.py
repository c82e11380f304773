"""The batch calls through the gateway, to real persistence and trends apps: a batch look-up counts
each of its names against the caller's look-up limit (one over the allowance: 429, nothing looked
up), answers what single look-ups answer and is audited as a look-up without a name anywhere; a
decision on many alerts is routed for managers and admins only, within the caller's teams, and
audited as the single decisions are."""

import json
import logging

import psycopg
import pytest
from psycopg.rows import dict_row

from gateway.app import create_app
from persistence_svc.app import create_app as create_persistence
from tests.common.servers import serve
from tests.common.tokens import issue_token
from tests.integration.trends.test_alert_decisions import ENGINEERS, open_recurring_alerts
from trends_svc.app import create_app as create_trends

BATCH = "/api/v1/engineers/lookup/batch"
DECISIONS = "/api/v1/alerts/decisions"
NAMES = ["Greta Batchworth", "Bo Batchworth", "Ida Batchworth", "Oskar Batchworth"]


def recording(app, reached: list):
    """`app` as a WSGI app that notes the method and path of every call that reaches it."""

    def wsgi(environ, start_response):
        reached.append((environ["REQUEST_METHOD"], environ["PATH_INFO"]))
        return app(environ, start_response)

    return wsgi


@pytest.fixture
def services(gateway_config, tmp_path):
    """`gateway(**settings)` builds a gateway in front of real persistence and trends apps (which
    trust its published keys); `reached` lists the calls that got through to them."""
    public_keys = tmp_path / "gateway_public_jwks.json"
    service_config = {**gateway_config, "internal_token_jwks": str(public_keys)}
    apps = [create_persistence(service_config), create_trends(service_config)]
    reached: list[tuple[str, str]] = []
    with (
        serve(recording(apps[0], reached)) as persistence_url,
        serve(recording(apps[1], reached)) as trends_url,
    ):

        def gateway(**settings):
            app = create_app(
                {
                    **gateway_config,
                    "persistence_url": persistence_url,
                    "trends_url": trends_url,
                    **settings,
                }
            )
            public_keys.write_text(json.dumps(app.extensions["key_ring"].public_jwks()))
            apps.append(app)
            return app

        yield gateway, reached
    for app in apps:
        app.extensions["db_pool"].close()


def bearer(app, *roles, teams=("emea-1",)):
    return {"Authorization": "Bearer " + issue_token(app, *roles, teams=teams)}


def audit_rows(database_url, action):
    with psycopg.connect(database_url) as conn:
        return conn.execute(
            "SELECT object, outcome, status FROM gateway.audit_events WHERE action = %s "
            "ORDER BY event_id",
            [action],
        ).fetchall()


def test_a_batch_look_up_answers_what_single_look_ups_answer(services, database_url, caplog):
    caplog.set_level(logging.DEBUG)
    gateway, _reached = services
    app = gateway()
    client, headers = app.test_client(), bearer(app, "manager")
    batch = client.post(BATCH, json={"engineers": NAMES[:3]}, headers=headers)
    assert batch.status_code == 200, batch.json
    singles = [
        client.post("/api/v1/engineers/lookup", json={"engineer": name}, headers=headers).json
        for name in NAMES[:3]
    ]
    assert batch.json["items"] == [
        {"engineer": index, "engineer_code": single["engineer_code"]}
        for index, single in enumerate(singles)
    ]
    assert audit_rows(database_url, "engineers.lookup") == [
        (f"POST {BATCH}?names=3", "success", 200),
        *[("POST /api/v1/engineers/lookup", "success", 200)] * 3,
    ]
    refused = client.post(BATCH, json={"engineers": ["Greta Batchworth", "J0hn"]}, headers=headers)
    assert refused.status_code == 422
    assert [error["field"] for error in refused.json["errors"]] == ["engineers.1"]
    assert audit_rows(database_url, "engineers.lookup")[-1] == (
        f"POST {BATCH}?names=2",
        "failure",
        422,
    )
    seen = caplog.text + refused.text + str(audit_rows(database_url, "engineers.lookup"))
    assert "Batchworth" not in seen and "J0hn" not in seen, "no name in logs, audit or errors"


def test_each_name_of_a_batch_counts_against_the_look_up_limit(services):
    gateway, reached = services
    app = gateway(rate_limit_api="50 per minute", rate_limit_lookup="3 per minute")
    client, headers = app.test_client(), bearer(app, "agent")

    over = client.post(BATCH, json={"engineers": NAMES}, headers=headers)  # 4 names, room for 3
    assert over.status_code == 429
    assert int(over.headers["Retry-After"]) > 0
    assert "Batchworth" not in over.text
    assert ("POST", BATCH) not in reached, "nothing looked up"

    within = client.post(BATCH, json={"engineers": NAMES[:3]}, headers=headers)
    assert within.status_code == 200, "the refused batch used up none of the allowance"
    single = client.post("/api/v1/engineers/lookup", json={"engineer": NAMES[3]}, headers=headers)
    assert single.status_code == 429, "the three names of the batch used up the allowance"
    assert reached.count(("POST", BATCH)) == 1
    assert ("POST", "/api/v1/engineers/lookup") not in reached

    other_caller = bearer(app, "agent")
    assert client.post(BATCH, json={"engineers": NAMES[:1]}, headers=other_caller).status_code == (
        200
    )


@pytest.fixture
def alert_ids(database_url):
    """Open recurring-issue alerts: three of emea-1's engineers, one of apac-1's."""
    with psycopg.connect(
        database_url, row_factory=dict_row, options="-c search_path=trends"
    ) as conn:
        return open_recurring_alerts(conn, ENGINEERS)


def test_alert_decisions_go_through_for_managers_of_the_team_and_are_audited(
    services, alert_ids, database_url
):
    gateway, reached = services
    app = gateway()
    client = app.test_client()
    own = [alert_ids[code] for code in ("eng_a", "eng_b", "eng_c")]
    body = {"ids": own, "status": "acknowledged"}

    for role in ("qa_lead", "agent"):
        denied = client.post(DECISIONS, json=body, headers=bearer(app, role))
        assert denied.status_code == 403
    assert ("POST", DECISIONS) not in reached, "refused at the gateway"

    other_team = client.post(DECISIONS, json=body, headers=bearer(app, "manager", teams=["apac-1"]))
    assert other_team.status_code == 404
    mixed = {"ids": [*own, alert_ids["eng_z"]], "status": "acknowledged"}
    assert client.post(DECISIONS, json=mixed, headers=bearer(app, "manager")).status_code == 404

    decided = client.post(DECISIONS, json=body, headers=bearer(app, "manager"))
    assert decided.status_code == 200, decided.json
    assert [item["status"] for item in decided.json["items"]] == ["acknowledged"] * 3
    assert audit_rows(database_url, "alerts.decide") == [
        (f"POST {DECISIONS}", "failure", 404),
        (f"POST {DECISIONS}", "failure", 404),
        (f"POST {DECISIONS}", "success", 200),
    ]
    assert len(audit_rows(database_url, "access.denied")) == 2
