"""HTTP layer of the QA service: parse, authorise, call one domain function, answer."""

from __future__ import annotations

import uuid

from flask import current_app
from flask.views import MethodView

from qa_svc import privacy, reviews, validation
from qa_svc import reviewers as reviewer_directory
from qa_svc.schemas import (
    CheckResultSchema,
    CheckSchema,
    DaysArgsSchema,
    EventBatchResultSchema,
    EventBatchSchema,
    MetricsSchema,
    ReviewInSchema,
    ReviewQueueArgsSchema,
    ReviewQueueSchema,
    ReviewSchema,
    SummarySchema,
    ValidationLogSchema,
)
from shared import db
from shared.api import Blueprint, current_principal, team_scope
from shared.errors import NotFound
from shared.web import settings_of

blp = Blueprint("validation", __name__, description="The agent's validation checks and log.")


@blp.route("/validation/check")
class ValidationCheck(MethodView):
    @blp.roles("agent", "admin")
    @blp.doc(operationId="checkInput")
    @blp.arguments(CheckSchema)
    @blp.response(200, CheckResultSchema)
    @blp.alt_response(403, description="A session's log was written for another team.")
    def post(self, data):
        """Check one input of the agent's workflow

        Engineer name, case number, languages, record type, parts or the step-6 review; answers
        with the spec's message and logs the outcome without the value. An agent acting for
        teams writes only to sessions logged within its teams (else 403 naming `session_id`).
        """
        with db.connection() as conn:
            return validation.check(
                conn,
                data["session_id"],
                data["field"],
                data["value"],
                attempt=data["attempt"],
                record_type=data["record_type"],
                agent_version=data["agent_version"],
                teams=team_scope(),
            )


@blp.route("/validation/events")
class ValidationEvents(MethodView):
    @blp.roles("agent", "admin")
    @blp.doc(operationId="reportValidationEvents")
    @blp.arguments(EventBatchSchema)
    @blp.response(201, EventBatchResultSchema)
    @blp.alt_response(403, description="A session's log was written for another team.")
    def post(self, data):
        """Report validation events and runtime errors

        Up to 500 events (step, field, outcome, code, attempt, time, agent version, short
        non-personal message such as a model time-out). An agent acting for teams writes only to
        sessions logged within its teams (else 403 naming each `events.N.session_id`).
        """
        privacy.refuse_personal_data(
            privacy.text_guard(),
            {
                f"events.{index}.message": event["message"]
                for index, event in enumerate(data["events"])
            },
        )
        with db.connection() as conn:
            return {"recorded": validation.record_events(conn, data["events"], team_scope())}


@blp.route("/validation/sessions/<uuid:session_id>")
class ValidationLog(MethodView):
    @blp.roles("agent", "qa_lead", "admin")
    @blp.doc(operationId="showValidationLog")
    @blp.response(200, ValidationLogSchema)
    def get(self, session_id: uuid.UUID):
        """Show Validation Log of one session

        The spec's summary (engineer validity, case attempts, language warnings, record type,
        last error time), the event timeline, restart offered, and a `text` rendering. An agent
        acting for teams reads its teams' sessions only (404 for any other).
        """
        with db.connection() as conn:
            summary = validation.session_log(conn, session_id, team_scope())
        if summary is None:
            raise NotFound("No validation events for this session.")
        return summary


@blp.route("/validation/summary")
class ErrorSummary(MethodView):
    @blp.roles("qa_lead", "admin")
    @blp.doc(operationId="validationErrorSummary")
    @blp.arguments(DaysArgsSchema, location="query")
    @blp.response(200, SummarySchema)
    def get(self, args):
        """Error summary of the validation log

        Grouped by code, field and agent version: counts, sessions affected, first/last seen, a
        daily series and the trend (new, rising, falling, steady, regressed).
        """
        with db.connection() as conn:
            return {"items": reviews.error_summary(conn, args["days"])}


@blp.route("/validation/metrics")
class ReviewMetrics(MethodView):
    @blp.roles("qa_lead", "admin")
    @blp.doc(operationId="validationMetrics")
    @blp.arguments(DaysArgsSchema, location="query")
    @blp.response(200, MetricsSchema)
    def get(self, args):
        """QA efficiency over time

        Per day: reviews decided, median hours to review, first-pass validity rate and errors
        per 100 sessions.
        """
        with db.connection() as conn:
            return reviews.metrics(conn, args["days"])


@blp.route("/qa/reviews")
class ReviewQueue(MethodView):
    @blp.roles("qa_lead", "admin")
    @blp.doc(operationId="listReviewQueue")
    @blp.arguments(ReviewQueueArgsSchema, location="query")
    @blp.response(200, ReviewQueueSchema)
    def get(self, args):
        """The review queue: sessions of the validation log with their review state

        Newest activity first; filters: has errors, restart offered, low confidence (below
        QA_LOW_CONFIDENCE), status, agent version, assignee (`me` for the caller's own work);
        keyset pagination with `limit` and `cursor`.
        """
        if args["assignee"] == "me":
            args["assignee"] = current_principal().subject
        with db.connection() as conn:
            reviewer_directory.note(conn, current_principal())
            return reviews.queue(conn, args, settings_of(current_app).qa_low_confidence)


@blp.route("/qa/reviews/<uuid:session_id>")
class SessionReview(MethodView):
    @blp.roles("qa_lead", "admin")
    @blp.doc(operationId="reviewSession")
    @blp.arguments(ReviewInSchema)
    @blp.response(200, ReviewSchema)
    def post(self, data, session_id: uuid.UUID):
        """Record a review decision and the caller's scorecard ratings

        Status and notes, and/or `ratings` on a scorecard (default if no `scorecard_id`) with
        `comments`; quality score = weighted mean on 0-100, N/A left out with its weight. Notes
        and comments are PII-checked (422 naming the field).
        """
        with db.connection() as conn:
            return reviews.record(
                conn,
                session_id,
                data,
                current_principal(),
                guard=privacy.text_guard(),
            )
