"""Silences on the Alerts page: the active silences (what they match, until when, why), a form to
create one (a manager for one of their teams) and expiring the selected ones. Callbacks are
registered when this module is imported (dash.callback), so the page only places `section()`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, html

from dashboard_svc import api_client
from dashboard_svc.api_client import ApiError
from dashboard_svc.components import grid, message
from dashboard_svc.layout import principal, team_choices
from shared import domain

GRID = "silence-grid"
TEAM = "silence-team"
RULE = "silence-rule"
CATEGORY = "silence-category"
ENGINEER = "silence-engineer"
DURATION = "silence-duration"
REASON = "silence-reason"
CREATE = "silence-create"
EXPIRE = "silence-expire"
MESSAGE = "silence-message"
# The trend rules (trends_svc.thresholds.RULES; the dashboard imports no service).
RULES = ("recurring_issue", "performance_decline", "positive_trend", "team_frequent_issue")
MATCHER_ORDER = ("team", "rule", "category", "engineer_code")
DURATIONS = {"1": "1 hour", "4": "4 hours", "24": "1 day", "168": "1 week", "720": "30 days"}

COLUMNS = [
    {"field": "matches", "headerName": "Silences", "minWidth": 260, "flex": 3},
    {"field": "ends_at", "headerName": "Until (UTC)", "minWidth": 150},
    {"field": "reason", "headerName": "Reason", "minWidth": 200, "flex": 2},
    {"field": "created_at", "headerName": "Created (UTC)", "minWidth": 150},
]


def may_silence() -> bool:
    user = principal()
    return bool(user and user.has_role("manager", "admin"))


def _select(component_id: str, label: str, options: dict[str, str], value=None, empty="any"):
    return dbc.Col(
        [
            dbc.Label(label, html_for=component_id, className="small mb-0"),
            dbc.Select(
                id=component_id,
                value=value or "",
                options=[{"label": empty, "value": ""}]
                + [{"label": text, "value": key} for key, text in options.items()],
                size="sm",
            ),
        ],
        md=2,
    )


def section():
    """The silences card: form, list and expire button (hidden for roles that cannot silence)."""
    if not may_silence():
        return html.Div()
    teams = team_choices()
    team_field = (
        _select(TEAM, "Team", {t: t for t in teams}, value=teams[0], empty="choose")
        if teams
        else dbc.Col(
            [
                dbc.Label("Team", html_for=TEAM, className="small mb-0"),
                dbc.Input(id=TEAM, placeholder="any", size="sm", maxLength=64),
            ],
            md=2,
        )
    )
    return dbc.Card(
        dbc.CardBody(
            [
                html.H2("Silences", className="h6"),
                html.P(
                    "Silenced alerts are still raised and listed here, but no notification is "
                    "sent for them until the silence ends.",
                    className="text-muted small",
                ),
                dbc.Row(
                    [
                        team_field,
                        _select(RULE, "Rule", {r: r.replace("_", " ") for r in RULES}),
                        _select(
                            CATEGORY,
                            "Root cause",
                            {c: c.replace("_", " ") for c in domain.ROOT_CAUSES},
                        ),
                        dbc.Col(
                            [
                                dbc.Label("Pseudonym", html_for=ENGINEER, className="small mb-0"),
                                dbc.Input(id=ENGINEER, placeholder="any", size="sm", maxLength=64),
                            ],
                            md=2,
                        ),
                        _select(DURATION, "For", DURATIONS, value="24", empty="choose"),
                        dbc.Col(
                            [
                                dbc.Label("Reason", html_for=REASON, className="small mb-0"),
                                dbc.Input(id=REASON, size="sm", maxLength=300),
                            ],
                            md=2,
                        ),
                    ],
                    className="g-2 mb-2",
                ),
                dbc.Button("Silence", id=CREATE, color="secondary", size="sm", className="me-2"),
                dbc.Button("Expire selected", id=EXPIRE, color="outline-danger", size="sm"),
                html.Div(id=MESSAGE, className="mt-2", role="status"),
                grid(
                    GRID,
                    COLUMNS,
                    grid_options={"rowSelection": {"mode": "multiRow", "checkboxes": True}},
                    getRowId="params.data.id",
                ),
            ]
        ),
        className="mt-3",
        id="silences",
    )


def rows(items: list[dict]) -> list[dict]:
    """Silences as grid rows; the matchers as one readable text."""
    return [
        {
            "id": item["id"],
            "matches": ", ".join(
                f"{key.replace('_', ' ')} {item['matchers'][key]}"
                for key in MATCHER_ORDER
                if key in item["matchers"]
            ),
            "ends_at": item["ends_at"][:16].replace("T", " "),
            "reason": item["reason"],
            "created_at": item["created_at"][:16].replace("T", " "),
        }
        for item in items
    ]


def body(team, rule, category, engineer, duration, reason) -> dict:
    matchers = {
        key: value.strip()
        for key, value in (
            ("team", team),
            ("rule", rule),
            ("category", category),
            ("engineer_code", engineer),
        )
        if value and value.strip()
    }
    ends_at = datetime.now(UTC) + timedelta(hours=int(duration or 24))
    return {"matchers": matchers, "ends_at": ends_at.isoformat(), "reason": (reason or "").strip()}


@dash.callback(
    Output(GRID, "rowData"),
    Output(MESSAGE, "children"),
    Input(CREATE, "n_clicks"),
    Input(EXPIRE, "n_clicks"),
    State(TEAM, "value"),
    State(RULE, "value"),
    State(CATEGORY, "value"),
    State(ENGINEER, "value"),
    State(DURATION, "value"),
    State(REASON, "value"),
    State(GRID, "selectedRows"),
)
def update(_create, _expire, team, rule, category, engineer, duration, reason, selected):
    """Create or expire (when a button was pressed), then list the active silences."""
    note = None
    try:
        if dash.callback_context.triggered_id == CREATE:
            api_client.call(
                "POST",
                "/notifications/silences",
                json=body(team, rule, category, engineer, duration, reason),
            )
            note = message(text="Silence created.", colour="success")
        elif dash.callback_context.triggered_id == EXPIRE:
            for row in (selected or [])[:100]:
                api_client.call("DELETE", f"/notifications/silences/{row['id']}")
            note = message(text=f"Expired {len(selected or [])} silence(s).", colour="success")
    except ApiError as error:
        note = message(error)
    try:
        items = api_client.call("GET", "/notifications/silences")["items"]
    except ApiError as error:
        return [], note or message(error)
    return rows(items), note
