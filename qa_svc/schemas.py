"""Request and response schemas of the QA API."""

from __future__ import annotations

from marshmallow import fields, validate

from shared.api import Schema

FIELDS = ("engineer", "case_number", "languages", "record_type", "parts", "review")
CODE = validate.Regexp(r"^[a-z][a-z0-9_]{0,63}$", error="Use a lower-case code like model_timeout.")


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
    agent_version = fields.String(load_default=None, validate=validate.Length(max=64))


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
    field = fields.String(required=True, validate=validate.Regexp(r"^[a-z_]{1,32}$"))
    outcome = fields.String(
        required=True, validate=validate.OneOf(("valid", "invalid", "warning", "error"))
    )
    code = fields.String(load_default=None, validate=CODE)
    attempt = fields.Integer(load_default=1, validate=validate.Range(1, 100))
    time = fields.AwareDateTime(load_default=None)
    agent_version = fields.String(load_default=None, validate=validate.Length(max=64))
    message = fields.String(load_default=None, validate=validate.Length(max=200))


class EventBatchSchema(Schema):
    events = fields.List(
        fields.Nested(EventSchema), required=True, validate=validate.Length(1, 500)
    )


class EventBatchResultSchema(Schema):
    recorded = fields.Integer()


class ValidationLogSchema(Schema):
    session_id = fields.UUID()
    engineer_validity = fields.Boolean()
    case_attempts = fields.Integer()
    language_warnings = fields.Integer()
    record_type_status = fields.String()
    timestamp = fields.AwareDateTime(allow_none=True)
    restart_offered = fields.Boolean()
    events = fields.List(fields.Dict())
    text = fields.String()
