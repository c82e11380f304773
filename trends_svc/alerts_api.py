"""HTTP layer of the alerts (on the trends blueprint): list, export, and decisions by hand on one
alert or many, all or none."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Sequence
from typing import Any

from flask import Response, current_app
from flask.views import MethodView

from shared import db
from shared.api import (
    READERS,
    current_principal,
    cursor_time,
    cursor_uuid,
    decode_cursor,
    encode_cursor,
    team_scope,
)
from shared.spreadsheet import neutralise
from trends_svc import alerts, notifications, store_alerts
from trends_svc.api import blp
from trends_svc.schemas import (
    AlertArgsSchema,
    AlertDecisionSchema,
    AlertExportArgsSchema,
    AlertListSchema,
    AlertPageSchema,
    AlertSchema,
)

DECIDERS = ("manager", "admin")


@blp.route("/alerts")
class Alerts(MethodView):
    @blp.roles(*READERS)
    @blp.doc(operationId="listAlerts")
    @blp.arguments(AlertArgsSchema, location="query")
    @blp.response(200, AlertPageSchema)
    def get(self, args):
        """List alerts, newest first

        Filters: status, rule, team, engineer_code. Managers see their own teams only.
        """
        after = (
            decode_cursor(args["cursor"], cursor_time, cursor_uuid) if args.get("cursor") else None
        )
        with db.connection() as conn:
            rows = store_alerts.list_alerts(
                conn, args, limit=args["limit"], after=after, teams=team_scope()
            )
            silenced = notifications.silenced_alerts(conn, rows, notifications.clock())
        last = rows[-1] if len(rows) == args["limit"] else None
        cursor = encode_cursor([last["opened_at"].isoformat(), last["alert_id"]]) if last else None
        items = [alerts.public(row, row["alert_id"] in silenced) for row in rows]
        return {"items": items, "next_cursor": cursor}


@blp.route("/alerts/export")
class AlertExport(MethodView):
    @blp.roles(*READERS)
    @blp.doc(operationId="exportAlerts")
    @blp.arguments(AlertExportArgsSchema, location="query")
    @blp.response(200, description="The alerts as CSV or JSON.")
    def get(self, args):
        """Export alerts as CSV or JSON

        The alerts of the list's filters as a download (`format=csv` or `json`); spreadsheet
        formulas in cells are neutralised. Managers get their own teams' alerts only.
        """
        with db.connection() as conn:
            found = store_alerts.list_alerts(conn, args, limit=None, after=None, teams=team_scope())
            silenced = notifications.silenced_alerts(conn, found, notifications.clock())
            rows = [alerts.public(row, row["alert_id"] in silenced) for row in found]
        return alert_file(rows, args["format"])


def alert_file(rows: list[dict], fmt: str) -> Response:
    dumped = AlertSchema(many=True).dump(rows)
    if fmt == "json":
        body, media = json.dumps(dumped), "application/json"
    else:
        buffer = io.StringIO()
        columns = list(AlertSchema().fields)
        writer = csv.writer(buffer)
        writer.writerow(columns)
        for row in dumped:
            writer.writerow([_cell(row[c]) for c in columns])
        body, media = buffer.getvalue(), "text/csv; charset=utf-8"
    return Response(
        body,
        content_type=media,
        headers={"Content-Disposition": f'attachment; filename="alerts.{fmt}"'},
    )


def _cell(value: Any) -> Any:
    if isinstance(value, dict):
        return json.dumps(value)
    return neutralise(value) if isinstance(value, str) else value


def decide(alert_ids: Sequence[uuid.UUID], status: str) -> list[dict]:
    """The caller's decision on these alerts, in one transaction (alerts.decide)."""
    with db.connection() as conn:
        decided = alerts.decide(
            conn,
            alert_ids,
            status,
            current_principal().subject,
            teams=team_scope(),
            notify_base=current_app.extensions["notify_base"],
        )
    return [alerts.public(alert) for alert in decided]


@blp.route("/alerts/decisions")
class AlertDecisions(MethodView):
    @blp.roles(*DECIDERS)
    @blp.doc(operationId="decideAlerts")
    @blp.arguments(AlertDecisionSchema)
    @blp.response(200, AlertListSchema)
    def post(self, data):
        """Acknowledge or resolve many alerts at once, all or none

        Up to 500 ids in one transaction: 404 naming the ids not found in your teams, 409 naming
        those resolved already; then nothing changes. Managers of the alerts' teams and admins.
        """
        return {"items": decide(data["ids"], data["status"])}


@blp.route("/alerts/<uuid:alert_id>/ack")
class AcknowledgeAlert(MethodView):
    @blp.roles(*DECIDERS)
    @blp.doc(operationId="acknowledgeAlert")
    @blp.response(200, AlertSchema)
    def post(self, alert_id: uuid.UUID):
        """Acknowledge an alert (who and when are kept)

        An open alert becomes acknowledged: someone is on it. Managers of the alert's team and
        admins only.
        """
        return decide([alert_id], "acknowledged")[0]


@blp.route("/alerts/<uuid:alert_id>/resolve")
class ResolveAlert(MethodView):
    @blp.roles(*DECIDERS)
    @blp.doc(operationId="resolveAlert")
    @blp.response(200, AlertSchema)
    def post(self, alert_id: uuid.UUID):
        """Resolve an alert by hand

        An open or acknowledged alert becomes resolved (409 when it already is). Managers of the
        alert's team and admins only.
        """
        return decide([alert_id], "resolved")[0]
