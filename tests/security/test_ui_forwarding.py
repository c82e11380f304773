"""Issue #21 finding 8, on real processes: the gateway's UI forwarders (`/qa/…`, `/dashboard/…`)
forward only below their own prefix. A signed-in QA lead's browser posting to
`/qa/../api/v1/qa/reviews/{id}` (or any encoded form of it) is refused at the gateway and never
reaches the QA API around the gateway's role table, rate limit and audit; the UI pages still work.

The requests go out with `http.client`, which sends the path exactly as written (`requests`
would resolve the dot segments before sending, as a browser's address bar does; a script's
`fetch` need not)."""

import http.client
import json
import re
import subprocess
import sys
import uuid
from urllib.parse import urlsplit

import pytest
import requests

from shared.config import PROJECT_ROOT

FLASK = [sys.executable, "-m", "flask", "--app", "gateway"]
EMAIL, PASSWORD = "ui-forwarding-lead@example.test", "ui-forwarding-password-1"
TRAVERSALS = [
    "/qa/../api/v1/qa/reviews/{id}",
    "/qa/%2e%2e/api/v1/qa/reviews/{id}",
    "/qa/%2E%2E/api/v1/qa/reviews/{id}",
    "/qa/.%2e/api/v1/qa/reviews/{id}",
    "/qa/..%2fapi/v1/qa/reviews/{id}",
    "/qa/..%2Fapi%2Fv1%2Fqa%2Freviews%2F{id}",
    "/qa/..%5capi/v1/qa/reviews/{id}",
    "/qa/..\\api/v1/qa/reviews/{id}",
    "/qa/%252e%252e/api/v1/qa/reviews/{id}",
    "/qa/./../api/v1/qa/reviews/{id}",
    "/qa//../api/v1/qa/reviews/{id}",
    "/qa/sessions/../../api/v1/qa/reviews/{id}",
    "/dashboard/../api/v1/qa/reviews/{id}",
    "/dashboard/%2e%2e/qa/../api/v1/qa/reviews/{id}",
]


@pytest.fixture(scope="module")
def qa_lead_browser(platform):
    """A QA lead signed in through /login and the UI's authorization-code flow: the browser
    session cookie is all it holds."""
    subprocess.run(
        [*FLASK, "create-user", EMAIL, "--role", "qa_lead", "--password-stdin"],
        input=PASSWORD,
        cwd=PROJECT_ROOT,
        env=platform.env,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    browser = requests.Session()
    page = browser.get(f"{platform.gateway}/login", timeout=10)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    landed = browser.post(
        f"{platform.gateway}/login",
        data={"email": EMAIL, "password": PASSWORD, "next": "/qa/", "csrf_token": csrf},
        timeout=30,
    )
    assert landed.status_code == 200 and landed.url == f"{platform.gateway}/qa/", landed.url
    return browser


@pytest.fixture
def session_in_queue(agent):
    """A session of the validation log, pending review (one per test: an attack that got through
    must not hide the next one)."""
    session_id = str(uuid.uuid4())
    response = agent.request(
        "POST",
        "/api/v1/validation/check",
        json={"session_id": session_id, "field": "case_number", "value": "1234"},
    )
    assert response.status_code == 200, response.text
    return session_id


def raw_post(base_url: str, path: str, cookies: str, body: dict) -> tuple[int, bytes]:
    """POST `path` byte for byte as written, as the browser's own page would (same origin)."""
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.request(
            "POST",
            path,
            body=json.dumps(body).encode(),
            headers={
                "Cookie": cookies,
                "Content-Type": "application/json",
                "Sec-Fetch-Site": "same-origin",
                "Origin": base_url,
            },
        )
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def review_of(admin, session_id: str) -> str:
    queue = admin.request("GET", "/api/v1/qa/reviews", params={"limit": 200}).json()["items"]
    return next(item["status"] for item in queue if item["session_id"] == session_id)


@pytest.mark.parametrize("template", TRAVERSALS)
def test_a_path_leaving_the_ui_prefix_is_refused_and_reaches_no_service(
    platform, qa_lead_browser, session_in_queue, admin, template
):
    cookies = "; ".join(f"{name}={value}" for name, value in qa_lead_browser.cookies.items())
    status, body = raw_post(
        platform.gateway,
        template.format(id=session_in_queue),
        cookies,
        {"status": "reviewed", "notes": "decided around the gateway"},
    )
    assert status in (400, 404), (status, body[:200])
    assert b"decided around the gateway" not in body
    assert review_of(admin, session_in_queue) == "pending", "the QA API was reached"


def test_the_qa_ui_and_the_dashboard_still_open_for_the_signed_in_lead(
    platform, qa_lead_browser, session_in_queue
):
    queue = qa_lead_browser.get(f"{platform.gateway}/qa/", timeout=30)
    assert queue.status_code == 200 and "text/html" in queue.headers["Content-Type"]
    detail = qa_lead_browser.get(f"{platform.gateway}/qa/sessions/{session_in_queue}", timeout=30)
    assert detail.status_code == 200
    dashboard = qa_lead_browser.get(f"{platform.gateway}/dashboard/", timeout=30)
    assert dashboard.status_code == 200
    layout = qa_lead_browser.get(f"{platform.gateway}/dashboard/_dash-layout", timeout=30)
    assert layout.status_code == 200 and layout.headers["Content-Type"].startswith(
        "application/json"
    )


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/qa/../sessions",
        "/api/v1/qa/%2e%2e/sessions",
        "/api/v1/validation/..%2fsessions",
        "/api/v1/qa//reviews",
        "/api/v1/qa/reviews\\x",
    ],
)
def test_the_api_proxy_refuses_dot_and_empty_segments_too(platform, admin, path):
    parts = urlsplit(platform.gateway)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.request(
            "GET", path, headers={"Authorization": admin.session.headers["Authorization"]}
        )
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    assert response.status == 400, (response.status, body[:200])
    assert json.loads(body)["errors"][0]["field"] == "path"
