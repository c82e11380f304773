"""The dashboard's Overview at scale: the API calls behind it (through the gateway, as a manager)
and the Overview callback on the Dash endpoint. Called by bench/run.py (`--only dashboard`)."""

from __future__ import annotations

import json

import requests

from bench.trends import generate, timed
from dashboard_svc import filters as dashboard_filters
from shared.tokens import Principal, sign_internal_token

TEAM = "team-7"


def overview_callback(dashboard_url: str, headers: dict) -> dict:
    """The Overview page's data callback as Dash's renderer posts it (from /_dash-dependencies)."""
    dependencies = requests.get(
        f"{dashboard_url}/dashboard/_dash-dependencies", headers=headers, timeout=30
    ).json()
    return next(d for d in dependencies if "weekly-chart.figure" in d["output"])


def bench_dashboard(
    db_url: str, running, manager_token: str, gateway_key, rows: int, calls: int
) -> dict:
    generate(db_url, rows)
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {manager_token}"
    chosen = dashboard_filters.with_range({"preset": "180d", "team": TEAM})
    earlier = dashboard_filters.previous_period(chosen)
    params = lambda f: {"team": TEAM, "from": f["from"], "to": f["to"]}  # noqa: E731
    gateway = running.gateway
    figures = {
        "weekly": timed(
            lambda i: api.get(
                f"{gateway}/api/v1/trends/weekly", params=params(chosen), timeout=30
            ).raise_for_status(),
            calls,
        ),
        "weekly_previous": timed(
            lambda i: api.get(
                f"{gateway}/api/v1/trends/weekly", params=params(earlier), timeout=30
            ).raise_for_status(),
            calls,
        ),
        "alerts": timed(
            lambda i: api.get(
                f"{gateway}/api/v1/alerts", params={"team": TEAM, "limit": 500}, timeout=30
            ).raise_for_status(),
            calls,
        ),
    }
    internal = sign_internal_token(
        Principal("bench-manager", frozenset({"manager"}), frozenset({TEAM}), kind="client"),
        gateway_key,
        audience="dashboard",
        ttl=3600,
    )
    headers = {"Authorization": f"Bearer {internal}", "X-Forwarded-Access-Token": manager_token}
    dashboard = running.urls["dashboard"]
    spec = overview_callback(dashboard, headers)
    body = json.dumps(
        {
            "output": spec["output"],
            "outputs": [
                {"id": output.split(".")[0], "property": output.split(".")[1]}
                for output in spec["output"].strip(".").split("...")
            ],
            "inputs": [{"id": "filters", "property": "data", "value": chosen}],
            "changedPropIds": ["filters.data"],
            "state": [],
        }
    )
    post_headers = {**headers, "Content-Type": "application/json"}

    def callback(_i):
        response = requests.post(
            f"{dashboard}/dashboard/_dash-update-component",
            data=body,
            headers=post_headers,
            timeout=30,
        )
        response.raise_for_status()
        assert "kpi-sessions" in response.text

    figures["overview_callback"] = timed(callback, calls)
    figures["rows"] = rows
    return figures


def dashboard_report(figures: dict, meta: dict) -> str:
    rows = [
        ("GET /trends/weekly, one team, 6 months (through the gateway)", figures["weekly"]),
        ("GET /trends/weekly, the 6 months before", figures["weekly_previous"]),
        ("GET /alerts, one team", figures["alerts"]),
        (
            "Overview callback (POST /dashboard/_dash-update-component)",
            figures["overview_callback"],
        ),
    ]
    lines = [
        f"## Dashboard Overview at {figures['rows']:,} sessions",
        "",
        f"Measured {meta['date']} on {meta['machine']}: {figures['rows']:,} projected sessions of "
        "5,000 engineers in 100 teams over two years; a manager of one team, the default filters "
        "(last 6 months). Times are taken on loopback, so they are the server's time plus well "
        "under a millisecond.",
        "",
        "| call | p50 (ms) | p95 (ms) |",
        "|---|---|---|",
        *[f"| {name} | {value['p50']:.1f} | {value['p95']:.1f} |" for name, value in rows],
        "",
        "Targets at 5M sessions: each API call behind Overview p95 ≤ 50 ms; the Overview callback "
        "p95 ≤ 300 ms.",
    ]
    return "\n".join(lines)
