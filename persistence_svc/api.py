"""HTTP layer of the persistence service: parse, authorise, call one domain function, answer."""

from __future__ import annotations

import uuid

from flask import current_app, url_for
from flask.views import MethodView

from persistence_svc import changes, exports, imports, sessions, store
from persistence_svc.schemas import (
    BatchInSchema,
    BatchResultSchema,
    ChangeArgsSchema,
    ChangePageSchema,
    EngineerBatchCodesSchema,
    EngineerBatchLookupSchema,
    EngineerCodeSchema,
    EngineerLookupSchema,
    ErasureResultSchema,
    ExportArgsSchema,
    FreeTextCheckSchema,
    FreeTextFindingsSchema,
    ImportArgsSchema,
    ImportReportSchema,
    SessionInSchema,
    SessionPageSchema,
    SessionQueryArgsSchema,
    SessionSchema,
    SessionWriteArgsSchema,
)
from shared import db
from shared.api import (
    FEED_PAGE_HEADER,
    READERS,
    Blueprint,
    current_principal,
    cursor_time,
    cursor_uuid,
    decode_cursor,
    encode_cursor,
    team_scope,
)
from shared.errors import NotFound, Unprocessable
from shared.pseudonyms import engineer_code, is_engineer_code

blp = Blueprint("sessions", __name__, description="Anonymized analyses of the CR Assistant Agent.")
internal = Blueprint("internal", __name__, description="Feeds for other services (not public).")

WRITERS = ("agent", "admin")
TEXT_CHECKER = "text_checker"  # the QA service's call (shared.tokens.SERVICE_CALLS)


def pseudonym_key() -> bytes:
    return current_app.extensions["pseudonym_key"]


@blp.route("/sessions")
class Sessions(MethodView):
    @blp.roles(*READERS)
    @blp.doc(operationId="listSessions")
    @blp.arguments(SessionQueryArgsSchema, location="query")
    @blp.response(200, SessionPageSchema)
    def get(self, args):
        """List sessions, newest first

        Filters by team, region, engineer_code, root cause, language and analysis time; keyset
        pagination with `limit` and `cursor`. Managers see their own teams only.
        """
        after = (
            decode_cursor(args["cursor"], cursor_time, cursor_uuid) if args.get("cursor") else None
        )
        with db.connection() as conn:
            rows = store.list_sessions(
                conn, args, limit=args["limit"], after=after, teams=team_scope()
            )
        last = rows[-1] if len(rows) == args["limit"] else None
        next_cursor = (
            encode_cursor([last["analysed_at"].isoformat(), last["session_id"]]) if last else None
        )
        return {"items": rows, "next_cursor": next_cursor}

    @blp.roles(*WRITERS)
    @blp.doc(operationId="createSession")
    @blp.arguments(SessionWriteArgsSchema, location="query")
    @blp.arguments(SessionInSchema)
    @blp.response(201, SessionSchema)
    @blp.alt_response(
        200, schema=SessionSchema, description="Already stored with the same content."
    )
    @blp.alt_response(409, description="The session_id exists with different content.")
    def post(self, args, data):
        """Store one analysis

        Names and case numbers are replaced by pseudonyms and never stored. Sending the same
        `session_id` and content again answers 200 without a duplicate; other content, 409.
        """
        sessions.check_team_or_refuse(data["team"], team_scope())
        key = pseudonym_key()
        with db.connection() as conn:
            known = sessions.known_engineers(conn, key)
            record = sessions.prepare_or_reject(data, key, redact=args["redact"], known=known)
            row, created = sessions.store_session(conn, record)
        location = url_for("sessions.SessionById", session_id=row["session_id"])
        return row, 201 if created else 200, {"Location": location}


@blp.route("/sessions/batch")
class SessionBatch(MethodView):
    @blp.roles(*WRITERS)
    @blp.doc(operationId="createSessionBatch")
    @blp.arguments(SessionWriteArgsSchema, location="query")
    @blp.arguments(BatchInSchema)
    @blp.response(200, BatchResultSchema)
    def post(self, args, data):
        """Store up to 1000 analyses

        Each item is validated and stored on its own terms; the answer lists per item whether it
        was created, unchanged, a conflict or invalid (with the fields at fault; an item of a team
        outside a team-scoped caller's teams is invalid for `team`).
        """
        with db.connection() as conn:
            return sessions.store_batch(
                conn, data["items"], pseudonym_key(), redact=args["redact"], teams=team_scope()
            )


@blp.route("/sessions/<uuid:session_id>")
class SessionById(MethodView):
    @blp.roles(*READERS)
    @blp.doc(operationId="getSession")
    @blp.response(200, SessionSchema)
    def get(self, session_id: uuid.UUID):
        """Get one session

        Another team's session answers 404 for a manager, exactly like a missing one.
        """
        with db.connection() as conn:
            row = store.get_session(conn, session_id, team_scope())
        if row is None:
            raise NotFound("No session with this id.")
        return row


@blp.route("/engineers/lookup")
class EngineerLookup(MethodView):
    @blp.roles("agent", *READERS)
    @blp.doc(operationId="lookupEngineer")
    @blp.arguments(EngineerLookupSchema)
    @blp.response(200, EngineerCodeSchema)
    def post(self, data):
        """Find an engineer's pseudonym

        The name travels in the body only (never in a URL) and is not stored.
        """
        sessions.check_engineer_or_reject(data["engineer"])
        return {"engineer_code": engineer_code(data["engineer"], pseudonym_key())}


@blp.route("/engineers/lookup/batch")
class EngineerBatchLookup(MethodView):
    @blp.roles("agent", *READERS)
    @blp.doc(operationId="lookupEngineers")
    @blp.arguments(EngineerBatchLookupSchema)
    @blp.response(200, EngineerBatchCodesSchema)
    def post(self, data):
        """Find the pseudonyms of many engineers at once

        Up to 100 names, in the body only, none stored; each answer names its name by its place
        in the request (`engineer`), never by the name. An invalid name is a 422 naming its place
        (`engineers.3`); then none is looked up.
        """
        codes = sessions.engineer_codes_or_reject(data["engineers"], pseudonym_key())
        return {"items": [{"engineer": i, "engineer_code": code} for i, code in enumerate(codes)]}


@blp.route("/engineers/<string:engineer_code>")
class Engineer(MethodView):
    @blp.roles("admin")
    @blp.doc(operationId="eraseEngineer")
    @blp.response(200, ErasureResultSchema)
    def delete(self, engineer_code: str):
        """Erase everything stored about one engineer

        Deletes the engineer's sessions; the change feed carries the deletions to other services.
        """
        if not is_engineer_code(engineer_code):
            raise Unprocessable(
                errors=[
                    {
                        "field": "engineer_code",
                        "reason": "Not an engineer_code this platform issued.",
                    }
                ]
            )
        with db.connection() as conn:
            deleted = store.delete_engineer_sessions(conn, engineer_code)
        return {"engineer_code": engineer_code, "sessions_deleted": deleted}


@internal.route("/internal/changes")
class Changes(MethodView):
    @internal.roles("changes_reader")
    @internal.doc(operationId="listChanges")
    @internal.arguments(ChangeArgsSchema, location="query")
    @internal.response(200, ChangePageSchema)
    def get(self, args):
        """Follow session changes

        Inserts, updates and deletes in commit order; a cursor never skips a committed change.
        """
        after = changes.parse_cursor(args["after"])
        if args["format"] == "rows":
            with db.connection() as conn:
                summary, rows = changes.page_rows(
                    conn, after, args["limit"], args.get("session_fields")
                )
            return current_app.response_class(
                rows,
                mimetype="application/octet-stream",
                headers={FEED_PAGE_HEADER: summary},
            )
        with db.connection() as conn:
            page = changes.page(conn, after, args["limit"], args.get("session_fields"))
        # PostgreSQL wrote the answer in ChangePageSchema's shape: passed on as it is.
        return current_app.response_class(page, mimetype="application/json")


@internal.route("/internal/free-text/check")
class FreeTextCheck(MethodView):
    @internal.roles(TEXT_CHECKER)
    @internal.doc(operationId="checkFreeText")
    @internal.arguments(FreeTextCheckSchema)
    @internal.response(200, FreeTextFindingsSchema)
    def post(self, data):
        """Find personal data in other services' free text

        The PII guard of the sessions, with the names of the engineers stored now; answers kinds
        and positions only. The texts are neither stored nor logged.
        """
        with db.connection() as conn:
            return sessions.personal_data_in(conn, data["texts"], pseudonym_key())


IMPORT_BODY = {
    "required": True,
    "description": "The file as the raw body, or a multipart field `file`. Columns/keys are the "
    "POST /sessions field names; CSV lists joined with `;`.",
    "content": {
        "text/csv": {"schema": {"type": "string"}},
        "application/json": {
            "schema": {
                "type": "array",
                "items": {},
                "description": "Records (objects with the POST /sessions fields). Like a bad CSV "
                "row, an item that is not a valid record is reported by row and skipped.",
            }
        },
        "application/x-ndjson": {"schema": {"type": "string"}},
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}},
            }
        },
    },
}


@blp.route("/imports")
class Imports(MethodView):
    @blp.roles("admin")
    @blp.doc(operationId="importSessions", requestBody=IMPORT_BODY)
    @blp.arguments(ImportArgsSchema, location="query")
    @blp.response(200, ImportReportSchema)
    @blp.alt_response(202, schema=ImportReportSchema, description="Large file: runs on.")
    def post(self, args):
        """Import sessions from CSV, JSON or NDJSON

        Bad rows are reported (row, field, code) and skipped; good rows go in. A file that cannot
        be parsed writes nothing. `dry_run=true` only reports.
        """
        upload, media_type = imports.file_of_request(
            current_app.extensions["settings"].max_import_bytes
        )
        body, background = imports.import_file(
            current_app._get_current_object(),
            upload,
            media_type,
            dry_run=args["dry_run"],
            created_by=current_principal().subject,
        )
        location = url_for("sessions.ImportById", import_id=body["id"])
        return body, 202 if background else 200, {"Location": location}


@blp.route("/imports/<uuid:import_id>")
class ImportById(MethodView):
    @blp.roles("admin")
    @blp.doc(operationId="getImport")
    @blp.response(200, ImportReportSchema)
    def get(self, import_id: uuid.UUID):
        """Get an import's progress and report

        `status` (running, completed, failed), `processed` of `total` records, the counts of
        inserted, unchanged and rejected rows, and each rejected row's number, field, code and
        message. A failed import says where it stopped; importing the same file again loads the
        rest.
        """
        with db.connection() as conn:
            body = imports.stored_report(conn, import_id)
        if body is None:
            raise NotFound("No import with this id.")
        return body


@blp.route("/sessions/export")
class SessionExport(MethodView):
    @blp.roles(*READERS)
    @blp.doc(operationId="exportSessions")
    @blp.arguments(ExportArgsSchema, location="query")
    @blp.response(200, description="The file (CSV, JSON array or NDJSON), streamed.")
    def get(self, args):
        """Export sessions as CSV, JSON or NDJSON

        The list filters apply; managers get their own teams only. The CSV imports unchanged.
        """
        return exports.export_response(args, team_scope())
