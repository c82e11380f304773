"""Every API route of every service declares its access rule, and the gateway's role table says
the same thing: a new route without a rule fails here."""

import re

import pytest

from gateway import policy
from persistence_svc.app import create_app as create_persistence
from qa_svc.app import create_app as create_qa
from trends_svc.app import create_app as create_trends

SERVICES = {"persistence": create_persistence, "trends": create_trends, "qa": create_qa}
INTERNAL_ROLES = {"changes_reader", "text_checker"}


def api_routes(app):
    """(method, rule, declared roles) of each /api/v1 route of a service app."""
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        view = app.view_functions[rule.endpoint]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            handler = getattr(getattr(view, "view_class", None), method.lower(), view)
            yield method, rule.rule, getattr(handler, "_cr_access", None)


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_every_service_route_has_a_rule_matching_the_gateway(app_config, service):
    app = SERVICES[service](app_config)
    try:
        routes = list(api_routes(app))
        for method, rule, declared in routes:
            assert declared is not None, f"{service}: {method} {rule} declares no access rule"
            sample = re.sub(r"<[^>]+>", "x", rule).removeprefix("/api/v1/")
            if set(declared) <= INTERNAL_ROLES:
                assert sample.startswith("internal/"), f"{method} {rule} is internal-only"
                assert policy.allowed_roles(method, sample) is None
                continue
            assert set(policy.allowed_roles(method, sample) or ()) == set(declared), (
                f"{service}: {method} {rule}: gateway and service disagree"
            )
    finally:
        app.extensions["db_pool"].close()


def test_the_gateway_table_names_only_known_roles():
    for rule in policy.RULES:
        assert set(rule.roles) <= {"agent", "manager", "qa_lead", "admin"}


def test_gateway_own_api_routes_declare_rules(app_config, tmp_path):
    from gateway.app import create_app as create_gateway

    app = create_gateway({**app_config, "gateway_signing_keys": str(tmp_path / "k.json")})
    try:
        own = [
            (method, rule, declared)
            for method, rule, declared in api_routes(app)
            if "<path:path>" not in rule
        ]
        assert own, "the gateway serves its own API routes"
        for method, rule, declared in own:
            sample = re.sub(r"<[^>]+>", "x", rule).removeprefix("/api/v1/")
            assert declared or policy.allowed_roles(method, sample), (
                f"gateway: {method} {rule} declares no access rule"
            )
    finally:
        app.extensions["db_pool"].close()


# probes, Flask's static route, and each service's own OpenAPI document (behind its token)
PROBES = {"/healthz", "/readyz", "/metrics", "/static/<path:filename>", "/openapi.json"}
GATEWAY_OWN = re.compile(
    r"^(/login|/logout|/oauth/.*|/\.well-known/.*|/ui/.*|/dashboard.*|/qa.*|/api/openapi\.json"
    r"|/api/openapi-agent\.json|/mcp|/api/docs.*|/api/v1/.*)$"
)


def non_api_rules(app):
    return {rule.rule: rule.endpoint for rule in app.url_map.iter_rules()}


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_services_serve_nothing_but_probes_the_api_and_their_guarded_ui(app_config, service):
    from qa_svc.ui import qa_ui

    app = SERVICES[service](app_config)
    try:
        for rule, endpoint in non_api_rules(app).items():
            if rule in PROBES or rule.startswith("/api/v1/"):
                continue
            assert service == "qa" and endpoint.startswith("qa_ui."), f"{service}: {rule}"
        assert set(qa_ui.access_roles) == {"qa_lead", "admin"}
    finally:
        app.extensions["db_pool"].close()


def test_the_ui_roles_agree_between_the_gateway_and_the_uis():
    from dashboard_svc.app import ROLES as DASHBOARD_ROLES
    from gateway.ui import UIS
    from qa_svc.ui import ROLES as QA_ROLES

    assert set(UIS["dashboard"][1]) == set(DASHBOARD_ROLES) == {"manager", "qa_lead", "admin"}
    assert set(UIS["qa"][1]) == set(QA_ROLES) == {"qa_lead", "admin"}


def test_the_dashboard_serves_only_under_its_prefix(app_config):
    from dashboard_svc.app import create_app as create_dashboard

    app = create_dashboard(app_config)
    for rule in app.url_map.iter_rules():
        assert rule.rule in PROBES or rule.rule.startswith("/dashboard/"), rule.rule


def test_the_gateway_serves_only_known_route_families(app_config, tmp_path):
    from gateway.app import create_app as create_gateway

    app = create_gateway({**app_config, "gateway_signing_keys": str(tmp_path / "k.json")})
    try:
        for rule in app.url_map.iter_rules():
            assert rule.rule in PROBES or GATEWAY_OWN.match(rule.rule), rule.rule
    finally:
        app.extensions["db_pool"].close()
