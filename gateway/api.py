"""The gateway's own API: the audit log for admins."""

from __future__ import annotations

from flask.views import MethodView

from gateway import store_audit
from gateway.schemas import AuditPageSchema, AuditQueryArgsSchema
from shared import db
from shared.api import Blueprint, cursor_int, decode_cursor, encode_cursor

blp = Blueprint("audit", __name__, description="Audit trail of security-relevant actions.")


@blp.route("/audit")
class AuditEvents(MethodView):
    @blp.roles("admin")
    @blp.doc(operationId="listAuditEvents")
    @blp.arguments(AuditQueryArgsSchema, location="query")
    @blp.response(200, AuditPageSchema)
    def get(self, args):
        """List audit events, newest first

        Logins, token issuance, denied access, exports, threshold changes, erasures and QA
        decisions; filter by action, actor, outcome and time.
        """
        before = decode_cursor(args["cursor"], cursor_int)[0] if args.get("cursor") else None
        with db.connection() as conn:
            rows = store_audit.list_audit_events(conn, args, limit=args["limit"], before=before)
        last = rows[-1] if len(rows) == args["limit"] else None
        return {"items": rows, "next_cursor": encode_cursor([last["event_id"]]) if last else None}
