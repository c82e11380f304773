"""The private roster's look-up: the browser sends the names of the manager's team (in the body),
gets back their pseudonyms and keeps both in its own local storage. This server keeps nothing: the
names are turned into pseudonyms by one call of the API's batch look-up (each name counts against
the caller's look-up limit; the call is audited as a look-up), never logged or stored."""

from __future__ import annotations

import marshmallow as ma
from flask import Blueprint, request

from dashboard_svc import api_client
from dashboard_svc.api_client import ApiError
from shared import domain
from shared.api import Schema
from shared.errors import BadRequest, Unprocessable

roster = Blueprint("roster", __name__)
MAX_NAMES = 100  # a team's roster; larger lists come in several requests


class LookupRequestSchema(Schema):
    names = ma.fields.List(
        ma.fields.String(validate=ma.validate.Length(1, 200)),
        required=True,
        validate=ma.validate.Length(1, MAX_NAMES),
    )


@roster.post("/dashboard/roster/lookup")
def lookup_names():
    """`{"names": [...]}` → `{"items": [{"engineer_code"} or {"error"}, ...]}` in the same order."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest("Send a JSON object with the names.")
    try:
        names = LookupRequestSchema().load(body)["names"]
    except ma.ValidationError as error:
        raise Unprocessable(  # field names only: the rejected values are names
            "The names cannot be looked up.",
            errors=[{"field": "names", "reason": _reason(error.messages)}],
        ) from None
    return {"items": look_up(names)}


def look_up(names: list[str]) -> list[dict]:
    """Each name's `{"engineer_code"}` or `{"error"}`, in order. A line that is not a name is
    answered here and never sent; the names go in one batch look-up, and its refusal (the look-up
    limit: a batch is refused whole) is each name's error."""
    checked = [domain.check_engineer_name(name) for name in names]
    valid = [result.normalized for result in checked if result.valid]
    try:
        codes = iter(api_client.lookup_engineers(valid) if valid else [])
    except ApiError as error:
        return [{"error": error.message if result.valid else result.message} for result in checked]
    return [
        {"engineer_code": next(codes)} if result.valid else {"error": result.message}
        for result in checked
    ]


def _reason(messages) -> str:
    if isinstance(messages, dict) and "names" in messages:
        inner = messages["names"]
        if isinstance(inner, list):
            return str(inner[0])
        return "Each name must be 1-200 characters."
    return 'Send {"names": [...]} and nothing else.'
