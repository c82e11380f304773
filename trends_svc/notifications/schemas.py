"""Request and response schemas of the notifications API."""

from __future__ import annotations

from marshmallow import ValidationError, fields, validate, validates_schema

from shared.api import PageArgsSchema, Schema, WholeText
from shared.domain import ROOT_CAUSES
from shared.pseudonyms import is_engineer_code
from trends_svc.thresholds import RULES

KINDS = ("email", "slack", "teams", "webhook")
TEAM = validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", error="Not a team name.")
DAY = 86400


class ChannelSchema(Schema):
    id = fields.UUID(dump_only=True, attribute="channel_id")
    name = fields.String(required=True, validate=validate.Length(1, 80))
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    config = fields.Dict(
        required=True,
        metadata={
            "description": "email: `recipients` (addresses); slack, teams: `url` (incoming or "
            "workflow webhook); webhook: `url` and optional `secret` (HMAC). Answers show URLs "
            "and addresses masked and secrets only as `secret_set`. On PUT a field left out "
            "keeps its stored value."
        },
    )
    created_at = fields.AwareDateTime(dump_only=True)
    updated_at = fields.AwareDateTime(dump_only=True)


class ChannelListSchema(Schema):
    items = fields.List(fields.Nested(ChannelSchema))


class ChannelTestSchema(Schema):
    delivered = fields.Boolean()
    answer = fields.String(metadata={"description": "The receiver's answer, in short."})


def _teams(**kwargs):
    return fields.List(fields.String(validate=TEAM), load_default=list, **kwargs)


class RouteSchema(Schema):
    id = fields.UUID(dump_only=True, attribute="route_id")
    channel_id = fields.UUID(metadata={"description": "An admin's channel (admins only)."})
    email = fields.Email(
        load_only=True,
        metadata={"description": "Self-service (managers): your own address instead of a channel."},
    )
    teams = _teams(metadata={"description": "Teams that match; empty: all."})
    rules = fields.List(fields.String(validate=validate.OneOf(RULES)), load_default=list)
    categories = fields.List(fields.String(validate=validate.OneOf(ROOT_CAUSES)), load_default=list)
    group_wait_seconds = fields.Integer(load_default=0, validate=validate.Range(0, DAY))
    group_interval_seconds = fields.Integer(load_default=300, validate=validate.Range(0, DAY))
    repeat_interval_seconds = fields.Integer(
        load_default=0, validate=validate.Range(0, 30 * DAY), metadata={"description": "0: never."}
    )
    send_resolved = fields.Boolean(load_default=True)
    digest = fields.Boolean(load_default=False, metadata={"description": "Weekly digest too."})
    self_service = fields.Boolean(dump_only=True)
    confirmed = fields.Boolean(dump_only=True)
    recipient = fields.String(
        dump_only=True, allow_none=True, metadata={"description": "Masked address."}
    )
    created_at = fields.AwareDateTime(dump_only=True)

    @validates_schema(pass_original=True)
    def _one_target(self, data, original, **_kwargs):
        if isinstance(original, dict) and ("channel_id" in original) == ("email" in original):
            raise ValidationError("Give exactly one of channel_id or email.", "channel_id")


class RouteListSchema(Schema):
    items = fields.List(fields.Nested(RouteSchema))


class ConfirmSchema(Schema):
    code = fields.String(required=True, load_only=True, validate=validate.Length(4, 64))


class MatchersSchema(Schema):
    rule = fields.String(validate=validate.OneOf(RULES))
    team = fields.String(validate=TEAM)
    engineer_code = fields.String()
    category = fields.String(validate=validate.OneOf(ROOT_CAUSES))

    @validates_schema
    def _code_form(self, data, **_kwargs):
        if "engineer_code" in data and not is_engineer_code(data["engineer_code"]):
            raise ValidationError("Not an engineer_code this platform issued.", "engineer_code")


class SilenceSchema(Schema):
    id = fields.UUID(dump_only=True, attribute="silence_id")
    matchers = fields.Nested(MatchersSchema, required=True)
    starts_at = fields.AwareDateTime(dump_only=True)
    ends_at = fields.AwareDateTime(required=True)
    reason = fields.String(
        required=True,
        validate=[
            validate.Length(1, 300),
            WholeText(r"^[^\x00-\x1f]*$", error="No control characters."),
        ],
    )
    created_by = fields.String(dump_only=True)
    created_at = fields.AwareDateTime(dump_only=True)
    active = fields.Boolean(dump_only=True)


class SilenceArgsSchema(Schema):
    active = fields.Boolean(load_default=True, metadata={"description": "false: expired too."})


class SilenceListSchema(Schema):
    items = fields.List(fields.Nested(SilenceSchema))


class DeliveryArgsSchema(PageArgsSchema):
    status = fields.String(validate=validate.OneOf(("pending", "delivered", "dead")))


class DeliverySchema(Schema):
    id = fields.Integer(attribute="message_id")
    channel_id = fields.UUID()
    channel_name = fields.String()
    kind = fields.String()
    route_id = fields.UUID(allow_none=True)
    purpose = fields.String()
    subject = fields.String(allow_none=True)
    alert_count = fields.Integer()
    status = fields.String()
    attempts = fields.Integer()
    last_error = fields.String(allow_none=True)
    created_at = fields.AwareDateTime()
    next_attempt_at = fields.AwareDateTime()
    delivered_at = fields.AwareDateTime(allow_none=True)


class DeliveryPageSchema(Schema):
    items = fields.List(fields.Nested(DeliverySchema))
    counts = fields.Dict(keys=fields.String(), values=fields.Integer())
    next_cursor = fields.String(allow_none=True)
