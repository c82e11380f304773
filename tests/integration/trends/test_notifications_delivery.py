"""Notifications reach real receivers: an SMTP server gets a multipart e-mail, HTTP receivers get
Slack Block Kit, a Teams Adaptive Card and the signed webhook JSON, one grouped message per
route; outages are retried with backoff until delivered or dead; nothing is lost meanwhile."""

import hashlib
import hmac
import json
from datetime import timedelta

import pytest

from shared.pii import scan_value
from tests.integration.trends.conftest import NOW, change
from tests.integration.trends.notification_receivers import (
    ENGINEERS,
    admin,
    create_channel,
    create_route,
    http_receiver,
    password_check,
    payload_text,
    self_signed_certificate,
    smtp_server,
)
from trends_svc import alerts, notifications, store_alerts
from trends_svc.app import create_app

SECRET = "webhook-secret-0123456789"


@pytest.fixture
def receivers():
    with smtp_server() as (smtp_url, mailbox), http_receiver() as (base, receiver):
        yield smtp_url, mailbox, base, receiver


@pytest.fixture
def make_app(app_config):
    apps = []

    def build(**overrides):
        app = create_app({**app_config, "gateway_issuer": "https://cr.example", **overrides})
        app.extensions["notifications_clock"] = lambda: NOW + timedelta(days=1)
        apps.append(app)
        return app

    yield build
    for app in apps:
        app.extensions["db_pool"].close()


def raise_alerts(conn, feed, now=NOW):
    """Two engineers of emea-1 with a recurring knowledge gap (and so a frequent team issue),
    one engineer of apac-2 with one too: 4 alerts, 3 of them emea-1's."""
    feed(
        *[change(engineer=ENGINEERS[0], days_ago=d) for d in (1, 2, 3)],
        *[change(engineer=ENGINEERS[1], days_ago=d) for d in (1, 2, 3)],
        *[change(engineer=ENGINEERS[2], team="apac-2", days_ago=d) for d in (1, 2, 3)],
    )
    with conn.transaction():
        return alerts.reconcile(conn, now)


def every_kind(client, base, team="emea-1", **route):
    kinds = {
        "email": {"recipients": ["ops@cr.example", "lead@cr.example"]},
        "slack": {"url": f"{base}/slack/T000/B000/abcXYZ"},
        "teams": {"url": f"{base}/teams"},
        "webhook": {"url": f"{base}/hook", "secret": SECRET},
    }
    channels = {kind: create_channel(client, kind, kind, config) for kind, config in kinds.items()}
    for channel in channels.values():
        create_route(client, channel["id"], teams=[team], **route)
    return channels


def test_each_kind_gets_one_well_formed_message_per_route(make_app, conn, feed, receivers):
    smtp_url, mailbox, base, receiver = receivers
    app = make_app(smtp_url=smtp_url)
    every_kind(app.test_client(), base)
    assert raise_alerts(conn, feed)["opened"] == 4

    assert notifications.dispatch(conn, app, NOW)["messages"] == 4
    assert notifications.deliver(conn, app, NOW) == {
        "delivered": 4,
        "failed": 0,
        "dead": 0,
        "waiting": 0,
    }

    (mail,) = mailbox.messages
    assert sorted(mail["rcpt_tos"]) == ["lead@cr.example", "ops@cr.example"]
    message = mail["message"]
    assert message["Subject"] == "CR Assistant: 3 alerts (3 new)"
    assert message["To"] == "ops@cr.example, lead@cr.example"
    assert message.get_content_type() == "multipart/alternative"
    text, html = payload_text(message)
    assert ENGINEERS[0] in text and ENGINEERS[1] in text and ENGINEERS[2] not in text
    assert "<table" in html and ENGINEERS[0] in html
    assert "https://cr.example/dashboard/alerts" in text

    (slack,) = receiver.bodies("slack/T000/B000/abcXYZ")
    assert slack["text"] == "CR Assistant: 3 alerts (3 new)"
    assert [block["type"] for block in slack["blocks"]] == [
        "header",
        "section",
        "section",
        "section",
        "actions",
    ]
    assert all(b["text"]["type"] == "plain_text" for b in slack["blocks"][1:4])
    assert slack["blocks"][-1]["elements"][0]["url"] == "https://cr.example/dashboard/alerts"

    (teams,) = receiver.bodies("teams")
    assert teams["type"] == "message"
    (attachment,) = teams["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    assert len(card["body"]) == 4 and all(item["type"] == "TextBlock" for item in card["body"])
    assert card["actions"][0]["type"] == "Action.OpenUrl"

    (hook,) = receiver.calls["hook"]
    expected = "sha256=" + hmac.new(SECRET.encode(), hook["raw"], hashlib.sha256).hexdigest()
    assert hook["headers"]["X-Cr-Signature"] == expected
    body = json.loads(hook["raw"])
    assert body["event"] == "alerts"
    assert sorted(a["engineer_code"] or a["team"] for a in body["alerts"]) == sorted(
        [ENGINEERS[0], ENGINEERS[1], "emea-1"]
    )
    rows = conn.execute("SELECT status, attempts FROM notification_outbox").fetchall()
    assert rows == [{"status": "delivered", "attempts": 1}] * 4


def test_every_rendered_message_passes_the_pii_guard(make_app, conn, feed, receivers):
    smtp_url, _mailbox, base, _receiver = receivers
    app = make_app(smtp_url=smtp_url)
    every_kind(app.test_client(), base, send_resolved=True)
    raise_alerts(conn, feed)
    notifications.dispatch(conn, app, NOW)
    notifications.deliver(conn, app, NOW)
    with conn.transaction():
        alerts.reconcile(conn, NOW + timedelta(days=400))  # every alert resolves
    notifications.dispatch(conn, app, NOW + timedelta(days=400))
    messages = [row["message"] for row in conn.execute("SELECT message FROM notification_outbox")]
    assert len(messages) == 8  # opened and resolved, four channels
    for message in messages:
        assert scan_value(message, names=["Anna Berg"]) == []
    assert {m["subject"] for m in messages if "subject" in m} == {
        "CR Assistant: 3 alerts (3 new)",
        "CR Assistant: 3 alerts (3 resolved)",
    }


def test_channel_answers_are_masked_and_secrets_sealed(make_app, conn):
    app = make_app()
    client = app.test_client()
    url = "https://hooks.slack.com/services/T000/B000/abcdefXYZ"
    channel = create_channel(client, "team-slack", "slack", {"url": url})
    assert channel["config"] == {"url": "https://hooks…/…XYZ"}
    hook = create_channel(
        client, "hook", "webhook", {"url": "https://example.org/receive", "secret": SECRET}
    )
    assert hook["config"] == {"url": "https://examp…/…ive", "secret_set": True}
    listed = client.get("/api/v1/notifications/channels", headers=admin())
    assert url not in listed.get_data(as_text=True) and SECRET not in listed.get_data(as_text=True)
    stored = conn.execute(
        "SELECT sealed_config::text || masked_config::text AS t FROM notification_channels"
    ).fetchall()
    assert all(url not in row["t"] and SECRET not in row["t"] for row in stored)
    # PUT without the secret keeps it; with a new URL replaces the URL
    changed = client.put(
        f"/api/v1/notifications/channels/{hook['id']}",
        json={"name": "hook", "kind": "webhook", "config": {"url": "https://example.org/newABC"}},
        headers=admin(),
    )
    assert changed.status_code == 200
    assert changed.json["config"] == {"url": "https://examp…/…ABC", "secret_set": True}
    bad = client.post(
        "/api/v1/notifications/channels",
        json={"name": "x", "kind": "email", "config": {"recipients": ["not an address"]}},
        headers=admin(),
    )
    assert bad.status_code == 422
    assert bad.json["errors"] == [{"field": "config.recipients.0", "reason": "Not an address."}]
    assert "not an address" not in bad.get_data(as_text=True)


def test_the_test_message_reports_the_receivers_answer(make_app, receivers):
    smtp_url, mailbox, base, receiver = receivers
    app = make_app(smtp_url=smtp_url)
    client = app.test_client()
    teams = create_channel(client, "teams", "teams", {"url": f"{base}/teams"})
    mail = create_channel(client, "mail", "email", {"recipients": ["ops@cr.example"]})

    answer = client.post(f"/api/v1/notifications/channels/{teams['id']}/test", headers=admin())
    assert answer.json == {"delivered": True, "answer": "HTTP 200: ok"}
    receiver.status = 503
    answer = client.post(f"/api/v1/notifications/channels/{teams['id']}/test", headers=admin())
    assert answer.json == {"delivered": False, "answer": "HTTP 503: receiver down"}
    answer = client.post(f"/api/v1/notifications/channels/{mail['id']}/test", headers=admin())
    assert answer.json == {"delivered": True, "answer": "SMTP accepted 1 recipient(s)"}
    assert mailbox.messages[0]["message"]["Subject"] == "CR Assistant: test message"
    mailbox.down = True
    answer = client.post(f"/api/v1/notifications/channels/{mail['id']}/test", headers=admin())
    assert answer.json == {"delivered": False, "answer": "SMTP 451"}


def test_outages_are_retried_with_backoff_and_delivered_later(make_app, conn, feed, receivers):
    smtp_url, mailbox, base, receiver = receivers
    app = make_app(smtp_url=smtp_url, webhook_backoff_seconds=10, webhook_max_attempts=5)
    client = app.test_client()
    mail = create_channel(client, "mail", "email", {"recipients": ["ops@cr.example"]})
    slack = create_channel(client, "slack", "slack", {"url": f"{base}/slack"})
    create_route(client, mail["id"])
    create_route(client, slack["id"])
    raise_alerts(conn, feed)
    notifications.dispatch(conn, app, NOW)
    mailbox.down, receiver.status = True, 503

    moments = [NOW, NOW + timedelta(seconds=10), NOW + timedelta(seconds=30)]
    for moment in moments:
        assert notifications.deliver(conn, app, moment)["failed"] == 2
        assert notifications.deliver(conn, app, moment)["failed"] == 0  # not due again yet
    rows = conn.execute(
        "SELECT o.last_error, o.attempts, o.next_attempt_at, c.kind "
        "FROM notification_outbox o JOIN notification_channels c USING (channel_id) ORDER BY c.kind"
    ).fetchall()
    assert [(r["kind"], r["last_error"], r["attempts"]) for r in rows] == [
        ("email", "SMTP 451", 3),
        ("slack", "HTTP 503", 3),
    ]
    assert all(r["next_attempt_at"] == moments[-1] + timedelta(seconds=40) for r in rows)

    mailbox.down, receiver.status = False, 200
    later = moments[-1] + timedelta(seconds=40)
    assert notifications.deliver(conn, app, later)["delivered"] == 2
    assert len(mailbox.messages) == 1  # the server refused the three before
    assert len(receiver.bodies("slack")) == 4  # three refused, then accepted


def test_the_last_attempt_makes_a_dead_letter_that_can_be_retried(make_app, conn, feed, receivers):
    _smtp_url, _mailbox, base, receiver = receivers
    app = make_app(webhook_backoff_seconds=1, webhook_max_attempts=2)
    client = app.test_client()
    create_route(client, create_channel(client, "t", "teams", {"url": f"{base}/teams"})["id"])
    raise_alerts(conn, feed)
    notifications.dispatch(conn, app, NOW)
    receiver.status = 500
    assert notifications.deliver(conn, app, NOW)["failed"] == 1
    assert notifications.deliver(conn, app, NOW + timedelta(seconds=5))["dead"] == 1
    assert notifications.deliver(conn, app, NOW + timedelta(days=1)) == {
        "delivered": 0,
        "failed": 0,
        "dead": 0,
        "waiting": 0,
    }
    log = client.get("/api/v1/notifications/deliveries?status=dead", headers=admin())
    assert log.status_code == 200
    (item,) = log.json["items"]
    assert (item["status"], item["attempts"], item["last_error"]) == ("dead", 2, "HTTP 500")
    assert log.json["counts"] == {"pending": 0, "delivered": 0, "dead": 1}
    scraped = client.get("/metrics").get_data(as_text=True)
    assert 'cr_webhook_outbox_depth{state="channels_dead"} 1.0' in scraped
    retried = client.post(f"/api/v1/notifications/deliveries/{item['id']}/retry", headers=admin())
    assert retried.status_code == 204
    receiver.status = 200
    assert notifications.deliver(conn, app, NOW + timedelta(days=1))["delivered"] == 1


def test_without_smtp_url_e_mails_wait_without_using_attempts(make_app, conn, feed):
    app = make_app(smtp_url="")
    client = app.test_client()
    mail = create_channel(client, "mail", "email", {"recipients": ["ops@cr.example"]})
    create_route(client, mail["id"])
    raise_alerts(conn, feed)
    notifications.dispatch(conn, app, NOW)
    assert notifications.deliver(conn, app, NOW)["waiting"] == 1
    row = conn.execute("SELECT status, attempts, last_error FROM notification_outbox").fetchone()
    assert row == {"status": "pending", "attempts": 0, "last_error": "SMTP_URL is not set"}


def test_an_erasure_takes_the_messages_that_named_the_engineer(make_app, conn, feed, receivers):
    _smtp_url, _mailbox, base, _receiver = receivers
    app = make_app()
    client = app.test_client()
    create_route(client, create_channel(client, "t", "teams", {"url": f"{base}/teams"})["id"])
    create_route(
        client,
        create_channel(client, "h", "webhook", {"url": f"{base}/hook"})["id"],
        teams=["apac-2"],
    )
    raise_alerts(conn, feed)
    notifications.dispatch(conn, app, NOW)
    notifications.deliver(conn, app, NOW)
    assert conn.execute("SELECT count(*) AS n FROM notification_outbox").fetchone()["n"] == 2
    with conn.transaction():
        store_alerts.delete_engineer(conn, ENGINEERS[2])  # named in both messages
    assert conn.execute("SELECT count(*) AS n FROM notification_outbox").fetchone()["n"] == 0
    assert conn.execute("SELECT count(*) AS n FROM notification_outbox_alerts").fetchone()["n"] == 0


# aiosmtpd warns about AUTH without TLS: this test's server has no certificate, the mailer's TLS
# is Python's ssl module with the default context.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
@pytest.mark.parametrize(("password", "answer"), [("s3cret%2Fpw", None), ("wrong", "SMTP 535")])
def test_e_mail_logs_in_with_the_credentials_of_smtp_url(make_app, password, answer):
    with smtp_server(password_check(b"alerts", b"s3cret/pw")) as (smtp_url, mailbox):
        url = smtp_url.replace("smtp://", f"smtp://alerts:{password}@")
        app = make_app(smtp_url=url)
        client = app.test_client()
        mail = create_channel(client, "mail", "email", {"recipients": ["ops@cr.example"]})
        result = client.post(f"/api/v1/notifications/channels/{mail['id']}/test", headers=admin())
    if answer is None:
        assert result.json == {"delivered": True, "answer": "SMTP accepted 1 recipient(s)"}
        assert len(mailbox.messages) == 1
    else:
        assert result.json["delivered"] is False and mailbox.messages == []
        # 535 to the first mechanism smtplib tries; aiosmtpd may hang up before the last
        assert result.json["answer"] in (answer, "SMTPServerDisconnected")


@pytest.mark.parametrize(
    ("query", "answer"),
    [
        ("starttls=1&cafile={cert}", "SMTP accepted 1 recipient(s)"),
        ("starttls=1", "SSLCertVerificationError"),  # an unknown CA is refused
        ("", "SMTP 530"),  # the server requires STARTTLS first
    ],
)
def test_e_mail_goes_over_starttls_to_a_server_that_requires_it(make_app, tmp_path, query, answer):
    cert, key = self_signed_certificate(tmp_path)
    with smtp_server(tls=(cert, key)) as (smtp_url, mailbox):
        app = make_app(smtp_url=f"{smtp_url}&{query.format(cert=cert)}".rstrip("&"))
        client = app.test_client()
        mail = create_channel(client, "mail", "email", {"recipients": ["ops@cr.example"]})
        result = client.post(f"/api/v1/notifications/channels/{mail['id']}/test", headers=admin())
    assert result.json["answer"] == answer
    assert len(mailbox.messages) == (1 if result.json["delivered"] else 0)
