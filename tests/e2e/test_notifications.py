"""Notifications through real processes: an admin connects a Slack channel (a local receiver)
and routes a team's alerts to it through the gateway; new data makes the worker raise an alert
and its notification thread deliver it; a manager silences and expires; the audit trail has the
changes; in the browser the admin sees the channel and delivery log and a manager silences on
the Alerts page."""

import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask, request

from shared.config import PROJECT_ROOT
from tests.common.browser import save_screenshot
from tests.common.servers import serve

TEAM = "emea-26"
NOW = datetime.now(UTC)


def session(name: str, days_ago: int) -> dict:
    ended = NOW - timedelta(days=days_ago, hours=1)
    return {
        "session_id": str(uuid.uuid4()),
        "engineer": name,
        "case_number": "12345678",
        "team": TEAM,
        "region": "EMEA",
        "record_type": "single",
        "parts": 1,
        "languages": ["EN"],
        "sentiment_score": 0.4,
        "root_cause": "knowledge_gap",
        "confidence_analysis": 0.8,
        "confidence_translation": 0.7,
        "started_at": (ended - timedelta(minutes=20)).isoformat(),
        "ended_at": ended.isoformat(),
        "agent_version": "3.7.0",
    }


def wait_until(condition, timeout=60.0, step=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    raise AssertionError("the condition was not met in time")


@pytest.fixture(scope="module")
def slack_receiver():
    received = []
    app = Flask("slack")

    @app.post("/services/T26/B26/secretXYZ")
    def hook():
        received.append(request.get_json())
        return "ok"

    with serve(app) as base:
        yield f"{base}/services/T26/B26/secretXYZ", received


@pytest.fixture(scope="module")
def routed(platform, admin, agent, slack_receiver):
    url, received = slack_receiver
    channel = admin.request(
        "POST",
        "/api/v1/notifications/channels",
        json={"name": f"slack-{uuid.uuid4().hex[:6]}", "kind": "slack", "config": {"url": url}},
    )
    assert channel.status_code == 201, channel.text
    route = admin.request(
        "POST",
        "/api/v1/notifications/routes",
        json={"channel_id": channel.json()["id"], "teams": [TEAM], "group_interval_seconds": 0},
    )
    assert route.status_code == 201, route.text
    stored = agent.request(
        "POST",
        "/api/v1/sessions/batch",
        json={"items": [session("Nora Notifier", d) for d in (1, 2, 3)]},
    )
    assert stored.status_code == 200, stored.text
    code = admin.request(
        "POST", "/api/v1/engineers/lookup", json={"engineer": "Nora Notifier"}
    ).json()["engineer_code"]
    return channel.json(), code, received


def test_an_alert_reaches_slack_through_the_worker(admin, routed):
    channel, code, received = routed
    assert channel["config"]["url"].endswith("…/…XYZ") and "secret" not in channel["config"]["url"]

    def evaluated_and_sent():
        admin.request("POST", "/api/v1/trends/evaluate")
        return [body for body in received if code in str(body)]

    (message, *_) = wait_until(evaluated_and_sent, timeout=90, step=1.0)
    assert message["blocks"][0]["type"] == "header"
    assert any(code in block.get("text", {}).get("text", "") for block in message["blocks"])
    assert "Nora" not in str(message)
    log = wait_until(
        lambda: [
            item
            for item in admin.request("GET", "/api/v1/notifications/deliveries").json()["items"]
            if item["channel_id"] == channel["id"] and item["status"] == "delivered"
        ]
    )
    assert log[0]["attempts"] == 1 and log[0]["last_error"] is None


def test_a_manager_silences_their_team_and_the_changes_are_audited(make_caller, admin, routed):
    _channel, code, _received = routed
    manager = make_caller("manager", teams=(TEAM,))
    created = manager.request(
        "POST",
        "/api/v1/notifications/silences",
        json={
            "matchers": {"team": TEAM, "engineer_code": code},
            "ends_at": (datetime.now(UTC) + timedelta(hours=2)).isoformat(),
            "reason": "coaching planned",
        },
    )
    assert created.status_code == 201, created.text
    alerts = admin.request("GET", f"/api/v1/alerts?engineer_code={code}").json()["items"]
    assert alerts and all(alert["silenced"] for alert in alerts)
    other = make_caller("manager", teams=("apac-26",))
    assert (
        other.request(
            "DELETE", f"/api/v1/notifications/silences/{created.json()['id']}"
        ).status_code
        == 404
    )
    assert manager.request("GET", "/api/v1/notifications/channels").status_code == 403
    expired = manager.request("DELETE", f"/api/v1/notifications/silences/{created.json()['id']}")
    assert expired.status_code == 200 and expired.json()["active"] is False
    actions = {
        event["action"] for event in admin.request("GET", "/api/v1/audit?limit=200").json()["items"]
    }
    assert {"notifications.create", "notifications.delete"} <= actions


def sign_in(page, base_url, email):
    page.goto(f"{base_url}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", "demo")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/dashboard/**")


@pytest.fixture(scope="module")
def demo_users(platform):
    flask = [sys.executable, "-m", "flask", "--app", "gateway", "seed-demo"]
    subprocess.run(
        flask, cwd=PROJECT_ROOT, env=platform.env, check=True, capture_output=True, timeout=60
    )


def test_admin_sees_channels_and_the_delivery_log(platform, new_page, demo_users, routed):
    channel, _code, _received = routed
    page = new_page()
    sign_in(page, platform.gateway, "admin@demo.local")
    page.goto(f"{platform.gateway}/dashboard/notifications")
    page.wait_for_selector(f"#notification-channel-grid >> text={channel['name']}")
    page.wait_for_selector("#notification-delivery-grid >> text=delivered")
    assert "secretXYZ" not in page.content()
    save_screenshot(page, "dashboard-notifications")


def test_a_manager_silences_on_the_alerts_page(platform, new_page, demo_users):
    page = new_page()
    sign_in(page, platform.gateway, "manager@demo.local")
    page.goto(f"{platform.gateway}/dashboard/alerts")
    page.wait_for_selector("#silences")
    page.select_option("#silence-rule", "recurring_issue")
    page.fill("#silence-reason", "e2e silence")
    page.click("#silence-create")
    page.wait_for_selector("#silence-grid >> text=e2e silence")
    assert "team emea-1, rule recurring_issue" in page.inner_text("#silence-grid")
    save_screenshot(page, "dashboard-silences")
    page.locator("#silence-grid .ag-row input[type=checkbox]").first.check()
    page.click("#silence-expire")
    page.wait_for_selector("#silence-message >> text=Expired 1 silence(s).")
    page.wait_for_function(
        "() => !document.querySelector('#silence-grid').innerText.includes('e2e silence')"
    )


def test_a_manager_subscribes_their_address_on_the_notifications_page(
    platform, new_page, demo_users
):
    page = new_page()
    sign_in(page, platform.gateway, "manager@demo.local")
    page.goto(f"{platform.gateway}/dashboard/notifications")
    page.fill("#subscription-email", "me.myself@example.test")
    page.click("#subscription-create")
    page.wait_for_selector("#subscription-grid >> text=awaiting the code sent to the address")
    grid_text = page.inner_text("#subscription-grid")
    assert "m…@example.test" in grid_text and "emea-1" in grid_text
    assert "me.myself" not in page.content()  # the address is shown masked only
    page.locator("#subscription-grid .ag-row input[type=checkbox]").first.check()
    page.fill("#subscription-code", "wrongcode")
    page.click("#subscription-confirm")
    page.wait_for_selector("#subscription-note >> text=Not the code that was sent.")
    save_screenshot(page, "dashboard-subscriptions")
    page.click("#subscription-delete")
    page.wait_for_selector("#subscription-note >> text=Subscription deleted.")
    page.wait_for_function(
        "() => !document.querySelector('#subscription-grid').innerText.includes('example.test')"
    )
