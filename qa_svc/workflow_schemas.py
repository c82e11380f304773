"""Request and response schemas of sampling, assignment and calibration (QA's workflow)."""

from __future__ import annotations

from marshmallow import ValidationError, fields, validate, validates_schema

from qa_svc.schemas import RATING, StrictBoolean, comments_field, ratings_field
from shared.api import Schema


class SamplingRulesSchema(Schema):
    percent = fields.Float(
        required=True,
        validate=validate.Range(0, 100),
        metadata={"description": "Share of the other sessions drawn at random, per agent version."},
    )
    always_errors = StrictBoolean(load_default=True)
    always_restart = StrictBoolean(load_default=True)
    always_low_confidence = StrictBoolean(load_default=True)
    updated_at = fields.AwareDateTime(dump_only=True)


class SamplingRunInSchema(Schema):
    quiet_minutes = fields.Integer(
        strict=True,
        load_default=30,
        validate=validate.Range(0, 7 * 24 * 60),
        metadata={"description": "Consider sessions whose last event is at least this old."},
    )
    seed = fields.Integer(
        strict=True,
        load_default=None,
        validate=validate.Range(0, 2**63 - 1),
        metadata={"description": "Seed of the random draw (repeatable runs)."},
    )


class SamplingRunSchema(Schema):
    considered = fields.Integer()
    sampled = fields.Integer()
    by_reason = fields.Dict(keys=fields.String(), values=fields.Integer())
    assigned = fields.Dict(
        keys=fields.String(), values=fields.Integer(), metadata={"description": "By display name."}
    )
    unassigned = fields.Integer(metadata={"description": "Sampled with no active reviewer."})


class AssignmentInSchema(Schema):
    reviewer_id = fields.String(required=True, validate=validate.Length(1, 64))


class AssignmentEntrySchema(Schema):
    reviewer = fields.String(metadata={"description": "Display name."})
    reason = fields.String(metadata={"description": "sampling or reassignment"})
    assigned_by = fields.String(metadata={"description": "Display name."})
    assigned_at = fields.AwareDateTime()


class AssignmentSchema(Schema):
    session_id = fields.UUID()
    history = fields.List(fields.Nested(AssignmentEntrySchema))


class CalibrationInSchema(Schema):
    session_ids = fields.List(fields.UUID(), required=True, validate=validate.Length(1, 50))
    reviewer_ids = fields.List(
        fields.String(validate=validate.Length(1, 64)),
        required=True,
        validate=validate.Length(2, 20),
    )
    scorecard_id = fields.UUID(load_default=None)

    @validates_schema
    def _distinct(self, data, **_kwargs):
        for name in ("session_ids", "reviewer_ids"):
            if len(set(data.get(name, []))) != len(data.get(name, [])):
                raise ValidationError("Name each one once.", name)


class CalibrationRatingInSchema(Schema):
    session_id = fields.UUID(required=True)
    ratings = ratings_field()
    comments = comments_field()

    @validates_schema
    def _rated(self, data, **_kwargs):
        if data.get("ratings") is None:
            raise ValidationError("Rate the session.", "ratings")


class CalibrationRatingSchema(Schema):
    session_id = fields.UUID()
    reviewer = fields.String(metadata={"description": "Display name."})
    ratings = fields.Dict(keys=fields.String(), values=RATING)
    comments = fields.Dict(keys=fields.String(), values=fields.String())
    quality_score = fields.Float()


class CriterionAgreementSchema(Schema):
    criterion = fields.String()
    percent_agreement = fields.Float(
        allow_none=True, metadata={"description": "Share of agreeing pairs of reviewers (0-1)."}
    )
    krippendorff_alpha = fields.Float(
        allow_none=True,
        metadata={
            "description": "Ordinal for 1-5 scales, nominal for pass/fail; null when "
            "the ratings vary too little to tell."
        },
    )


class SpreadSchema(Schema):
    session_id = fields.UUID()
    scores = fields.List(fields.Float())
    min = fields.Float()
    max = fields.Float()
    stdev = fields.Float(allow_none=True)


class CalibrationSchema(Schema):
    calibration_id = fields.UUID()
    scorecard_id = fields.UUID()
    session_ids = fields.List(fields.UUID())
    reviewers = fields.List(fields.String(), metadata={"description": "Display names."})
    created_at = fields.AwareDateTime()
    complete = fields.Boolean(metadata={"description": "Every reviewer scored every session."})
    scored = fields.Integer(metadata={"description": "Ratings given so far."})
    expected = fields.Integer(metadata={"description": "Ratings wanted (sessions x reviewers)."})
    my_ratings = fields.List(
        fields.Nested(CalibrationRatingSchema), metadata={"description": "The caller's own."}
    )
    ratings = fields.List(
        fields.Nested(CalibrationRatingSchema),
        allow_none=True,
        metadata={"description": "Everyone's, once complete (blind until then: null)."},
    )
    agreement = fields.List(fields.Nested(CriterionAgreementSchema), allow_none=True)
    spread = fields.List(fields.Nested(SpreadSchema), allow_none=True)
    mean_stdev = fields.Float(
        allow_none=True,
        metadata={"description": "Mean over sessions of the spread (stdev) of quality scores."},
    )


class CalibrationListSchema(Schema):
    items = fields.List(fields.Nested(CalibrationSchema))
