"""The private roster's look-up: the browser sends the names of the manager's team (in the body),
gets back their pseudonyms and keeps both in its own local storage. This server keeps nothing:
each name is turned into its pseudonym by the API's look-up (one call per name, so each name
counts against the caller's look-up limit and is audited as a look-up), never logged or stored."""

from __future__ import annotations

import marshmallow as ma
from flask import Blueprint, request

from dashboard_svc import api_client
from dashboard_svc.api_client import ApiError
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
    """`{"names": [...]}` → `{"items": [{"engineer_code"} or {"error"}, ...]}` in the same order;
    after a refusal for the look-up limit the remaining names are not tried."""
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
    items, stopped = [], None
    for name in names:
        if stopped:
            items.append({"error": stopped})
            continue
        try:
            items.append({"engineer_code": api_client.lookup_engineer(name.strip())})
        except ApiError as error:
            items.append({"error": error.message})
            if error.status in (429, 503):
                stopped = error.message
    return {"items": items}


def _reason(messages) -> str:
    if isinstance(messages, dict) and "names" in messages:
        inner = messages["names"]
        if isinstance(inner, list):
            return str(inner[0])
        return "Each name must be 1-200 characters."
    return 'Send {"names": [...]} and nothing else.'
