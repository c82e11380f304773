"""Every process exposes its Prometheus series (requests, pool, import rows, the trends feed,
alerts, the webhook outbox), and the logs are JSON lines with request ids and no personal data."""

import json
import time
import uuid

import requests

from devstack.postgres import free_port

CANARY = "Quentin Canarywood"


def scrape(url: str) -> str:
    response = requests.get(f"{url}/metrics", timeout=10)
    assert response.status_code == 200
    return response.text


def value(text: str, series: str) -> float:
    """The sum of a series' samples whose line starts with `series` (name plus labels)."""
    return sum(
        float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(series)
    )


def test_every_process_exposes_its_series(platform, agent, admin):
    port = free_port()
    platform.stop("trends-worker")
    platform.start("trends-worker", {"TRENDS_WORKER_METRICS_PORT": str(port)})
    session = {
        "engineer": CANARY,
        "case_number": "87654321",
        "team": "obs-1",
        "record_type": "single",
        "languages": ["EN"],
        "sentiment_score": 0.5,
        "root_cause": "other",
        "confidence_analysis": 0.8,
    }
    assert agent.request("POST", "/api/v1/sessions", json=session).status_code == 201
    csv = "engineer,case_number,team,record_type,languages,sentiment_score,root_cause,confidence_analysis\n"
    csv += f"{CANARY},11223344,obs-1,Single,EN,0.4,other,0.9\n"
    imported = admin.request(
        "POST", "/api/v1/imports", data=csv.encode(), headers={"Content-Type": "text/csv"}
    )
    assert imported.status_code == 200, imported.text
    for name, url in platform.urls.items():  # the gateway's /metrics is open to loopback only
        lines = [
            line for line in scrape(url).splitlines() if line.startswith("cr_http_requests_total{")
        ]
        assert any(f'service="{name}"' in line for line in lines), name
    persistence = scrape(platform.urls["persistence"])
    assert value(persistence, 'cr_import_rows_total{dry_run="false",outcome="inserted"}') >= 1
    assert 'cr_db_pool_connections{service="persistence",state="size"}' in persistence
    trends = scrape(platform.urls["trends"])
    for state in ("open", "acknowledged", "resolved"):
        assert f'cr_alerts{{state="{state}"}}' in trends
    assert 'cr_webhook_outbox_depth{state="pending"}' in trends
    deadline = time.monotonic() + 20
    worker = f"http://127.0.0.1:{port}"
    while time.monotonic() < deadline:
        try:
            text = requests.get(worker, timeout=2).text
        except requests.ConnectionError:
            time.sleep(0.2)
            continue
        if value(text, "cr_trends_feed_changes_applied_total") >= 2:
            break
        time.sleep(0.2)
    else:
        raise AssertionError("the worker's metrics never counted the applied changes")
    caught_up = value(text, "cr_trends_feed_caught_up_timestamp_seconds")
    assert time.time() - caught_up < 30


def test_logs_are_json_lines_with_request_ids_and_no_personal_data(platform, agent):
    request_id = uuid.uuid4().hex
    response = agent.request(
        "POST",
        "/api/v1/sessions",
        json={"engineer": CANARY, "case_number": "not-a-number", "team": "obs-1"},
        headers={"X-Request-ID": request_id},
    )
    assert response.status_code == 422
    assert CANARY not in response.text
    time.sleep(0.5)
    logs = platform.logs()
    assert CANARY not in logs and "87654321" not in logs and "11223344" not in logs
    access = []
    for line in logs.splitlines():
        if line.startswith("{"):
            entry = json.loads(line)
            if entry.get("name") == "cr.access":
                access.append(entry)
    assert access
    for entry in access:
        assert {"request_id", "service", "route", "status", "duration_ms"} <= set(entry), entry
    answered = [entry for entry in access if entry["status"] == 422]
    by_service = {}
    for entry in answered:
        by_service.setdefault(entry["service"], set()).add(entry["request_id"])
    shared_ids = by_service.get("gateway", set()) & by_service.get("persistence", set())
    assert shared_ids, "the gateway's request id travels to the service and into its log"
