"""HTTP layer of scorecards, the quality report and the reviewer directory."""

from __future__ import annotations

import uuid

from flask.views import MethodView

from qa_svc import privacy, quality, quality_store, scorecards
from qa_svc import reviewers as reviewer_directory
from qa_svc.schemas import (
    QualityArgsSchema,
    QualitySchema,
    ReviewerInSchema,
    ReviewerListSchema,
    ReviewerSchema,
    ScorecardInSchema,
    ScorecardListArgsSchema,
    ScorecardListSchema,
    ScorecardSchema,
)
from shared import db
from shared.api import Blueprint, current_principal
from shared.errors import NotFound

blp = Blueprint("quality", __name__, description="QA scorecards, quality scores and reviewers.")
LEADS = ("qa_lead", "admin")


@blp.route("/qa/scorecards")
class Scorecards(MethodView):
    @blp.roles(*LEADS)
    @blp.doc(operationId="listScorecards")
    @blp.arguments(ScorecardListArgsSchema, location="query")
    @blp.response(200, ScorecardListSchema)
    def get(self, args):
        """List scorecards

        The latest version of each scorecard, or every version with `all_versions=true`.
        """
        with db.connection() as conn:
            return {"items": quality_store.list_scorecards(conn, **args)}

    @blp.roles(*LEADS)
    @blp.doc(operationId="createScorecard")
    @blp.arguments(ScorecardInSchema)
    @blp.response(201, ScorecardSchema)
    def post(self, data):
        """Create a scorecard

        Criteria with a key, a label, a weight and a scale (1-5, pass_fail, na_allowed_1-5). The
        first scorecard, or one created with `is_default`, becomes the default. Name and labels
        are checked for personal data (422 naming the field).
        """
        with db.connection() as conn:
            return scorecards.create(conn, data, current_principal().subject, privacy.text_guard())


@blp.route("/qa/scorecards/<uuid:scorecard_id>")
class Scorecard(MethodView):
    @blp.roles(*LEADS)
    @blp.doc(operationId="showScorecard")
    @blp.response(200, ScorecardSchema)
    def get(self, scorecard_id: uuid.UUID):
        """Show one scorecard version

        Its criteria (key, label, weight, scale), version number and whether it is the default.
        """
        with db.connection() as conn:
            card = quality_store.get_scorecard(conn, scorecard_id)
        if card is None:
            raise NotFound(scorecards.NO_SCORECARD)
        return card

    @blp.roles(*LEADS)
    @blp.doc(operationId="reviseScorecard")
    @blp.arguments(ScorecardInSchema)
    @blp.response(201, ScorecardSchema)
    @blp.alt_response(409, description="The version edited is not the latest.")
    def put(self, data, scorecard_id: uuid.UUID):
        """Edit a scorecard: creates its next version

        Reviews made with an older version keep it; the new version stays the default when the
        edited one was. Only the latest version can be edited (409 otherwise).
        """
        with db.connection() as conn:
            return scorecards.revise(
                conn, scorecard_id, data, current_principal().subject, privacy.text_guard()
            )


@blp.route("/qa/quality")
class Quality(MethodView):
    @blp.roles(*LEADS)
    @blp.doc(operationId="qualityReport")
    @blp.arguments(QualityArgsSchema, location="query")
    @blp.response(200, QualitySchema)
    def get(self, args):
        """Quality scores by agent version, week, reviewer or criterion

        Per group: reviews, the mean quality score (0-100) and the mean of each criterion, over
        [from, to). By agent version each item also compares with the previous version: the
        difference and Welch's 95 % interval, flagged when the interval lies below zero.
        """
        with db.connection() as conn:
            return {"items": quality.report(conn, args["group_by"], args["from_"], args["to"])}


@blp.route("/qa/reviewers")
class Reviewers(MethodView):
    @blp.roles(*LEADS)
    @blp.doc(operationId="listReviewers")
    @blp.response(200, ReviewerListSchema)
    def get(self):
        """List the QA reviewers: display name and whether they are assigned work

        A QA lead joins the list by using QA.
        """
        with db.connection() as conn:
            reviewer_directory.note(conn, current_principal())
            return {"items": quality_store.list_reviewers(conn)}


@blp.route("/qa/reviewers/<string:reviewer_id>")
class Reviewer(MethodView):
    @blp.roles(*LEADS)
    @blp.doc(operationId="updateReviewer")
    @blp.arguments(ReviewerInSchema)
    @blp.response(200, ReviewerSchema)
    def patch(self, data, reviewer_id: str):
        """Take a reviewer into round-robin assignment or out of it

        `{"active": false}`: sampling runs assign this reviewer no new sessions.
        """
        with db.connection() as conn:
            row = quality_store.set_reviewer_active(conn, reviewer_id, data["active"])
        if row is None:
            raise NotFound("No such reviewer.")
        return row
