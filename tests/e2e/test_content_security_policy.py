"""The UIs under the gateway's Content-Security-Policy (issue #21, finding 10): no page may run
inline or eval'd scripts except the inline scripts Dash names by hash, and every page of the
dashboard and the QA UI works in real headless Chromium without one policy violation."""

import subprocess
import sys

import pytest
import requests

from shared.config import PROJECT_ROOT
from tests.common.builders import make_session

DASHBOARD_PAGES = [
    "",
    "root-causes",
    "languages",
    "engineers",
    "engineers/history",
    "alerts",
    "data",
]
GRID_PAGES = {"root-causes", "engineers", "alerts"}
CHART_PAGES = {"", "root-causes", "languages"}
QA_PAGES = ["", "errors", "metrics"]


@pytest.fixture(scope="module")
def signed_in_admin(platform, agent):
    """The demo admin (dashboard and QA UI), with a few analyses so charts and tables have rows."""
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "gateway", "seed-demo"],
        cwd=PROJECT_ROOT,
        env=platform.env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    items = [make_session(team="csp-team") for _ in range(6)]
    stored = agent.request("POST", "/api/v1/sessions/batch", json={"items": items})
    assert stored.status_code == 200, stored.text
    return "admin@demo.local"


def script_sources(policy: str) -> list[str]:
    directives = dict(part.strip().partition(" ")[::2] for part in policy.split(";"))
    return directives["script-src"].split()


def test_no_page_allows_inline_or_eval_scripts(platform):
    for path in ("/login", "/api/docs", "/.well-known/openid-configuration"):
        sources = script_sources(
            requests.get(f"{platform.gateway}{path}", timeout=10).headers["Content-Security-Policy"]
        )
        assert sources == ["'self'"], path


def test_dashboard_and_qa_pages_run_without_a_policy_violation(platform, new_page, signed_in_admin):
    page = new_page()
    problems: list[str] = []
    page.on(
        "console",
        lambda message: (
            message.type == "error"
            and not message.location["url"].endswith("/favicon.ico")  # there is none: a 404
            and problems.append(f"{page.url}: {message.text}")
        ),
    )
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(f"{platform.gateway}/login")
    page.fill("input[name=email]", signed_in_admin)
    page.fill("input[name=password]", "demo")
    page.click("button[type=submit]")
    page.wait_for_url(f"{platform.gateway}/dashboard/**")

    first = page.goto(f"{platform.gateway}/dashboard/")
    sources = script_sources(first.headers["content-security-policy"])
    assert sources[0] == "'self'" and len(sources) >= 2
    assert all(source.startswith("'sha256-") for source in sources[1:])  # Dash's inline start-up
    for path in DASHBOARD_PAGES:
        page.goto(f"{platform.gateway}/dashboard/{path}")
        page.wait_for_selector("#_pages_content > *")  # Dash rendered the page
        page.wait_for_load_state("networkidle")
        if path in GRID_PAGES:
            page.wait_for_selector(".ag-root")  # AG Grid ran
        if path in CHART_PAGES:
            page.wait_for_selector(".js-plotly-plot .main-svg")  # Plotly drew
    for path in QA_PAGES:
        answer = page.goto(f"{platform.gateway}/qa/{path}")
        assert script_sources(answer.headers["content-security-policy"]) == ["'self'"]
        page.wait_for_load_state("networkidle")
    assert problems == [], "\n".join(problems)
