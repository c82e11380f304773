"""The dashboard's Overview at scale: the API calls behind it (through the gateway, as a manager,
the baseline) and the Dash callbacks of a first load and of every kind of filter change (the
filter bar's callback, then the Overview's), each with the CPU time it costs the platform's
processes (steadier than wall time on a shared machine). Called by bench/run.py (`--only
dashboard`)."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import requests

from bench.imports import cpu_seconds, postgres_pid
from bench.trends import generate, timed
from dashboard_svc import filters as dashboard_filters
from shared.tokens import Principal, sign_internal_token

TEAM = "team-7"
# The processes a filter change reaches, whose CPU time per callback is reported.
PROCESSES = ("dashboard", "gateway", "trends")
# (name, the control that changes, its new value): one of each filter the bar offers. The root
# cause is the one the generated data give TEAM's sessions (bench.trends.generate), so that the
# filtered answer is not empty.
FILTER_CHANGES = (
    ("period: last 30 days", "filter-preset.value", "30d"),
    ("period: this quarter", "filter-preset.value", "this_quarter"),
    ("team", "filter-team.value", TEAM),
    ("region", "filter-region.value", "EMEA"),
    ("language", "filter-language.value", "DE"),
    ("root cause", "filter-root-cause.value", "analytical_error"),
)
CONTROL_KEYS = {
    "filter-preset.value": "preset",
    "filter-team.value": "team",
    "filter-region.value": "region",
    "filter-language.value": "language",
    "filter-root-cause.value": "root_cause",
}


def callback_spec(dashboard_url: str, headers: dict, output: str) -> dict:
    """A callback as Dash's renderer knows it (from /_dash-dependencies), by one of its outputs."""
    dependencies = requests.get(
        f"{dashboard_url}/dashboard/_dash-dependencies", headers=headers, timeout=30
    ).json()
    return next(d for d in dependencies if output in d["output"].strip(".").split("..."))


def callback_body(spec: dict, values: dict, changed: list[str]) -> str:
    """The body the renderer posts for `spec` with these property values."""

    def props(items):
        return [{**item, "value": values.get(f"{item['id']}.{item['property']}")} for item in items]

    outputs = [
        {"id": name.rsplit(".", 1)[0], "property": name.rsplit(".", 1)[1]}
        for name in spec["output"].strip(".").split("...")
    ]
    return json.dumps(
        {
            "output": spec["output"],
            "outputs": outputs if len(outputs) > 1 else outputs[0],
            "inputs": props(spec["inputs"]),
            "changedPropIds": changed,
            "state": props(spec["state"]),
        }
    )


def control_values(chosen: dict) -> dict:
    """The filter bar's control values showing these filters."""
    return {
        "filter-preset.value": chosen["preset"],
        "filter-dates.start_date": chosen["start"],
        "filter-dates.end_date": chosen["end"],
        "filter-team.value": chosen.get("team"),
        "filter-region.value": chosen.get("region"),
        "filter-language.value": chosen.get("language"),
        "filter-root-cause.value": chosen.get("root_cause"),
    }


def platform_pids(db_url: str, running) -> dict[str, int]:
    """The pids of the processes a filter change reaches: the services and PostgreSQL's
    postmaster (whose descendants are the backends)."""
    with psycopg.connect(db_url) as conn:
        data_directory = conn.execute("SHOW data_directory").fetchone()[0]
    pids = {name: running.children[name].pid for name in PROCESSES}
    return {**pids, "postgres": postgres_pid(Path(data_directory))}


def timed_with_cpu(call, count: int, pids: dict[str, int]) -> dict:
    """`timed`'s p50/p95 and `cpu_ms`: each process's CPU milliseconds per call."""
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    figures = timed(call, count)
    figures["cpu_ms"] = {
        name: (cpu_seconds(pid) - before[name]) * 1000 / count for name, pid in pids.items()
    }
    return figures


def bench_dashboard(
    db_url: str, running, manager_token: str, gateway_key, rows: int, calls: int
) -> dict:
    generate(db_url, rows)
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {manager_token}"
    chosen = dashboard_filters.from_query("", [TEAM])
    earlier = dashboard_filters.previous_period(chosen)
    params = lambda f: {"from": f["from"], "to": f["to"]}  # noqa: E731
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
        "weekly_language": timed(
            lambda i: api.get(
                f"{gateway}/api/v1/trends/weekly",
                params={**params(chosen), "language": "DE"},
                timeout=30,
            ).raise_for_status(),
            calls,
        ),
        "causes_both": timed(
            lambda i: api.get(
                f"{gateway}/api/v1/trends/root-causes",
                params={"from": earlier["from"], "to": chosen["to"]},
                timeout=30,
            ).raise_for_status(),
            calls,
        ),
        "alerts": timed(
            lambda i: api.get(
                f"{gateway}/api/v1/alerts", params={"status": "open", "limit": 500}, timeout=30
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
    headers = {
        "Authorization": f"Bearer {internal}",
        "X-Forwarded-Access-Token": manager_token,
        "Content-Type": "application/json",
    }
    dashboard = running.urls["dashboard"]
    session = requests.Session()
    sync = callback_spec(dashboard, headers, "filters.data")
    overview = callback_spec(dashboard, headers, "weekly-chart.figure")

    def post(body: str) -> dict:
        response = session.post(
            f"{dashboard}/dashboard/_dash-update-component", data=body, headers=headers, timeout=30
        )
        response.raise_for_status()
        return response.json()["response"]

    def show(filters: dict) -> None:
        answer = post(callback_body(overview, {"filters.data": filters}, ["filters.data"]))
        assert "kpi-sessions-value" in json.dumps(answer)

    def first_load(_i) -> None:
        answer = post(callback_body(sync, {"url.search": ""}, ["url.search"]))
        show(answer["filters"]["data"])

    def change(control: str, value: str):
        values = {**control_values(chosen), control: value, "filters.data": chosen}

        def run(_i) -> None:
            answer = post(callback_body(sync, values, [control]))
            new = answer["filters"]["data"]
            assert new[CONTROL_KEYS[control]] == value
            show(new)

        return run

    pids = platform_pids(db_url, running)
    figures["first_load"] = timed_with_cpu(first_load, calls, pids)
    figures["changes"] = {
        name: timed_with_cpu(change(control, value), calls, pids)
        for name, control, value in FILTER_CHANGES
    }
    figures["rows"] = rows
    return figures


def dashboard_report(figures: dict, meta: dict) -> str:
    baseline = sum(figures[name]["p50"] for name in ("weekly", "weekly_previous", "alerts"))
    api_rows = [
        ("GET /trends/weekly, one team, 6 months (through the gateway)", figures["weekly"]),
        ("GET /trends/weekly, the 6 months before", figures["weekly_previous"]),
        ("GET /alerts?status=open, one team", figures["alerts"]),
        (
            "GET /trends/weekly, 6 months, language DE (the language change's call)",
            figures["weekly_language"],
        ),
        (
            "GET /trends/root-causes, one team, both periods (12 months: Overview's one trend "
            "call since 2026-12-07)",
            figures["causes_both"],
        ),
    ]
    callback_rows = [("first load (filter bar + Overview)", figures["first_load"])] + [
        (f"filter change: {name}", value) for name, value in figures["changes"].items()
    ]
    worst = max(value["p95"] for _, value in callback_rows)
    names = (*PROCESSES, "postgres")
    lines = [
        f"## Dashboard Overview at {figures['rows']:,} sessions",
        "",
        f"Measured {meta['date']} on {meta['machine']}: {figures['rows']:,} projected sessions of "
        "5,000 engineers in 100 teams over two years; a manager of one team, starting from the "
        "default filters (last 6 months). Times are taken on loopback, so they are the server's "
        "time plus well under a millisecond. A first load and each filter change are two Dash "
        "callbacks, one after the other: the filter bar's (URL and controls to the filter store) "
        "and the Overview's (its API calls through the gateway, the cards and the chart). The "
        "CPU columns are the milliseconds of CPU time each process (with its workers; "
        "PostgreSQL with its backends) spent per callback pair, over all of its runs. The ratio "
        "column divides by the sum of the p50s of the first three API calls (the three Overview "
        "made until 2026-12-07).",
        "",
        "| API call behind Overview (baseline) | p50 (ms) | p95 (ms) |",
        "|---|---|---|",
        *[f"| {name} | {value['p50']:.1f} | {value['p95']:.1f} |" for name, value in api_rows],
        "",
        "| callbacks | p50 (ms) | p95 (ms) | p50 / API calls' p50 | CPU ms: dashboard "
        "| gateway | trends | PostgreSQL |",
        "|---|---|---|---|---|---|---|---|",
        *[
            f"| {name} | {value['p50']:.1f} | {value['p95']:.1f} | {value['p50'] / baseline:.2f} | "
            + " | ".join(f"{value['cpu_ms'][process]:.1f}" for process in names)
            + " |"
            for name, value in callback_rows
        ],
        "",
        f"Target: a first load and every filter change p95 ≤ 150 ms at 1,000,000 sessions; the "
        f"slowest here: {worst:.1f} ms ({'met' if worst <= 150 else 'not met'}).",
    ]
    return "\n".join(lines)
