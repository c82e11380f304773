"""The management dashboard in real headless Chromium, through the gateway's browser login: a
manager sees only their team, filters and cross-filters, drills down to Compare History,
acknowledges an alert, exports CSV with the filters; an admin previews and commits an import."""

import csv
import io
import subprocess
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from shared.config import PROJECT_ROOT
from tests.common.browser import save_screenshot

NOW = datetime.now(UTC)
# a team of this test's own, so that other end-to-end tests' data never shows up in its counts
TEAM, OTHER_TEAM = "emea-9", "apac-9"
MANAGER = "dash-manager@example.test"
# TEAM: Greta Dashwood has 4 knowledge gaps in 30 days (a recurring issue), Bo Dashwood 3 process
# issues 10-12 days ago (a recurring issue too) and 2 more 100 days ago. OTHER_TEAM has 7 sessions
# the manager must not see.
EMEA = [("Greta Dashwood", "knowledge_gap", d) for d in (2, 5, 9, 14)] + [
    ("Bo Dashwood", "process_issue", d) for d in (10, 11, 12, 100, 101)
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
    codes = {}
    for key, name in (("greta", "Greta Dashwood"), ("bo", "Bo Dashwood")):
        found = admin.request("POST", "/api/v1/engineers/lookup", json={"engineer": name})
        codes[key] = found.json()["engineer_code"]
    return codes


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


def open_page(page, name):
    """Click a navbar link the way a user does (below 1400 px the links fold behind a toggler)."""
    if page.locator("#nav-toggle").is_visible():
        page.click("#nav-toggle")
    page.click(f"#nav a:has-text('{name}')")


def click_tallest_bar(page, bars):
    """Click the tallest bar of a trace, where a user would (bars of zero height are not there)."""
    boxes = [path.bounding_box() for path in bars.locator(".point path").all()]
    box = max((b for b in boxes if b), key=lambda b: b["height"])
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


def wait_kpi(page, component_id, expected):
    page.wait_for_function(
        "([id, value]) => document.querySelector('#' + id + '-value')?.innerText === value",
        arg=[component_id, expected],
    )


def test_manager_sees_only_their_team_and_filters_follow_them(platform, new_page, dashboard_data):
    page = new_page()
    seen = watch(page)
    sign_in(page, platform.gateway, MANAGER)
    wait_kpi(page, "kpi-sessions", "9")  # 6 months: all 9 of TEAM, none of OTHER_TEAM.s 7
    # who is signed in, in which role; no link to the QA UI, which a manager may not open
    assert "Manager (emea-9)" in page.inner_text(".signed-in")
    assert page.locator(".cr-navbar a[href='/qa/']").count() == 0
    assert "Zoe" not in page.content()
    page.goto(f"{platform.gateway}/dashboard/?team={OTHER_TEAM}")  # editing the URL changes nothing
    wait_kpi(page, "kpi-sessions", "9")
    choose(page, "#filter-preset", "Last 30 days")  # the date range, through the filter bar
    wait_kpi(page, "kpi-sessions", "7")  # the two process issues of 100 days ago drop out
    assert "preset=30d" in page.url, "the filters are kept in the URL"
    wait_kpi(page, "kpi-alerts", "2")  # open alerts: Greta's and Bo's recurring issues
    choose(page, "#filter-root-cause", "Knowledge gap")
    wait_kpi(page, "kpi-sessions", "4")
    wait_kpi(page, "kpi-alerts", "1")  # the card applies the root cause, as the Alerts page does
    assert "root_cause=knowledge_gap" in page.url
    assert "not yet acknowledged" in page.inner_text("#kpi-alerts")
    save_screenshot(page, "dashboard-overview")

    # the navbar keeps the filters: another page opens with the same period and root cause
    open_page(page, "Alerts")
    page.wait_for_url("**/dashboard/alerts?preset=30d&root_cause=knowledge_gap")
    grid_rows(page, "alert-grid").first.wait_for()
    assert grid_rows(page, "alert-grid").count() == 1, "the Open tab counts what the card counts"
    open_page(page, "Engineers")
    page.wait_for_url("**/dashboard/engineers?preset=30d&root_cause=knowledge_gap")
    assert page.inner_text("#filter-preset") == "Last 30 days"
    assert page.inner_text("#filter-root-cause").startswith("Knowledge gap")

    # cross-filtering on the right category: each band of the root-cause chart is its own
    page.goto(f"{platform.gateway}/dashboard/root-causes?preset=30d")
    bands = page.locator("#cause-area .barlayer .trace")
    bands.nth(1).wait_for()
    assert page.locator("#cause-area .legendtext").all_text_contents() == [
        "Knowledge gap",
        "Process issue",
    ]
    save_screenshot(page, "dashboard-root-causes")
    shares = page.inner_text("#cause-table")
    assert "Knowledge gap" in shares and "57.1%" in shares and "Analytical error" not in shares
    click_tallest_bar(page, bands.nth(1))
    page.wait_for_url("**root_cause=process_issue**")
    page.goto(f"{platform.gateway}/dashboard/root-causes?preset=30d")
    bands.nth(1).wait_for()
    click_tallest_bar(page, bands.nth(0))
    page.wait_for_url("**root_cause=knowledge_gap**")

    # a language picked by a click on its bar follows to the next page
    page.goto(f"{platform.gateway}/dashboard/languages?preset=30d")
    page.wait_for_selector("#language-chart .bars .point")
    click_tallest_bar(page, page.locator("#language-chart .barlayer .trace").first)
    page.wait_for_url("**language=**")
    language = page.url.split("language=")[1][:2]
    assert language in ("EN", "DE")
    save_screenshot(page, "dashboard-languages")
    open_page(page, "Overview")
    page.wait_for_url(f"**/dashboard/?preset=30d&language={language}")
    # a click on a week of the Overview chart narrows the period to that week
    page.locator("#weekly-chart .barlayer .trace").first.wait_for()
    click_tallest_bar(page, page.locator("#weekly-chart .barlayer .trace").first)
    page.wait_for_url("**preset=custom**")
    assert "start=" in page.url and "end=" in page.url
    start = page.url.split("start=")[1][:10]
    assert date.fromisoformat(start).weekday() == 0, "a week starts on Monday"
    assert seen["console"] == [], seen["console"]


def watch(page):
    """Console errors and warnings, page errors, and every request (URL and body) of a page."""
    seen = {"console": [], "requests": []}
    page.on(
        "console",
        lambda msg: (
            seen["console"].append(f"{msg.type}: {msg.text}")
            if msg.type in ("error", "warning")
            else None
        ),
    )
    page.on("pageerror", lambda error: seen["console"].append(f"pageerror: {error}"))
    page.on(
        "response",
        lambda answer: (
            seen["console"].append(f"http {answer.status}: {answer.url}")
            if answer.status >= 400 and answer.status != 401
            else None
        ),
    )
    page.on("request", lambda req: seen["requests"].append((req.url, req.post_data or "")))
    return seen


def grid_rows(page, grid_id):
    return page.locator(f"#{grid_id} .ag-center-cols-container .ag-row")


def test_manager_drills_down_and_works_through_alerts_with_a_private_roster(
    platform, new_page, dashboard_data, tmp_path
):
    page = new_page()
    seen = watch(page)
    sign_in(page, platform.gateway, MANAGER)
    greta, bo = dashboard_data["greta"], dashboard_data["bo"]

    # the roster: pasted names become pseudonyms through the look-up, kept in local storage only
    page.goto(f"{platform.gateway}/dashboard/roster?preset=30d")
    page.fill("#roster-text", "Greta Dashwood\nBo Dashwood\nnot a name 123")
    page.click("#roster-add")
    page.wait_for_selector("#roster-status:has-text('Added 2 name(s)')")
    assert "Skipped 1 line(s)" in page.inner_text("#roster-status")
    stored = page.evaluate("() => JSON.parse(localStorage.getItem('roster'))")
    assert stored == {"names": {greta: "Greta Dashwood", bo: "Bo Dashwood"}}
    grid_rows(page, "roster-grid").nth(1).wait_for()
    # or a CSV file (read in the browser by Papa Parse): the `name` column, whatever its place
    roster_file = tmp_path / "team.csv"
    roster_file.write_text('team,name\napac-9,"Zoe Apac"\nemea-9,Greta Dashwood\n')
    page.set_input_files("#roster-upload input[type=file]", str(roster_file))
    page.wait_for_selector("#roster-status:has-text('Added 1 name(s)')")
    grid_rows(page, "roster-grid").nth(2).wait_for()

    # Engineers: names instead of codes (the code on hover), links keep the filters
    open_page(page, "Engineers")
    page.wait_for_url("**/dashboard/engineers?preset=30d")
    link = page.locator(f"#engineer-grid a[href='/dashboard/engineers/{greta}?preset=30d']")
    link.wait_for()
    assert link.inner_text() == "Greta Dashwood" and link.get_attribute("title") == greta
    assert "Zoe" not in page.content()
    save_screenshot(page, "dashboard-engineers")
    link.click()
    page.wait_for_url(f"**/dashboard/engineers/{greta}?preset=30d")
    page.wait_for_selector("#history-text:has-text('analyses')")
    assert page.inner_text("#history-name") == "Greta Dashwood"
    assert page.get_attribute("#history-name", "title") == greta
    assert "4 analyses in the last 30 days" in page.inner_text("#history-text")
    assert "last 30 days compared with the 30 days before" in page.inner_text(
        "#history-period-note"
    ), "Compare History uses the shared period"
    save_screenshot(page, "dashboard-engineer")
    # find by name: the pseudonym is looked up, the name never lands in the URL
    page.goto(f"{platform.gateway}/dashboard/engineers")
    page.fill("#find-name", "greta  DASHWOOD")
    page.click("#find-button")
    page.wait_for_url(f"**/dashboard/engineers/{greta}")
    assert "greta" not in page.url.lower()

    # Alerts: period, region and language do not apply and are not shown
    page.goto(f"{platform.gateway}/dashboard/alerts?preset=30d")
    rows = grid_rows(page, "alert-grid")
    rows.nth(1).wait_for()
    assert rows.count() == 2
    for hidden in ("period", "dates", "region", "language"):
        assert not page.locator(f'[id*=\'"index":"{hidden}"\']').is_visible(), hidden
    assert page.locator("#filter-root-cause").is_visible()
    evidence = page.locator("#alert-grid .ag-row [col-id='evidence']").first.inner_text()
    assert "analyses with root cause" in evidence and "window days" not in evidence
    widths = [c.bounding_box()["width"] for c in page.locator("#alert-grid .ag-header-cell").all()]
    # several rows at once, acknowledged in one go; the message names them from the roster
    for index in (0, 1):
        rows.nth(index).locator(".ag-checkbox-input").check()
    page.wait_for_selector("#alert-detail-text:has-text('analyses with root cause')")
    page.click("#alert-ack")
    confirmation = page.locator("#alert-confirmation")
    confirmation.get_by_text("Acknowledged 2 alerts").wait_for()
    assert "Greta Dashwood" in confirmation.inner_text()
    assert "Bo Dashwood" in confirmation.inner_text()
    page.locator("#alert-message:has-text('No open alerts')").wait_for()
    page.click("label:has-text('Acknowledged')")
    page.wait_for_url("**status=acknowledged**")
    rows.nth(1).wait_for()
    after = [c.bounding_box()["width"] for c in page.locator("#alert-grid .ag-header-cell").all()]
    assert after == widths, "columns keep their widths when the rows change"
    save_screenshot(page, "dashboard-alerts")
    page.reload()
    rows.nth(1).wait_for()
    assert page.locator("#alert-status input[value='acknowledged']").is_checked()
    # a row links to the engineer's Compare History, with the filters (not the tab)
    page.click(f"#alert-grid a[href='/dashboard/engineers/{bo}?preset=30d']")
    page.wait_for_url(f"**/dashboard/engineers/{bo}?preset=30d")
    page.wait_for_selector("#history-name:has-text('Bo Dashwood')")

    # no roster name in any URL or request body except the look-up's
    names = ("greta", "dashwood", "zoe")
    for url, body in seen["requests"]:
        assert not any(name in url.lower() for name in names), url
        if not url.endswith("/dashboard/roster/lookup"):
            assert not any(name in body.lower() for name in names), (url, body[:200])
    assert any(url.endswith("/dashboard/roster/lookup") for url, _ in seen["requests"])

    # one click clears the roster: codes again, nothing left in local storage
    page.goto(f"{platform.gateway}/dashboard/roster")
    page.click("#roster-clear")
    page.wait_for_selector("#roster-status:has-text('Roster cleared')")
    assert "Dashwood" not in (page.evaluate("() => localStorage.getItem('roster')") or "")
    page.goto(f"{platform.gateway}/dashboard/engineers/{greta}")
    page.wait_for_selector(f"#history-name:has-text('{greta}')")
    assert seen["console"] == [], seen["console"]


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


def test_a_tab_left_open_after_sign_out_goes_to_sign_in_and_back_to_the_same_view(
    platform, new_page, dashboard_data
):
    page = new_page()
    seen = watch(page)
    sign_in(page, platform.gateway, MANAGER)
    view = "/dashboard/alerts?preset=30d&status=resolved"
    page.goto(f"{platform.gateway}{view}")
    page.wait_for_selector("#alert-status input[value='resolved']:checked", state="attached")
    other = page.context.new_page()  # the same browser: signing out there ends this tab's session
    other.goto(f"{platform.gateway}/dashboard/")
    other.click("button:has-text('Sign out')")
    other.wait_for_url(f"{platform.gateway}/login")
    other.close()
    page.click("label:has-text('All')")  # any click that needs the server
    page.wait_for_url("**/login?signed_out=1**")
    assert "You were signed out" in page.inner_text("main")
    page.fill("input[name=email]", MANAGER)
    page.fill("input[name=password]", "a-long-manager-password")
    page.click("button[type=submit]")
    page.wait_for_url(f"{platform.gateway}{view}")
    page.wait_for_selector("#alert-status input[value='resolved']:checked", state="attached")
    assert [line for line in seen["console"] if "401" not in line] == [], seen["console"]


LAYOUT_CHECK = """() => ({
    pageWidth: document.documentElement.scrollWidth,
    navbarHeight: document.querySelector('.cr-navbar').getBoundingClientRect().height,
    clipped: Array.from(document.querySelectorAll(
        '.filter-bar .dash-dropdown-value, .filter-bar .form-control, .cr-navbar .nav-link,'
        + ' .cr-navbar .signed-in, .kpi-value, .kpi-caption, h1'))
      .filter(el => el.offsetParent !== null && el.scrollWidth > el.clientWidth + 1)
      .map(el => el.id || el.textContent),
})"""


@pytest.mark.parametrize(
    ("email", "role", "may_act"),
    [("qa@demo.local", "QA lead", False), ("admin@demo.local", "Admin", True)],
)
def test_qa_lead_and_admin_journeys_at_every_width(
    platform, new_page, dashboard_data, email, role, may_act
):
    page = new_page()
    seen = watch(page)
    page.goto(f"{platform.gateway}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", "demo")
    page.click("button[type=submit]")
    page.goto(f"{platform.gateway}/dashboard/?preset=previous_quarter&region=AMER&language=DE")
    wait_kpi(page, "kpi-sessions", "0")
    assert page.inner_text(".signed-in").endswith(role)
    # the QA UI opens for these roles, so the navbar links to it
    assert page.locator("#nav a[href='/qa/']").count() == 1
    icon = page.request.get(f"{platform.gateway}/dashboard/_favicon.ico")
    assert icon.status == 200 and icon.headers["content-type"].startswith("image/")
    pages = [
        "/dashboard/alerts",
        "/dashboard/engineers",
        "/dashboard/root-causes",
        "/dashboard/data",
    ]
    for width in (1024, 1280, 1440):
        page.set_viewport_size({"width": width, "height": 900})
        for path in pages:
            page.goto(f"{platform.gateway}{path}?root_cause=communication_issue&region=AMER")
            page.wait_for_selector("h1")
            page.wait_for_load_state("networkidle")
            layout = page.evaluate(LAYOUT_CHECK)
            assert layout["pageWidth"] <= width, (path, width, layout)
            assert layout["navbarHeight"] < 70, (path, width, layout)  # one line, never wrapped
            assert layout["clipped"] == [], (path, width, layout)
        if width == 1024:
            save_screenshot(page, f"dashboard-data-1024-{role.replace(' ', '-').lower()}")
    page.goto(f"{platform.gateway}/dashboard/alerts?status=all")
    grid_rows(page, "alert-grid").first.wait_for()
    assert page.locator("#alert-ack").is_enabled() is may_act
    page.goto(f"{platform.gateway}/dashboard/data")
    if may_act:
        page.wait_for_selector("#import-upload", state="attached")
    else:
        page.get_by_text("Imports are for admins.").wait_for()
        assert page.locator("#import-upload").count() == 0
    assert seen["console"] == [], seen["console"]
