"""Request and response schemas of the QA API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from marshmallow import ValidationError, fields, validate, validates_schema

from qa_svc import scoring
from shared import domain
from shared.api import PageArgsSchema, Schema, WholeText

FIELDS = ("engineer", "case_number", "languages", "record_type", "parts", "review")
# The documented vocabularies (docs/api.md): no name or case number fits in a field or a code.
EVENT_FIELD = validate.OneOf(domain.EVENT_FIELDS)
CODE = validate.OneOf(domain.EVENT_CODES)
AGENT_VERSION = WholeText(domain.AGENT_VERSION_PATTERN, error=domain.AGENT_VERSION_RULE)


class CheckSchema(Schema):
    session_id = fields.UUID(required=True)
    field = fields.String(required=True, validate=validate.OneOf(FIELDS))
    value = fields.Raw(
        required=True,
        allow_none=True,
        load_only=True,
        metadata={"description": "What the leader entered; checked, never stored."},
    )
    attempt = fields.Integer(load_default=None, validate=validate.Range(1, 100))
    record_type = fields.String(
        load_default=None,
        validate=validate.Length(max=20),
        metadata={"description": "For field=parts: the record type chosen before."},
    )
    agent_version = fields.String(load_default=None, validate=AGENT_VERSION)


class CheckResultSchema(Schema):
    valid = fields.Boolean()
    normalized = fields.Raw(allow_none=True)
    code = fields.String(allow_none=True)
    message = fields.String(allow_none=True)
    warnings = fields.List(fields.String())
    attempt = fields.Integer()
    restart_offered = fields.Boolean()
    defaults = fields.Dict()


# An agent's clock may run a little ahead of ours; an event later than that is a wrong clock or a
# forged time, and would sort first in every log for years (issue #24: events dated 4624).
CLOCK_SKEW = timedelta(minutes=5)


def not_in_the_future(moment: datetime) -> None:
    if moment > datetime.now(UTC) + CLOCK_SKEW:
        raise ValidationError("Lies in the future (more than 5 minutes ahead of the server).")


class EventSchema(Schema):
    session_id = fields.UUID(required=True)
    step = fields.Integer(load_default=None, validate=validate.Range(1, 7))
    field = fields.String(required=True, validate=EVENT_FIELD)
    outcome = fields.String(
        required=True, validate=validate.OneOf(("valid", "invalid", "warning", "error"))
    )
    code = fields.String(load_default=None, validate=CODE)
    attempt = fields.Integer(load_default=1, validate=validate.Range(1, 100))
    time = fields.AwareDateTime(load_default=None, validate=not_in_the_future)
    agent_version = fields.String(load_default=None, validate=AGENT_VERSION)
    message = fields.String(load_default=None, validate=validate.Length(max=200))
    confidence_overall = fields.Float(
        load_default=None,
        validate=validate.Range(0, 1),
        metadata={"description": "Overall confidence of the analysis, when the agent knows it."},
    )


class EventBatchSchema(Schema):
    events = fields.List(
        fields.Nested(EventSchema), required=True, validate=validate.Length(1, 500)
    )


class EventBatchResultSchema(Schema):
    recorded = fields.Integer()


class LoggedEventSchema(Schema):
    """One event of a session's validation log, oldest first."""

    occurred_at = fields.AwareDateTime()
    source = fields.String(metadata={"description": "check or agent"})
    step = fields.Integer(allow_none=True)
    field = fields.String()
    outcome = fields.String()
    code = fields.String(allow_none=True)
    attempt = fields.Integer()
    message = fields.String(allow_none=True)
    agent_version = fields.String(allow_none=True)


class ValidationLogSchema(Schema):
    session_id = fields.UUID()
    engineer_validity = fields.Boolean()
    case_attempts = fields.Integer()
    language_warnings = fields.Integer()
    record_type_status = fields.String()
    timestamp = fields.AwareDateTime(allow_none=True)
    restart_offered = fields.Boolean()
    events = fields.List(fields.Nested(LoggedEventSchema))
    text = fields.String()


class DaysArgsSchema(Schema):
    days = fields.Integer(load_default=30, validate=validate.Range(1, 365))


class SummaryItemSchema(Schema):
    code = fields.String()
    field = fields.String()
    agent_version = fields.String(allow_none=True)
    count = fields.Integer()
    sessions = fields.Integer()
    first_seen = fields.AwareDateTime()
    last_seen = fields.AwareDateTime()
    daily = fields.Dict(keys=fields.String(), values=fields.Integer())
    trend = fields.String(metadata={"description": "new, rising, falling, steady or regressed"})


class SummarySchema(Schema):
    items = fields.List(fields.Nested(SummaryItemSchema))


STATUSES = ("pending", "in_review", "reviewed", "flagged")


class ReviewQueueArgsSchema(PageArgsSchema):
    """Filters of the review queue; keyset pagination with `limit` and `cursor`."""

    has_errors = fields.Boolean(load_default=None)
    restart_offered = fields.Boolean(load_default=None)
    status = fields.String(load_default=None, validate=validate.OneOf(STATUSES))
    agent_version = fields.String(load_default=None, validate=AGENT_VERSION)
    low_confidence = fields.Boolean(
        load_default=None,
        metadata={
            "description": "Only sessions whose last reported overall confidence is below "
            "QA_LOW_CONFIDENCE (default 0.5, the spec's Low rating), or only the others "
            "(false: also sessions without a reported confidence)."
        },
    )
    assignee = fields.String(
        load_default=None,
        validate=validate.Length(1, 64),
        metadata={"description": "`me` (the caller), or a reviewer id: the sessions assigned."},
    )


class ReviewItemSchema(Schema):
    session_id = fields.UUID()
    status = fields.String()
    errors = fields.Integer()
    restart_offered = fields.Boolean()
    agent_version = fields.String(allow_none=True)
    confidence_overall = fields.Float(allow_none=True)
    first_seen_at = fields.AwareDateTime()
    last_seen_at = fields.AwareDateTime()
    reviewer = fields.String(allow_none=True, metadata={"description": "Display name."})
    assignee = fields.String(allow_none=True, metadata={"description": "Display name."})
    notes = fields.String(allow_none=True)
    decided_at = fields.AwareDateTime(allow_none=True)


class ReviewQueueSchema(Schema):
    items = fields.List(fields.Nested(ReviewItemSchema))
    next_cursor = fields.String(
        allow_none=True,
        metadata={"description": "Pass as `cursor` for the next page; null at the end."},
    )


class StrictBoolean(fields.Boolean):
    """true or false only: marshmallow's Boolean also takes 1, 0, "yes", "on" and the like, which
    the OpenAPI document (type boolean) does not allow."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


RATING = fields.Raw(
    metadata={
        "description": '1-5 (scales 1-5 and na_allowed_1-5), "pass" or "fail" (pass_fail), '
        'or "na" (na_allowed_1-5)',
        "oneOf": [{"type": "integer", "minimum": 1, "maximum": 5}, {"type": "string"}],
    }
)
CRITERION_KEY = WholeText(
    r"^[a-z][a-z0-9_]{0,39}$", error="Use 1-40 lower-case letters, digits or _, from a letter."
)


def ratings_field() -> fields.Dict:
    return fields.Dict(
        keys=fields.String(validate=CRITERION_KEY),
        values=RATING,
        load_default=None,
        validate=validate.Length(min=1, max=40),
        metadata={"description": "Criterion key -> rating; every criterion of the scorecard."},
    )


def comments_field() -> fields.Dict:
    return fields.Dict(
        keys=fields.String(validate=CRITERION_KEY),
        values=fields.String(validate=validate.Length(max=1000)),
        load_default=dict,
        validate=validate.Length(max=40),
        metadata={"description": "Criterion key -> comment (checked for personal data)."},
    )


class ReviewInSchema(Schema):
    status = fields.String(
        load_default=None,
        validate=validate.OneOf(STATUSES),
        metadata={"description": "Required without ratings; with ratings it defaults to reviewed."},
    )
    notes = fields.String(load_default=None, validate=validate.Length(max=2000))
    scorecard_id = fields.UUID(
        load_default=None, metadata={"description": "Scorecard version; the default one if none."}
    )
    ratings = ratings_field()
    comments = comments_field()

    @validates_schema
    def _status_or_ratings(self, data, **_kwargs):
        if data.get("status") is None and data.get("ratings") is None:
            raise ValidationError("Give a status, ratings, or both.", "status")


class ScoredSchema(Schema):
    scorecard_id = fields.UUID()
    scorecard_name = fields.String()
    scorecard_version = fields.Integer()
    ratings = fields.Dict(keys=fields.String(), values=RATING)
    comments = fields.Dict(keys=fields.String(), values=fields.String())
    quality_score = fields.Float(metadata={"description": "Weighted mean on 0-100."})
    scored_at = fields.AwareDateTime()


class ReviewSchema(Schema):
    session_id = fields.UUID()
    status = fields.String()
    notes = fields.String(allow_none=True)
    reviewer = fields.String(
        allow_none=True, metadata={"description": "Display name of the reviewer."}
    )
    scored = fields.Nested(
        ScoredSchema, allow_none=True, metadata={"description": "The caller's scored review."}
    )
    first_seen_at = fields.AwareDateTime()
    started_at = fields.AwareDateTime(allow_none=True)
    decided_at = fields.AwareDateTime(allow_none=True)
    updated_at = fields.AwareDateTime()


class DailyMetricsSchema(Schema):
    day = fields.Date()
    reviews = fields.Integer()
    median_hours_to_review = fields.Float(allow_none=True)
    first_pass_validity = fields.Float(allow_none=True)
    errors_per_100_sessions = fields.Float(allow_none=True)


class MetricsSchema(Schema):
    days = fields.Integer()
    series = fields.List(fields.Nested(DailyMetricsSchema))


class CriterionSchema(Schema):
    key = fields.String(required=True, validate=CRITERION_KEY)
    label = fields.String(required=True, validate=validate.Length(1, 120))
    weight = fields.Float(
        load_default=1.0, validate=validate.Range(min=0, max=100, min_inclusive=False)
    )
    scale = fields.String(load_default="1-5", validate=validate.OneOf(scoring.SCALES))


class ScorecardInSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(1, 120))
    criteria = fields.List(
        fields.Nested(CriterionSchema), required=True, validate=validate.Length(1, 40)
    )
    is_default = StrictBoolean(load_default=False)

    @validates_schema
    def _unique_keys(self, data, **_kwargs):
        keys = [criterion["key"] for criterion in data.get("criteria", [])]
        if len(keys) != len(set(keys)):
            raise ValidationError("Each criterion needs its own key.", "criteria")


class ScorecardSchema(Schema):
    scorecard_id = fields.UUID(metadata={"description": "Id of this version."})
    family_id = fields.UUID(metadata={"description": "Shared by every version of the scorecard."})
    version = fields.Integer()
    name = fields.String()
    criteria = fields.List(fields.Nested(CriterionSchema))
    is_default = fields.Boolean()
    is_latest = fields.Boolean()
    created_at = fields.AwareDateTime()


class ScorecardListArgsSchema(Schema):
    all_versions = fields.Boolean(load_default=False)  # a query argument: text, as in the queue


class ScorecardListSchema(Schema):
    items = fields.List(fields.Nested(ScorecardSchema))


GROUPS = ("agent_version", "week", "reviewer", "criterion")


# Periods within these bounds: the report turns them into UTC days, which must exist.
PERIOD_BOUNDS = validate.Range(
    min=datetime(1970, 1, 1, tzinfo=UTC),
    max=datetime(9000, 1, 1, tzinfo=UTC),
    error="Use a time between 1970 and 9000.",
)


class QualityArgsSchema(Schema):
    group_by = fields.String(load_default="agent_version", validate=validate.OneOf(GROUPS))
    from_ = fields.AwareDateTime(data_key="from", load_default=None, validate=PERIOD_BOUNDS)
    to = fields.AwareDateTime(load_default=None, validate=PERIOD_BOUNDS)

    @validates_schema
    def _ordered(self, data, **_kwargs):
        if data["from_"] and data["to"] and data["from_"] >= data["to"]:
            raise ValidationError("Must be later than from.", "to")


class ChangeSchema(Schema):
    previous_version = fields.String(allow_none=True)
    difference = fields.Float(metadata={"description": "This version's score minus the previous."})
    ci_low = fields.Float(allow_none=True, metadata={"description": "Welch 95 % interval, low."})
    ci_high = fields.Float(allow_none=True, metadata={"description": "Welch 95 % interval, high."})
    flagged = fields.Boolean(metadata={"description": "The whole interval lies below zero."})


class QualityItemSchema(Schema):
    agent_version = fields.String(allow_none=True)
    week = fields.Date(metadata={"description": "Monday of the ISO week."})
    reviewer = fields.String(metadata={"description": "Display name of the reviewer."})
    criterion = fields.String()
    reviews = fields.Integer()
    quality_score = fields.Float()
    criteria = fields.Dict(keys=fields.String(), values=fields.Float())
    change = fields.Nested(ChangeSchema, allow_none=True)


class QualitySchema(Schema):
    items = fields.List(fields.Nested(QualityItemSchema))


class ReviewerSchema(Schema):
    reviewer_id = fields.String(metadata={"description": "Subject id (for assignment calls)."})
    display_name = fields.String()
    active = fields.Boolean(metadata={"description": "Takes part in round-robin assignment."})
    seen_at = fields.AwareDateTime()


class ReviewerListSchema(Schema):
    items = fields.List(fields.Nested(ReviewerSchema))


class ReviewerInSchema(Schema):
    active = StrictBoolean(required=True)
