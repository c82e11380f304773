"""HTTP layer of QA's workflow: sampling rules and runs, reassignment, calibrations."""

from __future__ import annotations

import uuid

from flask import current_app
from flask.views import MethodView

from qa_svc import assignment_store, calibration, calibration_store, privacy, sampling
from qa_svc import reviewers as reviewer_directory
from qa_svc.workflow_schemas import (
    AssignmentInSchema,
    AssignmentSchema,
    CalibrationInSchema,
    CalibrationListSchema,
    CalibrationRatingInSchema,
    CalibrationSchema,
    SamplingRulesSchema,
    SamplingRunInSchema,
    SamplingRunSchema,
)
from shared import db
from shared.api import Blueprint, current_principal
from shared.web import settings_of

blp = Blueprint("workflow", __name__, description="QA sampling, assignment and calibration.")
LEADS = ("qa_lead", "admin")


@blp.route("/qa/sampling")
class SamplingRules(MethodView):
    @blp.roles(*LEADS)
    @blp.doc(operationId="showSamplingRules")
    @blp.response(200, SamplingRulesSchema)
    def get(self):
        """The sampling rules

        The always-rules (errors, restart offered, low confidence) and the random percentage.
        """
        with db.connection() as conn:
            return assignment_store.get_rules(conn)

    @blp.roles(*LEADS)
    @blp.doc(operationId="setSamplingRules")
    @blp.arguments(SamplingRulesSchema)
    @blp.response(200, SamplingRulesSchema)
    def put(self, data):
        """Set the sampling rules

        Sessions with errors, a restart offered or low confidence are always sampled (each rule
        can be turned off); `percent` of the others, drawn per agent version.
        """
        with db.connection() as conn:
            assignment_store.get_rules(conn, lock=True)
            return assignment_store.set_rules(conn, data)


@blp.route("/qa/sampling/run")
class SamplingRun(MethodView):
    @blp.roles(*LEADS)
    @blp.doc(operationId="runSampling")
    @blp.arguments(SamplingRunInSchema, required=False)
    @blp.response(200, SamplingRunSchema)
    def post(self, data):
        """Sample the sessions not considered yet and assign them round-robin

        Each session is decided once; sampled ones go to the active reviewers in turn.
        """
        with db.connection() as conn:
            reviewer_directory.note(conn, current_principal())
            return sampling.run(
                conn,
                current_principal().subject,
                low_confidence_below=settings_of(current_app).qa_low_confidence,
                **data,
            )


@blp.route("/qa/assignments/<uuid:session_id>")
class Assignment(MethodView):
    @blp.roles(*LEADS)
    @blp.doc(operationId="reassignSession")
    @blp.arguments(AssignmentInSchema)
    @blp.response(200, AssignmentSchema)
    @blp.alt_response(409, description="That reviewer was assigned this session before.")
    def post(self, data, session_id: uuid.UUID):
        """Reassign a session to another reviewer

        Kept in the session's assignment history (and the gateway's audit trail); nobody is
        assigned the same session twice (409).
        """
        with db.connection() as conn:
            reviewer_directory.note(conn, current_principal())
            return sampling.reassign(
                conn, session_id, data["reviewer_id"], current_principal().subject
            )


@blp.route("/qa/calibrations")
class Calibrations(MethodView):
    @blp.roles(*LEADS)
    @blp.doc(operationId="listCalibrations")
    @blp.response(200, CalibrationListSchema)
    def get(self):
        """List calibrations

        Newest first, each as GET /qa/calibrations/{id} shows it (blind until complete).
        """
        with db.connection() as conn:
            rows = calibration_store.list_calibrations(conn)
            return {"items": [calibration.summary(conn, r, current_principal()) for r in rows]}

    @blp.roles(*LEADS)
    @blp.doc(operationId="createCalibration")
    @blp.arguments(CalibrationInSchema)
    @blp.response(201, CalibrationSchema)
    def post(self, data):
        """Create a calibration: sessions every named reviewer scores blind

        Reviewers by id (GET /qa/reviewers); the default scorecard unless one is named.
        """
        principal = current_principal()
        with db.connection() as conn:
            reviewer_directory.note(conn, principal)
            row = calibration.create(
                conn,
                data["session_ids"],
                data["reviewer_ids"],
                data["scorecard_id"],
                principal.subject,
            )
            return calibration.summary(conn, row, principal)


@blp.route("/qa/calibrations/<uuid:calibration_id>")
class Calibration(MethodView):
    @blp.roles(*LEADS)
    @blp.doc(operationId="showCalibration")
    @blp.response(200, CalibrationSchema)
    def get(self, calibration_id: uuid.UUID):
        """Show a calibration: agreement per criterion once everyone has scored

        Until then only the progress and the caller's own ratings (blind); then everyone's
        ratings, percent agreement and Krippendorff's alpha per criterion, and the spread of
        the quality scores per session.
        """
        with db.connection() as conn:
            return calibration.show(conn, calibration_id, current_principal())


@blp.route("/qa/calibrations/<uuid:calibration_id>/ratings")
class CalibrationRating(MethodView):
    @blp.roles(*LEADS)
    @blp.doc(operationId="rateCalibrationSession")
    @blp.arguments(CalibrationRatingInSchema)
    @blp.response(200, CalibrationSchema)
    @blp.alt_response(409, description="Everyone has scored; the ratings are final.")
    def post(self, data, calibration_id: uuid.UUID):
        """Score one session of a calibration (participants only)

        Comments are checked for personal data (422 naming the field).
        """
        principal = current_principal()
        with db.connection() as conn:
            reviewer_directory.note(conn, principal)
            calibration.rate(
                conn,
                calibration_id,
                data["session_id"],
                principal,
                data["ratings"],
                data["comments"],
                privacy.text_guard(),
            )
            return calibration.show(conn, calibration_id, principal)
