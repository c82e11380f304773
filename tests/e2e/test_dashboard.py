"""The management dashboard in real headless Chromium, through the gateway's browser login: a
manager sees only their team, filters and cross-filters, drills down to Compare History,
acknowledges an alert, exports CSV with the filters; an admin previews and commits an import."""

import csv
import io
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from shared.config import PROJECT_ROOT
from tests.common.browser import save_screenshot

NOW = datetime.now(UTC)
# a team of this test's own, so that other end-to-end tests' data never shows up in its counts
TEAM, OTHER_TEAM = "emea-9", "apac-9"
MANAGER = "dash-manager@example.test"
# TEAM: Greta Dashwood has 4 knowledge gaps in 30 days (a recurring issue), Bo Dashwood 2 process issues
# 10 days ago and 2 more 100 days ago. OTHER_TEAM has 7 sessions the manager must not see.
EMEA = [("Greta Dashwood", "knowledge_gap", d) for d in (2, 5, 9, 14)] + [
    ("Bo Dashwood", "process_issue", d) for d in (10, 11, 100, 101)
]
APAC = [("Zoe Apac", "analytical_error", d) for d in (1, 2, 3, 4, 5, 6, 7)]


def body(name, team, cause, days_ago, sentiment=0.4):
    ended = NOW - timedelta(days=days_ago, hours=1)
    return {
        "session_id": str(uuid.uuid4()),
        "engineer": name,
        "case_number": "12345678",
        "team": team,
        "region": "EMEA" if team.startswith("emea") else "APAC",
        "record_type": "single",
        "parts": 1,
        "languages": ["EN", "DE"] if team.startswith("emea") else ["EN"],
        "sentiment_score": sentiment,
        "root_cause": cause,
        "confidence_analysis": 0.8,
        "confidence_translation": 0.7,
        "started_at": (ended - timedelta(minutes=20)).isoformat(),
        "ended_at": ended.isoformat(),
        "agent_version": "3.7.0",
    }


@pytest.fixture(scope="module")
def dashboard_data(platform, agent, admin):
    flask = [sys.executable, "-m", "flask", "--app", "gateway"]
    run = {"cwd": PROJECT_ROOT, "env": platform.env, "check": True, "capture_output": True}
    subprocess.run([*flask, "seed-demo"], timeout=60, **run)
    subprocess.run(
        [*flask, "create-user", MANAGER, "--role", "manager", "--team", TEAM, "--password-stdin"],
        input=b"a-long-manager-password\n",
        timeout=60,
        **run,
    )
    items = [body(n, TEAM, c, d) for n, c, d in EMEA] + [
        body(n, OTHER_TEAM, c, d) for n, c, d in APAC
    ]
    stored = agent.request("POST", "/api/v1/sessions/batch", json={"items": items})
    assert stored.status_code == 200 and stored.json()["created"] == len(items), stored.text
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        rows = admin.request("GET", "/api/v1/trends/engineers").json()["items"]
        if sum(row["sessions"] for row in rows) >= len(items):
            break
        time.sleep(0.3)
    else:
        pytest.fail("the trends projection did not catch up")
    evaluated = admin.request("POST", "/api/v1/trends/evaluate")
    assert evaluated.status_code == 200, evaluated.text
    greta = admin.request("POST", "/api/v1/engineers/lookup", json={"engineer": "Greta Dashwood"})
    return {"greta": greta.json()["engineer_code"]}


def sign_in(page, base_url, email):
    page.goto(f"{base_url}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", "a-long-manager-password" if email == MANAGER else "demo")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/dashboard/**")


def choose(page, dropdown, option):
    """Pick an option of a Dash dropdown the way a user does."""
    page.click(dropdown)
    page.get_by_role("option", name=option, exact=True).click()


def kpi(page, component_id):
    return page.inner_text(f"#{component_id}-value")


def wait_kpi(page, component_id, expected):
    page.wait_for_function(
        "([id, value]) => document.querySelector('#' + id + '-value')?.innerText === value",
        arg=[component_id, expected],
    )


def test_manager_sees_only_emea_1_filters_and_cross_filters(platform, new_page, dashboard_data):
    page = new_page()
    sign_in(page, platform.gateway, MANAGER)
    wait_kpi(page, "kpi-sessions", "8")  # 6 months: all 8 of TEAM, none of OTHER_TEAM.s 7
    save_screenshot(page, "dashboard-overview")
    assert "Zoe" not in page.content()
    page.goto(f"{platform.gateway}/dashboard/?team={OTHER_TEAM}")  # editing the URL changes nothing
    wait_kpi(page, "kpi-sessions", "8")
    choose(page, "#filter-preset", "Last 30 days")  # the date range, through the filter bar
    wait_kpi(page, "kpi-sessions", "6")  # the two process issues of 100 days ago drop out
    assert "preset=30d" in page.url, "the filters are kept in the URL"
    choose(page, "#filter-root-cause", "Knowledge gap")
    wait_kpi(page, "kpi-sessions", "4")
    assert "root_cause=knowledge_gap" in page.url
    # cross-filtering: a click on a category of the root-cause chart filters every page
    page.goto(f"{platform.gateway}/dashboard/root-causes?preset=30d")
    page.wait_for_selector("#cause-area .scatterlayer .trace")
    save_screenshot(page, "dashboard-root-causes")
    shares = page.inner_text("#cause-table")
    assert "Knowledge gap" in shares and "Analytical error" not in shares
    page.goto(f"{platform.gateway}/dashboard/languages?preset=30d")
    page.wait_for_selector("#language-chart .bars .point")
    page.locator("#language-chart .bars .point path").first.click(force=True)
    page.wait_for_url("**language=**")
    save_screenshot(page, "dashboard-languages")


def test_manager_drills_down_and_acts_on_an_alert(platform, new_page, dashboard_data):
    page = new_page()
    sign_in(page, platform.gateway, MANAGER)
    page.goto(f"{platform.gateway}/dashboard/engineers")
    page.wait_for_selector(f"a[href='/dashboard/engineers/{dashboard_data['greta']}']")
    assert "Zoe" not in page.content()
    save_screenshot(page, "dashboard-engineers")
    page.click(f"a[href='/dashboard/engineers/{dashboard_data['greta']}']")
    page.wait_for_selector("#history-text:has-text('analyses')")
    assert "4 analyses in the last 30 days" in page.inner_text("#history-text")
    save_screenshot(page, "dashboard-engineer")
    # find by name: the pseudonym is looked up, the name never lands in the URL
    page.goto(f"{platform.gateway}/dashboard/engineers")
    page.fill("#find-name", "greta  DASHWOOD")
    page.click("#find-button")
    page.wait_for_url(f"**/dashboard/engineers/{dashboard_data['greta']}")
    assert "greta" not in page.url.lower()

    page.goto(f"{platform.gateway}/dashboard/alerts")
    row = page.locator("#alert-grid .ag-row", has_text="Recurring issue").first
    row.wait_for()
    row.locator(".ag-checkbox-input").check()
    page.click("#alert-ack")
    page.wait_for_selector("text=is now acknowledged")
    page.click("label:has-text('Acknowledged')")
    page.locator("#alert-grid .ag-row", has_text="Recurring issue").first.wait_for()
    save_screenshot(page, "dashboard-alerts")


def test_exports_follow_the_filters_and_the_team_scope(platform, new_page, dashboard_data):
    page = new_page()
    sign_in(page, platform.gateway, MANAGER)
    page.goto(f"{platform.gateway}/dashboard/data?preset=30d&root_cause=knowledge_gap")
    page.wait_for_function(  # a function, not an expression: Playwright would eval() that
        "() => document.querySelector('#export-link')?.getAttribute('href').includes('root_cause=')"
    )
    href = page.get_attribute("#export-link", "href")
    download = page.request.get(f"{platform.gateway}{href}")
    assert download.status == 200
    assert "attachment" in download.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(download.text())))
    assert len(rows) == 4
    assert {row["team"] for row in rows} == {TEAM}
    assert {row["root_cause"] for row in rows} == {"knowledge_gap"}
    other = page.request.get(
        f"{platform.gateway}/dashboard/download/sessions?format=csv&team={OTHER_TEAM}"
    )
    assert other.status == 403  # another team's file: refused by the gateway (and audited)
    assert OTHER_TEAM not in {row["team"] for row in rows}
    assert "Imports are for admins." in page.content()


def test_admin_previews_and_commits_an_import(platform, new_page, dashboard_data, tmp_path):
    page = new_page()
    sign_in(page, platform.gateway, "admin@demo.local")
    page.goto(f"{platform.gateway}/dashboard/data")
    good = body("Cara Import", "emea-2", "other", 3)
    lines = [
        ",".join(
            [
                "session_id",
                "engineer",
                "case_number",
                "team",
                "region",
                "record_type",
                "parts",
                "languages",
                "sentiment_score",
                "root_cause",
                "confidence_analysis",
                "ended_at",
            ]
        )
    ]
    for _ in range(3):
        lines.append(
            ",".join(
                [
                    str(uuid.uuid4()),
                    "Cara Import",
                    "12345678",
                    "emea-2",
                    "EMEA",
                    "Single",
                    "1",
                    "EN",
                    "0.5",
                    "Knowledge Gap",
                    "0.9",
                    good["ended_at"],
                ]
            )
        )
    lines.append(
        ",".join(
            [
                str(uuid.uuid4()),
                "Cara Import",
                "123",
                "emea-2",
                "EMEA",
                "Single",
                "1",
                "EN",
                "0.5",
                "other",
                "0.9",
                good["ended_at"],
            ]
        )
    )
    path = tmp_path / "history.csv"
    path.write_text("\n".join(lines) + "\n")
    page.set_input_files("#import-upload input[type=file]", str(path))
    page.wait_for_selector("text=Chosen: history.csv")
    page.click("#import-preview")
    page.wait_for_selector("#import-status:has-text('Dry run completed')")
    assert page.inner_text("#import-inserted") == "3"
    assert page.inner_text("#import-rejected") == "1"
    assert "case_number" in page.inner_text("#import-report")
    save_screenshot(page, "dashboard-import-preview")
    page.click("#import-commit")
    page.wait_for_selector("#import-status:has-text('Import completed')")
    assert page.inner_text("#import-inserted") == "3"
