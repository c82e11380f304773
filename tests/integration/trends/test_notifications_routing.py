"""Routing: grouping (group_wait, group_interval), repeat_interval for alerts still open,
resolved notices, silences (still listed, marked, not sent), self-service routes of managers,
and the SSRF guard of channel targets."""

import threading
from datetime import timedelta

import psycopg
import pytest
from psycopg.rows import dict_row

from shared.pii import scan_value
from tests.integration.trends.conftest import NOW, change
from tests.integration.trends.notification_receivers import (
    ENGINEERS,
    admin,
    create_channel,
    create_route,
    http_receiver,
    manager,
    smtp_server,
)
from trends_svc import alerts, notifications
from trends_svc.app import create_app
from trends_svc.notifications.targets import TargetRefused, check_target

MINUTE = timedelta(minutes=1)


@pytest.fixture
def hook():
    with http_receiver() as (base, receiver):
        yield f"{base}/hook", receiver


@pytest.fixture
def app(app_config):
    app = create_app({**app_config, "gateway_issuer": "https://cr.example"})
    app.extensions["notifications_clock"] = lambda: NOW
    yield app
    app.extensions["db_pool"].close()


def recurring(engineer, team="emea-1", category="knowledge_gap"):
    return [
        change(engineer=engineer, team=team, root_cause=category, days_ago=d) for d in (1, 2, 3)
    ]


def evaluate(conn, now):
    with conn.transaction():
        return alerts.reconcile(conn, now)


def cycle(conn, app, now):
    """What the worker's notification thread does at `now`."""
    dispatched = notifications.dispatch(conn, app, now)
    notifications.deliver(conn, app, now)
    return dispatched


def sent(receiver):
    """Per message: sorted (event, subject) of its alerts."""
    return [
        sorted((a["event"], a["engineer_code"] or a["team"]) for a in body["alerts"])
        for body in receiver.bodies("hook")
    ]


def test_alerts_wait_for_group_wait_and_messages_keep_group_interval(app, conn, feed, hook):
    url, receiver = hook
    client = app.test_client()
    channel = create_channel(client, "hook", "webhook", {"url": url})
    create_route(
        client,
        channel["id"],
        rules=["recurring_issue"],
        group_wait_seconds=60,
        group_interval_seconds=300,
    )
    feed(*recurring(ENGINEERS[0]))
    evaluate(conn, NOW)
    assert cycle(conn, app, NOW + 30 * timedelta(seconds=1))["messages"] == 0
    feed(*recurring(ENGINEERS[1]))
    evaluate(conn, NOW + timedelta(seconds=40))
    assert cycle(conn, app, NOW + timedelta(seconds=59))["messages"] == 0
    assert cycle(conn, app, NOW + MINUTE)["messages"] == 1
    assert sent(receiver) == [
        [("alert.opened", ENGINEERS[0]), ("alert.opened", ENGINEERS[1])]
    ]  # both evaluations' alerts in one message

    feed(*recurring(ENGINEERS[2]))
    evaluate(conn, NOW + 2 * MINUTE)
    assert cycle(conn, app, NOW + 3 * MINUTE)["messages"] == 0  # group_interval holds it
    assert cycle(conn, app, NOW + 6 * MINUTE)["messages"] == 1
    assert sent(receiver)[-1] == [("alert.opened", ENGINEERS[2])]


def test_open_alerts_repeat_after_repeat_interval_and_acknowledged_ones_do_not(
    app, conn, feed, hook
):
    url, receiver = hook
    client = app.test_client()
    channel = create_channel(client, "hook", "webhook", {"url": url})
    create_route(client, channel["id"], rules=["recurring_issue"], repeat_interval_seconds=3600)
    feed(*recurring(ENGINEERS[0]), *recurring(ENGINEERS[1]))
    evaluate(conn, NOW)
    cycle(conn, app, NOW)
    acknowledged = conn.execute(
        "SELECT alert_id FROM alerts WHERE engineer_code = %s", [ENGINEERS[1]]
    ).fetchone()["alert_id"]
    response = client.post(f"/api/v1/alerts/{acknowledged}/ack", headers=admin())
    assert response.status_code == 200
    assert cycle(conn, app, NOW + 59 * MINUTE)["repeats"] == 0
    assert cycle(conn, app, NOW + 60 * MINUTE) == {"repeats": 1, "messages": 1, "digests": 0}
    assert sent(receiver)[-1] == [("alert.repeat", ENGINEERS[0])]
    assert cycle(conn, app, NOW + 90 * MINUTE)["repeats"] == 0  # counts from the last message
    assert cycle(conn, app, NOW + 120 * MINUTE)["repeats"] == 1


@pytest.mark.parametrize("send_resolved", [True, False])
def test_resolved_notices_follow_send_resolved(app, conn, feed, hook, send_resolved):
    url, receiver = hook
    client = app.test_client()
    channel = create_channel(client, "hook", "webhook", {"url": url})
    create_route(client, channel["id"], rules=["recurring_issue"], send_resolved=send_resolved)
    feed(*recurring(ENGINEERS[0]))
    evaluate(conn, NOW)
    cycle(conn, app, NOW)
    later = NOW + timedelta(days=200)  # outside the 90-day window: the alert resolves
    assert evaluate(conn, later)["resolved"] == 1
    cycle(conn, app, later)
    expected = [[("alert.opened", ENGINEERS[0])]]
    if send_resolved:
        expected.append([("alert.resolved", ENGINEERS[0])])
    assert sent(receiver) == expected


def test_silenced_alerts_are_listed_marked_and_not_sent_until_the_silence_expires(
    app, conn, feed, hook
):
    url, receiver = hook
    client = app.test_client()
    channel = create_channel(client, "hook", "webhook", {"url": url})
    create_route(client, channel["id"], repeat_interval_seconds=600)
    silence = client.post(
        "/api/v1/notifications/silences",
        json={
            "matchers": {"team": "emea-1", "rule": "recurring_issue"},
            "ends_at": (NOW + timedelta(hours=1)).isoformat(),
            "reason": "Known gap, training booked",
        },
        headers=manager("emea-1"),
    )
    assert silence.status_code == 201, silence.json
    assert silence.json["active"] is True and silence.json["created_by"] == "manager-1"
    feed(*recurring(ENGINEERS[0]), *recurring(ENGINEERS[1], team="apac-2"))
    evaluate(conn, NOW)
    cycle(conn, app, NOW)
    assert sent(receiver) == [[("alert.opened", ENGINEERS[1])]]  # emea-1's is silenced

    listed = client.get("/api/v1/alerts?rule=recurring_issue", headers=admin()).json["items"]
    marks = {a["engineer_code"]: a["silenced"] for a in listed}
    assert marks == {ENGINEERS[0]: True, ENGINEERS[1]: False}  # still raised and listed

    expired = client.delete(
        f"/api/v1/notifications/silences/{silence.json['id']}", headers=manager("emea-1")
    )
    assert expired.status_code == 200 and expired.json["active"] is False
    assert client.get("/api/v1/notifications/silences", headers=admin()).json["items"] == []
    # A new alert of emea-1 now goes out.
    feed(*recurring(ENGINEERS[2]))
    evaluate(conn, NOW + MINUTE)
    cycle(conn, app, NOW + 10 * MINUTE)
    assert ("alert.opened", ENGINEERS[2]) in sent(receiver)[-1]


@pytest.mark.parametrize(
    ("matchers", "field"),
    [
        ({"rule": "recurring_issue"}, "matchers.team"),  # a manager must name a team
        ({"team": "apac-2"}, "matchers.team"),  # not theirs
        ({"team": "emea-1", "engineer_code": "Anna Berg"}, "matchers.engineer_code"),
    ],
)
def test_a_manager_silences_their_own_teams_only(app, matchers, field):
    response = app.test_client().post(
        "/api/v1/notifications/silences",
        json={"matchers": matchers, "ends_at": (NOW + MINUTE).isoformat(), "reason": "x"},
        headers=manager("emea-1"),
    )
    assert response.status_code == 422
    assert [e["field"] for e in response.json["errors"]] == [field]
    assert "Anna" not in response.get_data(as_text=True)


def test_silence_reasons_refuse_personal_data_and_other_teams_cannot_expire(app):
    client = app.test_client()
    body = {"matchers": {"team": "emea-1"}, "ends_at": (NOW + MINUTE).isoformat()}
    refused = client.post(
        "/api/v1/notifications/silences",
        json={**body, "reason": "ask anna.berg@example.com"},
        headers=admin(),
    )
    assert refused.status_code == 422
    assert refused.json["errors"] == [{"field": "reason", "reason": "Holds personal data (email)."}]
    created = client.post(
        "/api/v1/notifications/silences", json={**body, "reason": "known"}, headers=admin()
    )
    other = manager("apac-2", subject="manager-2")
    assert (
        client.delete(
            f"/api/v1/notifications/silences/{created.json['id']}", headers=other
        ).status_code
        == 404
    )
    assert client.get("/api/v1/notifications/silences", headers=other).json["items"] == []


def test_a_manager_subscribes_their_own_address_for_their_own_teams_only(app_config, conn, feed):
    with smtp_server() as (smtp_url, mailbox):
        app = create_app(
            {**app_config, "smtp_url": smtp_url, "gateway_issuer": "https://cr.example"}
        )
        app.extensions["notifications_clock"] = lambda: NOW
        try:
            client = app.test_client()
            mine = manager("emea-1")
            refused = client.post(
                "/api/v1/notifications/routes",
                json={"email": "me@cr.example", "teams": ["apac-2"]},
                headers=mine,
            )
            assert refused.status_code == 403
            channel_route = client.post(
                "/api/v1/notifications/routes", json={"channel_id": str(NOW.year)}, headers=mine
            )
            assert channel_route.status_code == 422  # not a uuid; a real one is 403 below
            assert client.get("/api/v1/notifications/channels", headers=mine).status_code == 403

            created = client.post(
                "/api/v1/notifications/routes",
                json={"email": "me@cr.example", "rules": ["recurring_issue"]},
                headers=mine,
            )
            assert created.status_code == 201, created.json
            route = created.json
            assert route["teams"] == ["emea-1"] and route["confirmed"] is False
            assert route["recipient"] == "m…@cr.example" and route["self_service"] is True
            feed(*recurring(ENGINEERS[0]))
            evaluate(conn, NOW)
            cycle(conn, app, NOW)
            (confirmation,) = mailbox.messages  # nothing else before the address is confirmed
            assert confirmation["rcpt_tos"] == ["me@cr.example"]
            text = confirmation["message"].get_body(("plain",)).get_content()
            code = text.split("Your confirmation code: ")[1].split()[0]
            assert scan_value(text) == []

            path = f"/api/v1/notifications/routes/{route['id']}"
            other = manager("emea-1", subject="manager-2")
            assert client.get(path, headers=other).status_code == 404
            wrong = client.post(f"{path}/confirm", json={"code": "abcdefghjk"}, headers=mine)
            assert wrong.status_code == 422
            confirmed = client.post(f"{path}/confirm", json={"code": code}, headers=mine)
            assert confirmed.status_code == 200 and confirmed.json["confirmed"] is True
            assert [
                r["id"]
                for r in client.get("/api/v1/notifications/routes", headers=mine).json["items"]
            ] == [route["id"]]
            assert client.get("/api/v1/notifications/routes", headers=other).json["items"] == []

            feed(*recurring(ENGINEERS[1]), *recurring(ENGINEERS[2], team="apac-2"))
            evaluate(conn, NOW + MINUTE)
            cycle(conn, app, NOW + 10 * MINUTE)
            alert_mail = mailbox.messages[-1]["message"]
            assert alert_mail["Subject"] == "CR Assistant: 1 alert (1 new)"
            assert ENGINEERS[1] in alert_mail.get_body(("plain",)).get_content()
            assert client.delete(path, headers=mine).status_code == 204
            assert (
                conn.execute("SELECT count(*) AS n FROM notification_channels").fetchone()["n"] == 0
            )
        finally:
            app.extensions["db_pool"].close()


def test_a_manager_cannot_route_to_an_admins_channel(app):
    client = app.test_client()
    channel = create_channel(client, "slack", "slack", {"url": "https://hooks.example.org/x"})
    response = client.post(
        "/api/v1/notifications/routes",
        json={"channel_id": channel["id"], "teams": ["emea-1"]},
        headers=manager("emea-1"),
    )
    assert response.status_code == 403
    assert client.get("/api/v1/notifications/routes", headers=admin()).json["items"] == []


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://10.1.2.3/hook",
        "https://[::1]/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://localhost/hook",
        "http://93.184.216.34/hook",  # public, but not https
        "ftp://93.184.216.34/hook",
    ],
)
def test_production_refuses_private_targets(url):
    with pytest.raises(TargetRefused):
        check_target(url, production=True)


def test_allowed_targets_and_development_reach_private_addresses():
    check_target("https://93.184.216.34/hook", production=True)
    check_target("http://10.1.2.3/relay", production=True, allowed=("10.0.0.0/8",))
    check_target("https://relay.internal/x", production=True, allowed=("relay.internal",))
    check_target("http://127.0.0.1:9999/hook", production=False)
    with pytest.raises(TargetRefused):
        check_target("http://10.1.2.3/relay", production=True, allowed=("192.168.0.0/16",))


def test_a_production_channel_to_a_private_address_is_422(app):
    app.extensions["notifications_delivery"] = app.extensions["notifications_delivery"].__class__(
        **{**app.extensions["notifications_delivery"].__dict__, "production": True}
    )
    response = app.test_client().post(
        "/api/v1/notifications/channels",
        json={"name": "x", "kind": "teams", "config": {"url": "https://10.0.0.5/hook"}},
        headers=admin(),
    )
    assert response.status_code == 422
    assert response.json["errors"][0]["field"] == "config.url"
    assert "10.0.0.5" not in response.get_data(as_text=True)


def test_the_dashboards_silence_form_offers_every_rule():
    from dashboard_svc import silences
    from trends_svc.thresholds import RULES

    assert set(silences.RULES) == set(RULES)


def test_two_workers_flushing_at_once_queue_each_group_once(app, conn, feed, hook, database_url):
    url, _receiver = hook
    client = app.test_client()
    for team in ("emea-1", "apac-2"):
        channel = create_channel(client, f"hook-{team}", "webhook", {"url": url})
        create_route(client, channel["id"], teams=[team])
    feed(*recurring(ENGINEERS[0]), *recurring(ENGINEERS[1], team="apac-2"))
    evaluate(conn, NOW)
    barrier, results = threading.Barrier(2), []

    def worker():
        with psycopg.connect(
            database_url, row_factory=dict_row, options="-c search_path=trends"
        ) as own:
            barrier.wait()
            with app.app_context():
                results.append(notifications.dispatch(own, app, NOW)["messages"])

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sum(results) == 2  # one message per route, whichever worker took it
    rows = conn.execute("SELECT route_id, count(*) AS n FROM notification_outbox GROUP BY 1")
    assert sorted(row["n"] for row in rows) == [1, 1]
