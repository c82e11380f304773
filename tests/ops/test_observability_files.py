"""The example Grafana dashboard and Prometheus alert rules speak of series the platform exports."""

import json
import re

import yaml
from prometheus_client import REGISTRY

import shared.metrics  # noqa: F401 - registers the platform's series
from shared.config import PROJECT_ROOT

OBSERVABILITY = PROJECT_ROOT / "deploy" / "observability"
SERIES = re.compile(r"\b(cr_[a-z_]+)")


def exported_names() -> set[str]:
    names = set()
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count")}
    for collector in REGISTRY.collect():
        names.add(collector.name)
        names.update(collector.name + suffix for suffix in suffixes.get(collector.type, ()))
    return names


def expressions():
    rules = yaml.safe_load((OBSERVABILITY / "prometheus-rules.yaml").read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            yield f"rule {rule['alert']}", rule["expr"]
    board = json.loads((OBSERVABILITY / "grafana-dashboard.json").read_text())
    for panel in board["panels"]:
        for target in panel["targets"]:
            yield f"panel {panel['title']}", target["expr"]


def test_every_expression_uses_exported_series():
    known = exported_names()
    seen = set()
    for where, expr in expressions():
        names = set(SERIES.findall(expr))
        assert names, f"{where} reads no platform series"
        unknown = names - known
        assert not unknown, f"{where}: {sorted(unknown)}"
        assert expr.count("(") == expr.count(")"), where
        seen |= names
    wanted = {
        "cr_http_requests_total",
        "cr_http_request_duration_seconds_bucket",
        "cr_db_pool_connections",
        "cr_trends_feed_caught_up_timestamp_seconds",
        "cr_trends_feed_lag_seconds",
        "cr_trends_feed_lag_changes",
        "cr_import_rows_total",
        "cr_alerts",
        "cr_webhook_outbox_depth",
    }
    assert wanted <= seen, sorted(wanted - seen)


def test_rules_have_what_alertmanager_needs():
    rules = yaml.safe_load((OBSERVABILITY / "prometheus-rules.yaml").read_text())
    for rule in rules["groups"][0]["rules"]:
        assert rule["labels"]["severity"] in {"page", "ticket"}
        assert rule["annotations"]["summary"]


def test_a_trends_feed_lag_over_a_minute_raises_an_alert():
    rules = yaml.safe_load((OBSERVABILITY / "prometheus-rules.yaml").read_text())
    lagging = [
        rule
        for rule in rules["groups"][0]["rules"]
        if rule["expr"].strip() == "max(cr_trends_feed_lag_seconds) > 60"
    ]
    assert [rule["alert"] for rule in lagging] == ["CrTrendsFeedLagging"]
