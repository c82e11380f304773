"""Request and response schemas of the trends API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from marshmallow import ValidationError, fields, validate, validates, validates_schema

from shared import domain
from shared.api import PageArgsSchema, Schema
from shared.pseudonyms import is_engineer_code
from trends_svc.thresholds import RULES

TEAM = validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", error="Not a team name.")
NOT_AN_ENGINEER_CODE = "Not an engineer_code this platform issued."


UNTIL_CLOCK_SKEW = timedelta(minutes=5)


def check_until(value: datetime) -> None:
    """A period may end in the past (a previous quarter) but not in the future: its sessions
    would not exist yet and "previous period" would mean something else."""
    if value > datetime.now(UTC) + UNTIL_CLOCK_SKEW:
        raise ValidationError("Must not be in the future.")


def until_field() -> fields.AwareDateTime:
    """Where Compare History's current period ends, checked by check_until."""
    return fields.AwareDateTime(
        validate=check_until,
        metadata={"description": "End of the current period (default now; not in the future)."},
    )


class CompareSchema(Schema):
    engineer = fields.String(
        load_only=True,
        metadata={"description": "Engineer name; pseudonymised on the fly, never stored."},
    )
    engineer_code = fields.String(metadata={"description": "Pseudonym instead of a name."})
    period_days = fields.Integer(load_default=30, validate=validate.Range(1, 365))
    until = until_field()

    @validates("engineer_code")
    def _engineer_code_format(self, value: str, **_kwargs) -> None:
        if not is_engineer_code(value):
            raise ValidationError(NOT_AN_ENGINEER_CODE)

    @validates("engineer")
    def _engineer_name(self, value: str, **_kwargs) -> None:
        result = domain.check_engineer_name(value)
        if not result.valid:
            raise ValidationError(result.message)

    @validates_schema(pass_original=True)
    def _one_subject(self, data, original, **_kwargs):
        if not isinstance(original, dict):
            return  # not an object at all: marshmallow already says "Invalid input type"
        if ("engineer" in original) == ("engineer_code" in original):
            raise ValidationError("Give exactly one of engineer or engineer_code.", "engineer")


class HistoryArgsSchema(Schema):
    period_days = fields.Integer(load_default=30, validate=validate.Range(1, 365))
    until = until_field()


class PeriodSchema(Schema):
    from_ = fields.AwareDateTime(data_key="from", attribute="from")
    to = fields.AwareDateTime()
    sessions = fields.Integer()
    mean_sentiment = fields.Float(allow_none=True)
    mean_confidence = fields.Float(allow_none=True)
    root_causes = fields.Dict(keys=fields.String(), values=fields.Integer())


class AlertSchema(Schema):
    id = fields.UUID()
    rule = fields.String()
    scope = fields.String()
    engineer_code = fields.String(allow_none=True)
    team = fields.String(allow_none=True)
    category = fields.String(allow_none=True)
    status = fields.String()
    severity = fields.String()
    evidence = fields.Dict()
    opened_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()
    resolved_at = fields.AwareDateTime(allow_none=True)
    acknowledged_at = fields.AwareDateTime(allow_none=True)
    acknowledged_by = fields.String(allow_none=True)
    silenced = fields.Boolean(metadata={"description": "A silence holds its notifications back."})


class TimelineWeekSchema(Schema):
    week = fields.Date(metadata={"description": "Monday of the ISO week."})
    sessions = fields.Integer()
    mean_sentiment = fields.Float(allow_none=True)
    mean_confidence = fields.Float(allow_none=True)


class CompareResultSchema(Schema):
    engineer_code = fields.String()
    period_days = fields.Integer()
    current = fields.Nested(PeriodSchema)
    previous = fields.Nested(PeriodSchema)
    delta = fields.Dict()
    recurring = fields.List(fields.Dict())
    streaks = fields.List(fields.Dict())
    team = fields.String(allow_none=True)
    team_baseline = fields.Nested(PeriodSchema, allow_none=True)
    timeline = fields.List(fields.Nested(TimelineWeekSchema))
    alerts = fields.List(fields.Nested(AlertSchema))
    text = fields.String()


class TrendArgsSchema(Schema):
    team = fields.String(validate=TEAM)
    region = fields.String(validate=validate.Length(1, 64))
    root_cause = fields.String(validate=validate.OneOf(domain.ROOT_CAUSES))
    language = fields.String(validate=validate.OneOf(domain.SUPPORTED_LANGUAGES))
    from_ = fields.AwareDateTime(data_key="from")
    to = fields.AwareDateTime()


class TrendRowSchema(Schema):
    week = fields.Date()
    team = fields.String()
    region = fields.String(allow_none=True)
    language = fields.String()
    root_cause = fields.String()
    sessions = fields.Integer()
    mean_sentiment = fields.Float(allow_none=True)
    mean_confidence = fields.Float(allow_none=True)
    most_common_root_cause = fields.String()


class EngineerArgsSchema(TrendArgsSchema):
    limit = fields.Integer(load_default=200, validate=validate.Range(1, 1000))


class EngineerRowSchema(Schema):
    engineer_code = fields.String()
    team = fields.String()
    sessions = fields.Integer()
    mean_sentiment = fields.Float(allow_none=True)
    mean_confidence = fields.Float(allow_none=True)
    most_common_root_cause = fields.String()
    last_analysed_at = fields.AwareDateTime()


class EngineerPageSchema(Schema):
    items = fields.List(fields.Nested(EngineerRowSchema))


class TrendPageSchema(Schema):
    items = fields.List(fields.Nested(TrendRowSchema))


# The one definition of an open alert, shared by the API, the dashboard's Overview card and its
# Alerts page's Open tab: fired and not yet acknowledged or resolved (acknowledged is not open).
ALERT_STATUS_DESCRIPTION = (
    "`open`: fired and not yet acknowledged or resolved (an acknowledged alert is not open); "
    "`acknowledged`: someone is on it; `resolved`: by hand or because its condition stopped holding."
)


class AlertFilterSchema(Schema):
    """What a page or an export of alerts can be narrowed to."""

    status = fields.String(
        validate=validate.OneOf(("open", "acknowledged", "resolved")),
        metadata={"description": ALERT_STATUS_DESCRIPTION},
    )
    rule = fields.String(validate=validate.OneOf(RULES))
    team = fields.String(validate=TEAM)
    engineer_code = fields.String(validate=validate.Length(1, 64))
    category = fields.String(
        validate=validate.OneOf(domain.ROOT_CAUSES),
        metadata={"description": "The root cause an alert is about (recurring-issue alerts)."},
    )


class AlertArgsSchema(PageArgsSchema, AlertFilterSchema):
    """A page of alerts, narrowed."""


class AlertExportArgsSchema(AlertFilterSchema):
    format = fields.String(load_default="csv", validate=validate.OneOf(("csv", "json")))


class AlertPageSchema(Schema):
    items = fields.List(fields.Nested(AlertSchema))
    next_cursor = fields.String(allow_none=True)


MAX_DECISIONS = 500


def _unique(values: list) -> None:
    if len(set(values)) != len(values):
        raise ValidationError("Each id may be named once.")


class AlertDecisionSchema(Schema):
    ids = fields.List(
        fields.UUID(),
        required=True,
        validate=[validate.Length(1, MAX_DECISIONS), _unique],
        metadata={"description": f"The alerts to decide on, 1 to {MAX_DECISIONS}, each once."},
    )
    status = fields.String(
        required=True,
        validate=validate.OneOf(("acknowledged", "resolved")),
        metadata={"description": "What every one of them becomes."},
    )


class AlertListSchema(Schema):
    items = fields.List(fields.Nested(AlertSchema))


class ThresholdSchema(Schema):
    rule = fields.String(dump_only=True)
    params = fields.Dict(required=True)
    enabled = fields.Boolean(load_default=True)
    updated_at = fields.AwareDateTime(dump_only=True)
    updated_by = fields.String(dump_only=True)


class ThresholdListSchema(Schema):
    items = fields.List(fields.Nested(ThresholdSchema))


class EvaluationSchema(Schema):
    opened = fields.Integer(metadata={"description": "Alerts opened (when `evaluated`)."})
    updated = fields.Integer(metadata={"description": "Alerts whose evidence changed."})
    resolved = fields.Integer(metadata={"description": "Alerts resolved."})
    evaluated = fields.Boolean(
        metadata={
            "description": "False when the worker was evaluating: it evaluates again at once "
            "and the alerts show its result."
        }
    )
    applied_changes = fields.Integer(metadata={"description": "Changes this call applied."})
    caught_up = fields.Boolean(
        metadata={"description": "The projection reached the end of the change feed."}
    )
    lag_changes = fields.Integer(
        metadata={"description": "Changes not projected yet (the worker applies them)."}
    )
    projected_through = fields.AwareDateTime(
        allow_none=True, metadata={"description": "When the newest projected change was written."}
    )


class ErasureSchema(Schema):
    engineer_code = fields.String()
    sessions_deleted = fields.Integer()
