"""Schemas of the gateway's own API (the audit log)."""

from __future__ import annotations

from marshmallow import fields, validate

from shared.api import PageArgsSchema, Schema

OUTCOMES = ("success", "failure", "denied")


class AuditQueryArgsSchema(PageArgsSchema):
    action = fields.String(validate=validate.Length(max=64))
    actor = fields.String(validate=validate.Length(max=128))
    outcome = fields.String(validate=validate.OneOf(OUTCOMES))
    from_ = fields.AwareDateTime(data_key="from")
    to = fields.AwareDateTime()


class AuditEventSchema(Schema):
    event_id = fields.Integer()
    occurred_at = fields.AwareDateTime()
    actor = fields.String()
    actor_roles = fields.List(fields.String())
    action = fields.String()
    object = fields.String(allow_none=True)
    outcome = fields.String()
    status = fields.Integer(allow_none=True)
    request_id = fields.String(allow_none=True)


class AuditPageSchema(Schema):
    items = fields.List(fields.Nested(AuditEventSchema))
    next_cursor = fields.String(allow_none=True)
