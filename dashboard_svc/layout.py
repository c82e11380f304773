"""The page shell: navigation, the shared filter bar, the filter store mirrored in the URL query
string, and the page container."""

from __future__ import annotations

from datetime import date

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback_context, dcc, html
from flask import g, request

from dashboard_svc import filters as shared_filters
from dashboard_svc import ids
from dashboard_svc.figures import label
from shared import domain

PRESET_LABELS = {
    "30d": "Last 30 days",
    "90d": "Last 90 days",
    "180d": "Last 6 months",
    "365d": "Last 12 months",
    "custom": "Custom range",
}
ALL_TEAMS_LABEL = "All my teams"


def principal():
    return getattr(g, "principal", None)


def team_choices() -> list[str] | None:
    """The teams a manager may pick; None for roles that see every team."""
    user = principal()
    if user is None or not user.team_scoped:
        return None
    return sorted(user.teams)


def shell():
    """The layout of every page (a function: evaluated per page load, for the user's teams)."""
    teams = team_choices()
    return html.Div(
        [
            dcc.Location(id=ids.URL, refresh=False),
            dcc.Store(id=ids.FILTERS, storage_type="memory"),
            navbar(),
            dbc.Container([filter_bar(teams), dash.page_container], fluid=True, className="pb-5"),
        ]
    )


def navbar():
    links = [
        dbc.NavItem(dbc.NavLink(page["name"], href=page["relative_path"], active="exact"))
        for page in dash.page_registry.values()
        if not page.get("path_template")
    ]
    links.append(dbc.NavItem(dbc.NavLink("QA", href="/qa/", external_link=True)))
    links.append(dbc.NavItem(sign_out_form()))
    return dbc.Navbar(
        dbc.Container(
            [
                dbc.NavbarBrand("CR Assistant — Dashboard", href="/dashboard/"),
                dbc.Nav(links, id=ids.NAV),
            ],
            fluid=True,
        ),
        color="primary",
        dark=True,
        className="mb-3",
    )


def sign_out_form():
    """Sign-out is a post to the gateway's /logout with the session's CSRF token, which the
    gateway hands to this request in X-Gateway-CSRF-Token (a link could be followed cross-site)."""
    return html.Form(
        [
            dcc.Input(
                type="hidden",
                name="csrf_token",
                value=request.headers.get("X-Gateway-CSRF-Token", ""),
            ),
            html.Button("Sign out", type="submit", className="nav-link btn btn-link"),
        ],
        action="/logout",
        method="POST",
    )


def filter_bar(teams: list[str] | None):
    team_options = [{"label": team, "value": team} for team in (teams or [])]
    return dbc.Card(
        dbc.CardBody(
            dbc.Row(
                [
                    _field(
                        "Period",
                        dcc.Dropdown(
                            id=ids.PRESET,
                            clearable=False,
                            options=[
                                {"label": text, "value": key} for key, text in PRESET_LABELS.items()
                            ],
                        ),
                        2,
                    ),
                    _field(
                        "Dates",
                        dcc.DatePickerRange(
                            id=ids.DATES,
                            display_format="YYYY-MM-DD",
                            max_date_allowed=date.today(),
                            minimum_nights=0,
                            clearable=False,
                        ),
                        3,
                    ),
                    _field(
                        "Team",
                        dcc.Dropdown(
                            id=ids.TEAM,
                            options=team_options,
                            placeholder=ALL_TEAMS_LABEL if teams else "All teams",
                            searchable=teams is None,
                        )
                        if teams
                        else dcc.Input(
                            id=ids.TEAM,
                            type="text",
                            placeholder="All teams",
                            debounce=True,
                            className="form-control",
                            maxLength=64,
                        ),
                        2,
                    ),
                    _field(
                        "Region",
                        dcc.Dropdown(
                            id=ids.REGION,
                            placeholder="All regions",
                            options=[{"label": r, "value": r} for r in shared_filters.REGIONS],
                        ),
                        1,
                    ),
                    _field(
                        "Language",
                        dcc.Dropdown(
                            id=ids.LANGUAGE,
                            placeholder="All",
                            options=[
                                {"label": code, "value": code}
                                for code in domain.SUPPORTED_LANGUAGES
                            ],
                        ),
                        1,
                    ),
                    _field(
                        "Root cause",
                        dcc.Dropdown(
                            id=ids.ROOT_CAUSE,
                            placeholder="All root causes",
                            options=[{"label": label(c), "value": c} for c in domain.ROOT_CAUSES],
                        ),
                        2,
                    ),
                    dbc.Col(
                        dbc.Button(
                            "Clear", id=ids.CLEAR, color="secondary", outline=True, className="mt-4"
                        ),
                        md=1,
                    ),
                ],
                className="g-2 align-items-start",
            )
        ),
        className="mb-3",
    )


def _field(text: str, control, width: int):
    return dbc.Col([dbc.Label(text, className="small fw-semibold mb-1"), control], md=width)


CONTROLS = (
    (ids.PRESET, "value"),
    (ids.DATES, "start_date"),
    (ids.DATES, "end_date"),
    (ids.TEAM, "value"),
    (ids.REGION, "value"),
    (ids.LANGUAGE, "value"),
    (ids.ROOT_CAUSE, "value"),
)


def register_callbacks(app: dash.Dash) -> None:
    @app.callback(
        Output(ids.FILTERS, "data"),
        Output(ids.URL, "search"),
        *[Output(component, prop) for component, prop in CONTROLS],
        Input(ids.URL, "search"),
        *[Input(component, prop) for component, prop in CONTROLS],
        Input(ids.CLEAR, "n_clicks"),
    )
    def sync_filters(search, preset, start, end, team, region, language, root_cause, _clear):
        """URL → controls on load and navigation; controls → store and URL on every change."""
        trigger = callback_context.triggered_id
        allowed = team_choices()
        if trigger in (None, ids.URL):
            chosen = shared_filters.from_query(search, allowed)
        elif trigger == ids.CLEAR:
            chosen = shared_filters.from_query("", allowed)
        else:
            if trigger == ids.DATES:
                preset = "custom"
            query = {
                "preset": preset,
                "team": team,
                "region": region,
                "language": language,
                "root_cause": root_cause,
            }
            if preset == "custom":
                query.update(start=(start or "")[:10], end=(end or "")[:10])
            chosen = shared_filters.from_query(shared_filters.to_query(query), allowed)
        return (
            chosen,
            shared_filters.to_query(chosen),
            chosen["preset"],
            chosen["start"],
            chosen["end"],
            chosen.get("team"),
            chosen.get("region"),
            chosen.get("language"),
            chosen.get("root_cause"),
        )


def set_filter_from_click(app: dash.Dash, figure_id: str, control_id: str, read) -> None:
    """Cross-filtering: a click on a chart element sets a filter control (and so every chart)."""

    @app.callback(
        Output(control_id, "value", allow_duplicate=True),
        Input(figure_id, "clickData"),
        State(control_id, "value"),
        prevent_initial_call=True,
    )
    def apply_click(click, current):
        value = read(click) if click else None
        if value is None:
            return dash.no_update
        return None if value == current else value  # a second click on the same element clears it
