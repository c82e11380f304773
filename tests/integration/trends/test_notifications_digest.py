"""The weekly digest: sent at DIGEST_WEEKDAY/DIGEST_HOUR in DIGEST_TIMEZONE (a controllable clock),
once per period even when several workers look at the same moment, with the teams' KPIs
against the week before, new and still-open alerts and a dashboard link."""

import threading
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg.rows import dict_row

from shared.config import ConfigError
from shared.pii import scan_value
from tests.integration.trends.conftest import NOW, change
from tests.integration.trends.notification_receivers import (
    ENGINEERS,
    admin,
    create_channel,
    create_route,
    smtp_server,
)
from trends_svc import alerts, notifications
from trends_svc.app import create_app
from trends_svc.notifications.digest import latest_slot

# NOW is Tuesday 2026-06-30 12:00 UTC; Monday 08:00 in Berlin (CEST) is 06:00 UTC.
SLOT = datetime(2026, 6, 29, 6, 0, tzinfo=UTC)
CREATED = datetime(2026, 6, 24, 10, 0, tzinfo=UTC)  # a Wednesday before the slot


@pytest.fixture
def digest_app(app_config):
    with smtp_server() as (smtp_url, mailbox):
        app = create_app(
            {
                **app_config,
                "smtp_url": smtp_url,
                "gateway_issuer": "https://cr.example",
                "digest_weekday": 0,
                "digest_hour": 8,
                "digest_timezone": "Europe/Berlin",
            }
        )
        app.extensions["notifications_clock"] = lambda: CREATED
        yield app, mailbox
        app.extensions["db_pool"].close()


def test_latest_slot_follows_the_zone_and_its_daylight_saving():
    assert latest_slot(SLOT, 0, 8, "Europe/Berlin") == SLOT
    assert latest_slot(SLOT - timedelta(seconds=1), 0, 8, "Europe/Berlin") == SLOT - timedelta(
        days=7
    )
    winter = datetime(2026, 12, 7, 7, 0, tzinfo=UTC)  # Monday 08:00 CET
    assert latest_slot(winter, 0, 8, "Europe/Berlin") == winter
    assert latest_slot(winter, 6, 23, "UTC") == datetime(2026, 12, 6, 23, 0, tzinfo=UTC)


def test_the_digest_goes_at_its_hour_once_per_period(digest_app, conn, feed, database_url):
    app, mailbox = digest_app
    client = app.test_client()
    channel = create_channel(client, "mail", "email", {"recipients": ["lead@cr.example"]})
    create_route(client, channel["id"], teams=["emea-1"], digest=True, send_resolved=False)
    feed(
        *[change(engineer=ENGINEERS[0], days_ago=d, sentiment=0.6) for d in (2, 3, 4)],
        *[change(engineer=ENGINEERS[1], days_ago=d, sentiment=0.4) for d in (9, 10)],
        *[change(engineer=ENGINEERS[2], team="apac-2", days_ago=d) for d in (2, 3, 4)],
    )
    with conn.transaction():
        alerts.reconcile(conn, NOW)

    assert notifications.dispatch(conn, app, SLOT - timedelta(days=1))["digests"] == 0
    assert notifications.dispatch(conn, app, SLOT - timedelta(seconds=1))["digests"] == 0

    # Two workers at the slot at once: one digest.
    results = []
    barrier = threading.Barrier(2)

    def worker():
        with psycopg.connect(
            database_url, row_factory=dict_row, options="-c search_path=trends"
        ) as own:
            barrier.wait()
            with app.app_context():
                results.append(notifications.dispatch(own, app, SLOT)["digests"])

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(results) == [0, 1]
    assert notifications.dispatch(conn, app, SLOT + timedelta(hours=30))["digests"] == 0

    notifications.deliver(conn, app, SLOT + timedelta(minutes=1))
    (mail,) = [m for m in mailbox.messages if "digest" in m["message"]["Subject"]]
    assert mail["rcpt_tos"] == ["lead@cr.example"]
    assert mail["message"]["Subject"] == "CR Assistant weekly digest, 2026-06-22 – 2026-06-29"
    text = mail["message"].get_body(("plain",)).get_content()
    assert (
        "Team emea-1: 3 (+1) sessions, sentiment 0.60 (+0.20), confidence 0.80 (+0.00), "
        "top root cause knowledge_gap" in text
    )
    assert "apac-2" not in text and ENGINEERS[2] not in text
    assert ENGINEERS[0] in text  # its recurring issue is open
    assert "https://cr.example/dashboard/" in text
    html = mail["message"].get_body(("html",)).get_content()
    assert "<table" in html
    for row in conn.execute("SELECT message FROM notification_outbox"):  # digest, alerts
        assert scan_value(row["message"]) == []

    next_week = SLOT + timedelta(days=7)
    assert notifications.dispatch(conn, app, next_week)["digests"] == 1
    keys = conn.execute(
        "SELECT period_start::text AS period FROM notification_digests ORDER BY 1"
    ).fetchall()
    assert [k["period"] for k in keys] == ["2026-06-29", "2026-07-06"]


def test_a_route_created_after_the_slot_waits_for_the_next(digest_app, conn):
    app, _mailbox = digest_app
    app.extensions["notifications_clock"] = lambda: SLOT + timedelta(hours=1)
    client = app.test_client()
    channel = create_channel(client, "mail", "email", {"recipients": ["lead@cr.example"]})
    create_route(client, channel["id"], digest=True)
    assert notifications.dispatch(conn, app, SLOT + timedelta(hours=2))["digests"] == 0
    assert notifications.dispatch(conn, app, SLOT + timedelta(days=7))["digests"] == 1
    listed = client.get("/api/v1/notifications/deliveries", headers=admin()).json["items"]
    assert [(d["purpose"], d["subject"]) for d in listed] == [
        ("digest", "CR Assistant weekly digest, 2026-06-29 – 2026-07-06")
    ]


@pytest.mark.parametrize(
    "setting",
    [{"digest_timezone": "Europe/Berlln"}, {"digest_weekday": 7}, {"digest_hour": 24}],
)
def test_a_digest_schedule_that_cannot_be_stops_the_service_at_start(app_config, setting):
    with pytest.raises(ConfigError, match="DIGEST_"):
        create_app({**app_config, **setting})
