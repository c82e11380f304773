"""The page shell: navigation (who is signed in, the links their role opens, the filters carried
along), the shared filter bar (only the filters the page applies), the filter store mirrored in
the URL query string, the private roster's store, and the page container."""

from __future__ import annotations

from datetime import date

import dash
import dash_bootstrap_components as dbc
from dash import ALL, ClientsideFunction, Input, Output, State, callback_context, dcc, html
from flask import g, request

from dashboard_svc import filters as shared_filters
from dashboard_svc import ids
from dashboard_svc.figures import label
from shared import domain

PRESET_LABELS = {
    "7d": "Last 7 days",
    "30d": "Last 30 days",
    "90d": "Last 90 days",
    "180d": "Last 6 months",
    "365d": "Last 12 months",
    "this_quarter": "This quarter",
    "previous_quarter": "Previous quarter",
    "custom": "Custom range",
}
ALL_TEAMS_LABEL = "All my teams"
ROLE_LABELS = {"admin": "Admin", "qa_lead": "QA lead", "manager": "Manager"}
# The filter bar's fields; a page lists in FILTERS the ones it applies, the others are hidden.
FIELDS = ("period", "team", "region", "language", "root_cause")


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
            # The roster of names lives in this browser only; no server callback reads it.
            dcc.Store(id=ids.ROSTER, storage_type="local"),
            dcc.Store(id=ids.PAGE_FILTERS, data=page_filters()),
            navbar(),
            dbc.Container([filter_bar(teams), dash.page_container], fluid=True, className="pb-5"),
        ]
    )


def page_filters() -> dict[str, list[str]]:
    """Which filter fields each page applies, by its path (a path template by its prefix)."""
    from dashboard_svc.pages import PAGES  # the pages import this module

    mapping = {}
    for page in PAGES:
        path = "/dashboard" + (page.PATH if page.PATH != "/" else "/")
        template = getattr(page, "PATH_TEMPLATE", None)
        if template:
            path = "/dashboard" + template.split("<")[0] + "*"
        mapping[path] = list(getattr(page, "FILTERS", FIELDS))
    return mapping


def signed_in_label() -> str:
    """`Demo Manager · Manager (emea-1)`: who is signed in (the display name the gateway puts in
    the internal token) and in which role."""
    user = principal()
    if user is None:
        return ""
    role = next((text for key, text in ROLE_LABELS.items() if user.has_role(key)), "")
    if user.team_scoped and user.teams:
        role = f"{role} ({', '.join(sorted(user.teams))})"
    return f"{user.name} · {role}" if user.name else role


def navbar():
    user = principal()
    links = [
        dbc.NavItem(
            dbc.NavLink(
                page["name"],
                href=page["relative_path"],
                id={"type": ids.NAV_LINK, "index": page["relative_path"]},
            )
        )
        for page in dash.page_registry.values()
        if not page.get("path_template")
    ]
    if user is not None and user.has_role("qa_lead", "admin"):  # the QA UI refuses managers
        links.append(dbc.NavItem(dbc.NavLink("QA", href="/qa/", external_link=True)))
    return dbc.Navbar(
        dbc.Container(
            [
                dbc.NavbarBrand("CR Assistant", href="/dashboard/", className="brand"),
                dbc.Collapse(
                    dbc.Nav(links, id=ids.NAV, navbar=True, className="me-auto"),
                    id=ids.NAV_COLLAPSE,
                    navbar=True,
                    is_open=False,
                    className="order-last order-xxl-1",
                ),
                # who is signed in and the sign-out stay visible when the links fold away
                html.Div(
                    [
                        html.Span(signed_in_label(), className="signed-in", id="signed-in"),
                        sign_out_form(),
                        dbc.NavbarToggler(id=ids.NAV_TOGGLE, className="ms-2"),
                    ],
                    className="d-flex align-items-center ms-auto order-1 order-xxl-2",
                ),
            ],
            fluid=True,
        ),
        expand="xxl",
        dark=True,
        className="cr-navbar mb-3",
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
            html.Button("Sign out", type="submit", className="nav-link btn btn-link sign-out"),
        ],
        action="/logout",
        method="POST",
    )


def filter_bar(teams: list[str] | None):
    team_options = [{"label": team, "value": team} for team in (teams or [])]
    return dbc.Card(
        dbc.CardBody(
            [
                dbc.Row(
                    [
                        _field(
                            "period",
                            "Period",
                            dcc.Dropdown(
                                id=ids.PRESET,
                                clearable=False,
                                searchable=False,
                                options=[
                                    {"label": text, "value": key}
                                    for key, text in PRESET_LABELS.items()
                                ],
                            ),
                        ),
                        _field(
                            "period",
                            "Dates",
                            dcc.DatePickerRange(
                                id=ids.DATES,
                                display_format="YYYY-MM-DD",
                                max_date_allowed=date.today(),
                                minimum_nights=0,
                                clearable=False,
                            ),
                            index="dates",
                        ),
                        _field(
                            "team",
                            "Team",
                            dcc.Dropdown(
                                id=ids.TEAM,
                                options=team_options,
                                placeholder=ALL_TEAMS_LABEL,
                                searchable=False,
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
                        ),
                        _field(
                            "region",
                            "Region",
                            dcc.Dropdown(
                                id=ids.REGION,
                                placeholder="All regions",
                                searchable=False,
                                options=[{"label": r, "value": r} for r in shared_filters.REGIONS],
                            ),
                        ),
                        _field(
                            "language",
                            "Language",
                            dcc.Dropdown(
                                id=ids.LANGUAGE,
                                placeholder="All languages",
                                searchable=False,
                                options=[
                                    {"label": code, "value": code}
                                    for code in domain.SUPPORTED_LANGUAGES
                                ],
                            ),
                        ),
                        _field(
                            "root_cause",
                            "Root cause",
                            dcc.Dropdown(
                                id=ids.ROOT_CAUSE,
                                placeholder="All root causes",
                                searchable=False,
                                options=[
                                    {"label": label(c), "value": c} for c in domain.ROOT_CAUSES
                                ],
                            ),
                        ),
                        dbc.Col(
                            dbc.Button(
                                "Clear filters",
                                id=ids.CLEAR,
                                color="secondary",
                                outline=True,
                            ),
                            width="auto",
                            className="ms-auto",
                        ),
                    ],
                    className="g-2 align-items-end",
                ),
                html.Div(id=ids.FILTER_NOTE, className="text-muted small mt-1"),
            ]
        ),
        id=ids.FILTER_BAR,
        className="mb-3 filter-bar",
    )


def _field(key: str, text: str, control, index: str | None = None):
    """A labelled filter control; its width comes from theme.css (wide enough for its longest
    value), and the bar wraps onto a second line on narrow screens instead of clipping."""
    return dbc.Col(
        [dbc.Label(text, className="small fw-semibold mb-1"), control],
        id={"type": ids.FILTER_FIELD, "index": index or key},
        className=f"filter-field filter-{index or key}",
        width="auto",
    )


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
        State(ids.FILTERS, "data"),
    )
    def sync_filters(search, preset, start, end, team, region, language, root_cause, _clear, old):
        """URL → controls on load and navigation; controls → store and URL on every change."""
        trigger = callback_context.triggered_id
        allowed = team_choices()
        if trigger in (None, ids.URL):
            chosen = shared_filters.from_query(search, allowed)
        elif trigger == ids.CLEAR:
            status = (old or {}).get("status")
            chosen = shared_filters.from_query(shared_filters.to_query({"status": status}))
        else:
            if trigger == ids.DATES:
                preset = "custom"
            query = {
                "preset": preset,
                "team": team,
                "region": region,
                "language": language,
                "root_cause": root_cause,
                "status": (old or {}).get("status"),
            }
            if preset == "custom":
                query.update(start=(start or "")[:10], end=(end or "")[:10])
            chosen = shared_filters.from_query(shared_filters.to_query(query), allowed)
        if old == chosen and trigger in (None, ids.URL):
            raise dash.exceptions.PreventUpdate  # the same view: nothing to load again
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

    # The navbar keeps the filters (not the Alerts tab) and marks the page that is open.
    app.clientside_callback(
        ClientsideFunction("shell", "navLinks"),
        Output({"type": ids.NAV_LINK, "index": ALL}, "href"),
        Output({"type": ids.NAV_LINK, "index": ALL}, "active"),
        Input(ids.URL, "search"),
        Input(ids.URL, "pathname"),
        State({"type": ids.NAV_LINK, "index": ALL}, "id"),
    )
    app.clientside_callback(
        ClientsideFunction("shell", "filterFields"),
        Output({"type": ids.FILTER_FIELD, "index": ALL}, "style"),
        Output(ids.FILTER_BAR, "style"),
        Output(ids.FILTER_NOTE, "children"),
        Input(ids.URL, "pathname"),
        State(ids.PAGE_FILTERS, "data"),
        State({"type": ids.FILTER_FIELD, "index": ALL}, "id"),
    )
    app.clientside_callback(
        ClientsideFunction("shell", "toggle"),
        Output(ids.NAV_COLLAPSE, "is_open"),
        Input(ids.NAV_TOGGLE, "n_clicks"),
        Input(ids.URL, "pathname"),  # a page change folds the links away again
        State(ids.NAV_COLLAPSE, "is_open"),
        prevent_initial_call=True,
    )


def set_filter_from_click(app: dash.Dash, figure_id: str, key: str, read) -> None:
    """Cross-filtering: a click on a chart element sets a filter in the URL (and so the filter
    bar and every chart); a second click on the same element clears it."""

    @app.callback(
        Output(ids.URL, "search", allow_duplicate=True),
        Input(figure_id, "clickData"),
        State(ids.FILTERS, "data"),
        prevent_initial_call=True,
    )
    def apply_click(click, current):
        value = read(click) if click else None
        if value is None or not current:
            return dash.no_update
        chosen = dict(current)
        chosen[key] = None if current.get(key) == value else value
        return shared_filters.to_query(chosen)
