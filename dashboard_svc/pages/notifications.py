"""Notifications. Admins: the channels (masked; a test message reports the receiver's answer),
the routes that send alerts to them, and the delivery log with its dead letters, which can be
given a new round of attempts. Managers: their own e-mail subscriptions to their teams' alerts
(the address is confirmed with a code sent to it)."""

from __future__ import annotations

import contextlib

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, html

from dashboard_svc import api_client
from dashboard_svc.api_client import ApiError
from dashboard_svc.components import grid, message
from dashboard_svc.layout import principal, team_choices

PATH = "/notifications"
NAME = "Notifications"
ORDER = 8
FILTERS = ()

CHANNEL_GRID = "notification-channel-grid"
CHANNEL_TEST = "notification-channel-test"
ROUTE_GRID = "notification-route-grid"
DELIVERY_GRID = "notification-delivery-grid"
DELIVERY_STATUS = "notification-delivery-status"
DELIVERY_COUNTS = "notification-delivery-counts"
DELIVERY_RETRY = "notification-delivery-retry"
NOTE = "notification-note"
SUB_EMAIL = "subscription-email"
SUB_TEAM = "subscription-team"
SUB_DIGEST = "subscription-digest"
SUB_CREATE = "subscription-create"
SUB_CODE = "subscription-code"
SUB_CONFIRM = "subscription-confirm"
SUB_DELETE = "subscription-delete"
SUB_GRID = "subscription-grid"
SUB_NOTE = "subscription-note"
SUB_COLUMNS = [
    {"field": "recipient", "headerName": "Address", "minWidth": 180},
    {"field": "teams", "headerName": "Teams", "minWidth": 140},
    {"field": "digest", "headerName": "Weekly digest", "minWidth": 130},
    {"field": "state", "headerName": "State", "minWidth": 180, "flex": 2},
]
STATUSES = {"": "All", "pending": "Pending", "delivered": "Delivered", "dead": "Dead letters"}

CHANNEL_COLUMNS = [
    {"field": "name", "headerName": "Name", "minWidth": 160},
    {"field": "kind", "headerName": "Kind", "minWidth": 100},
    {"field": "target", "headerName": "Target (masked)", "minWidth": 260, "flex": 2},
]
ROUTE_COLUMNS = [
    {"field": "channel", "headerName": "Channel", "minWidth": 160},
    {"field": "matches", "headerName": "Matches", "minWidth": 240, "flex": 2},
    {"field": "timing", "headerName": "Wait / interval / repeat (s)", "minWidth": 200},
    {"field": "send_resolved", "headerName": "Resolved", "minWidth": 100},
    {"field": "digest", "headerName": "Digest", "minWidth": 90},
    {"field": "state", "headerName": "State", "minWidth": 150},
]
DELIVERY_COLUMNS = [
    {"field": "id", "headerName": "#", "minWidth": 80},
    {"field": "created_at", "headerName": "Queued (UTC)", "minWidth": 150},
    {"field": "channel_name", "headerName": "Channel", "minWidth": 140},
    {"field": "purpose", "headerName": "Purpose", "minWidth": 110},
    {"field": "alert_count", "headerName": "Alerts", "minWidth": 90},
    {"field": "status", "headerName": "Status", "minWidth": 110},
    {"field": "attempts", "headerName": "Attempts", "minWidth": 100},
    {"field": "last_error", "headerName": "Last error", "minWidth": 200, "flex": 2},
]


def is_admin() -> bool:
    user = principal()
    return bool(user and user.has_role("admin"))


def subscriptions():
    """A manager's own e-mail subscriptions: subscribe, confirm with the code, delete."""
    teams = team_choices() or []
    field = {"className": "small mb-0"}
    return html.Div(
        [
            html.H1("My e-mail notifications", className="h4"),
            html.P(
                "Alerts of your teams by e-mail, grouped per evaluation. A code is sent to the "
                "address; nothing else goes there until you enter it here. Silence known alerts "
                "on the Alerts page.",
                className="text-muted small",
            ),
            dbc.Row(
                [
                    dbc.Col(
                        [
                            dbc.Label("Your address", html_for=SUB_EMAIL, **field),
                            dbc.Input(id=SUB_EMAIL, type="email", size="sm", maxLength=254),
                        ],
                        md=4,
                    ),
                    dbc.Col(
                        [
                            dbc.Label("Team", html_for=SUB_TEAM, **field),
                            dbc.Select(
                                id=SUB_TEAM,
                                value="",
                                size="sm",
                                options=[{"label": "All my teams", "value": ""}]
                                + [{"label": t, "value": t} for t in teams],
                            ),
                        ],
                        md=3,
                    ),
                    dbc.Col(
                        dbc.Checkbox(id=SUB_DIGEST, label="Weekly digest too", value=False),
                        md=3,
                        className="pt-4",
                    ),
                    dbc.Col(
                        dbc.Button("Subscribe", id=SUB_CREATE, size="sm", className="mt-4"), md=2
                    ),
                ],
                className="g-2 mb-2",
            ),
            html.Div(id=SUB_NOTE, role="status"),
            grid(
                SUB_GRID,
                SUB_COLUMNS,
                grid_options={"rowSelection": {"mode": "singleRow", "checkboxes": True}},
                getRowId="params.data.id",
            ),
            dbc.Row(
                [
                    dbc.Col(
                        dbc.Input(
                            id=SUB_CODE, placeholder="code from the e-mail", size="sm", maxLength=64
                        ),
                        md=3,
                    ),
                    dbc.Col(
                        [
                            dbc.Button("Confirm selected", id=SUB_CONFIRM, size="sm"),
                            dbc.Button(
                                "Delete selected",
                                id=SUB_DELETE,
                                size="sm",
                                color="outline-danger",
                                className="ms-2",
                            ),
                        ],
                        md=6,
                    ),
                ],
                className="g-2 mt-2",
            ),
        ]
    )


def layout(**_query):
    if not is_admin():
        user = principal()
        if user is not None and user.has_role("manager"):
            return subscriptions()
        return html.Div(
            [
                html.H1("Notifications", className="h4"),
                dbc.Alert("Channels and the delivery log are for admins.", color="info"),
            ]
        )
    return html.Div(
        [
            html.H1("Notifications", className="h4"),
            html.Div(id=NOTE, role="status"),
            html.H2("Channels", className="h6 mt-3"),
            grid(
                CHANNEL_GRID,
                CHANNEL_COLUMNS,
                grid_options={"rowSelection": {"mode": "singleRow", "checkboxes": True}},
                getRowId="params.data.id",
            ),
            dbc.Button(
                "Send a test message",
                id=CHANNEL_TEST,
                size="sm",
                color="secondary",
                className="mt-2",
            ),
            html.H2("Routes", className="h6 mt-4"),
            grid(ROUTE_GRID, ROUTE_COLUMNS),
            html.H2("Delivery log", className="h6 mt-4"),
            dbc.Row(
                [
                    dbc.Col(
                        dbc.RadioItems(
                            id=DELIVERY_STATUS,
                            value="",
                            inline=True,
                            options=[{"label": t, "value": k} for k, t in STATUSES.items()],
                        ),
                        md=6,
                    ),
                    dbc.Col(html.Span(id=DELIVERY_COUNTS, className="small"), md=3),
                    dbc.Col(
                        dbc.Button(
                            "Retry selected dead letters",
                            id=DELIVERY_RETRY,
                            size="sm",
                            color="outline-primary",
                        ),
                        md=3,
                        className="text-md-end",
                    ),
                ],
                className="mb-2",
            ),
            grid(
                DELIVERY_GRID,
                DELIVERY_COLUMNS,
                grid_options={"rowSelection": {"mode": "multiRow", "checkboxes": True}},
                getRowId="params.data.id",
            ),
        ]
    )


def channel_rows(items: list[dict]) -> list[dict]:
    def target(config: dict) -> str:
        return config.get("url") or ", ".join(config.get("recipients", []))

    return [
        {"id": c["id"], "name": c["name"], "kind": c["kind"], "target": target(c["config"])}
        for c in items
    ]


def route_rows(items: list[dict], channels: dict[str, str]) -> list[dict]:
    def matches(route: dict) -> str:
        parts = [
            f"{name}: {', '.join(route[name])}"
            for name in ("teams", "rules", "categories")
            if route[name]
        ]
        return "; ".join(parts) or "every alert"

    return [
        {
            "channel": channels.get(r["channel_id"]) or r.get("recipient") or "self-service",
            "matches": matches(r),
            "timing": f"{r['group_wait_seconds']} / {r['group_interval_seconds']} / "
            f"{r['repeat_interval_seconds']}",
            "send_resolved": "yes" if r["send_resolved"] else "no",
            "digest": "weekly" if r["digest"] else "no",
            "state": ("self-service, " if r["self_service"] else "")
            + ("active" if r["confirmed"] else "awaiting confirmation"),
        }
        for r in items
    ]


def delivery_rows(items: list[dict]) -> list[dict]:
    return [{**d, "created_at": d["created_at"][:16].replace("T", " ")} for d in items]


def act(method: str, path: str) -> None:
    """An API call whose success is a 204 without a body (api_client.call reads JSON)."""
    with contextlib.suppress(ValueError):  # requests' JSONDecodeError of the empty 204 body
        api_client.call(method, path)


def subscription_rows(items: list[dict]) -> list[dict]:
    return [
        {
            "id": r["id"],
            "recipient": r.get("recipient") or "",
            "teams": ", ".join(r["teams"]) or "all",
            "digest": "yes" if r["digest"] else "no",
            "state": "active" if r["confirmed"] else "awaiting the code sent to the address",
        }
        for r in items
        if r["self_service"]
    ]


def register_callbacks(app: dash.Dash) -> None:
    @app.callback(
        Output(SUB_GRID, "rowData"),
        Output(SUB_NOTE, "children"),
        Input(SUB_CREATE, "n_clicks"),
        Input(SUB_CONFIRM, "n_clicks"),
        Input(SUB_DELETE, "n_clicks"),
        State(SUB_EMAIL, "value"),
        State(SUB_TEAM, "value"),
        State(SUB_DIGEST, "value"),
        State(SUB_CODE, "value"),
        State(SUB_GRID, "selectedRows"),
    )
    def subscriptions_changed(_create, _confirm, _delete, email, team, digest, code, selected):
        """Subscribe, confirm or delete (the button pressed), then list the own subscriptions."""
        pressed, note = dash.callback_context.triggered_id, None
        chosen = (selected or [None])[0]
        try:
            if pressed == SUB_CREATE:
                body = {"email": (email or "").strip(), "teams": [team] if team else []}
                api_client.call("POST", "/notifications/routes", json={**body, "digest": digest})
                note = message(
                    text="Subscribed: enter the code sent to the address.", colour="info"
                )
            elif pressed in (SUB_CONFIRM, SUB_DELETE) and chosen is None:
                note = message(text="Select a subscription first.", colour="info")
            elif pressed == SUB_CONFIRM:
                path = f"/notifications/routes/{chosen['id']}/confirm"
                api_client.call("POST", path, json={"code": (code or "").strip()})
                note = message(text="Confirmed: alerts go to this address now.", colour="success")
            elif pressed == SUB_DELETE:
                act("DELETE", f"/notifications/routes/{chosen['id']}")
                note = message(text="Subscription deleted.", colour="success")
        except ApiError as error:
            note = message(error)
        try:
            items = api_client.call("GET", "/notifications/routes")["items"]
        except ApiError as error:
            return [], note or message(error)
        return subscription_rows(items), note

    @app.callback(
        Output(CHANNEL_GRID, "rowData"),
        Output(ROUTE_GRID, "rowData"),
        Output(NOTE, "children", allow_duplicate=True),
        Input(CHANNEL_GRID, "id"),
        prevent_initial_call="initial_duplicate",
    )
    def load_configuration(_):
        try:
            channels = api_client.call("GET", "/notifications/channels")["items"]
            routes = api_client.call("GET", "/notifications/routes")["items"]
        except ApiError as error:
            return [], [], message(error)
        names = {c["id"]: c["name"] for c in channels}
        return channel_rows(channels), route_rows(routes, names), None

    @app.callback(
        Output(NOTE, "children", allow_duplicate=True),
        Input(CHANNEL_TEST, "n_clicks"),
        State(CHANNEL_GRID, "selectedRows"),
        prevent_initial_call=True,
    )
    def send_test(_clicks, selected):
        if not selected:
            return message(text="Select a channel first.", colour="info")
        try:
            answer = api_client.call("POST", f"/notifications/channels/{selected[0]['id']}/test")
        except ApiError as error:
            return message(error)
        verdict = "accepted" if answer["delivered"] else "refused"
        colour = "success" if answer["delivered"] else "warning"
        return message(text=f"The receiver {verdict} it: {answer['answer']}", colour=colour)

    @app.callback(
        Output(DELIVERY_GRID, "rowData"),
        Output(DELIVERY_COUNTS, "children"),
        Output(NOTE, "children", allow_duplicate=True),
        Input(DELIVERY_STATUS, "value"),
        Input(DELIVERY_RETRY, "n_clicks"),
        State(DELIVERY_GRID, "selectedRows"),
        prevent_initial_call="initial_duplicate",
    )
    def deliveries(status, _retry, selected):
        note = None
        try:
            if dash.callback_context.triggered_id == DELIVERY_RETRY:
                dead = [row for row in selected or [] if row["status"] == "dead"][:100]
                for row in dead:
                    act("POST", f"/notifications/deliveries/{row['id']}/retry")
                note = message(text=f"{len(dead)} dead letter(s) queued again.", colour="success")
            page = api_client.call(
                "GET", "/notifications/deliveries", params={"status": status, "limit": 200}
            )
        except ApiError as error:
            return [], "", message(error)
        counts = page["counts"]
        summary = (
            f"{counts['pending']} pending · {counts['delivered']} delivered · {counts['dead']} dead"
        )
        return delivery_rows(page["items"]), summary, note
