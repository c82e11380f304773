"""Request and response schemas of the QA API."""

from __future__ import annotations

from marshmallow import fields, validate

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


class EventSchema(Schema):
    session_id = fields.UUID(required=True)
    step = fields.Integer(load_default=None, validate=validate.Range(1, 7))
    field = fields.String(required=True, validate=EVENT_FIELD)
    outcome = fields.String(
        required=True, validate=validate.OneOf(("valid", "invalid", "warning", "error"))
    )
    code = fields.String(load_default=None, validate=CODE)
    attempt = fields.Integer(load_default=1, validate=validate.Range(1, 100))
    time = fields.AwareDateTime(load_default=None)
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


class ReviewItemSchema(Schema):
    session_id = fields.UUID()
    status = fields.String()
    errors = fields.Integer()
    restart_offered = fields.Boolean()
    agent_version = fields.String(allow_none=True)
    confidence_overall = fields.Float(allow_none=True)
    first_seen_at = fields.AwareDateTime()
    last_seen_at = fields.AwareDateTime()
    reviewer = fields.String(allow_none=True)
    notes = fields.String(allow_none=True)
    decided_at = fields.AwareDateTime(allow_none=True)


class ReviewQueueSchema(Schema):
    items = fields.List(fields.Nested(ReviewItemSchema))
    next_cursor = fields.String(
        allow_none=True,
        metadata={"description": "Pass as `cursor` for the next page; null at the end."},
    )


class ReviewInSchema(Schema):
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    notes = fields.String(load_default=None, validate=validate.Length(max=2000))


class ReviewSchema(Schema):
    session_id = fields.UUID()
    status = fields.String()
    notes = fields.String(allow_none=True)
    reviewer = fields.String(allow_none=True)
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
