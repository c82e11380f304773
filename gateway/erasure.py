"""Erasure of one engineer at the gateway: every service that keeps data about engineers is asked
in turn (persistence first, so the source of truth goes before its copies)."""

from __future__ import annotations

import json

from flask import Blueprint, current_app, g, jsonify
from urllib3.exceptions import HTTPError as UpstreamError

from gateway import audit, policy
from gateway.proxy import internal_token, service_url, upstream_target
from shared.errors import Forbidden, ServiceUnavailable

erasure = Blueprint("erasure", __name__)
ERASING_SERVICES = ("persistence", "trends")


@erasure.delete("/api/v1/engineers/<string:engineer_code>")
def erase_engineer(engineer_code: str):
    """DELETE /engineers/{code}: the sessions, the trends projection, rollups and alerts."""
    principal = g.principal
    if not principal.has_role(*policy.allowed_roles("DELETE", f"engineers/{engineer_code}")):
        audit.record_request("access.denied", principal, 403, "denied")
        raise Forbidden("Your role does not allow this action.")
    answers: dict[str, dict] = {}
    for service in ERASING_SERVICES:
        headers = {
            "Authorization": f"Bearer {internal_token(principal, service)}",
            "X-Request-ID": g.request_id,
        }
        try:
            upstream = current_app.extensions["upstream_pool"].request(
                "DELETE", service_url(service) + upstream_target(), headers=headers
            )
        except UpstreamError:
            audit.record_request("engineers.erase", principal, 503, "failure")
            raise ServiceUnavailable(
                "Not every service could erase; retry the erasure.", headers={"Retry-After": "5"}
            ) from None
        body = json.loads(upstream.data or b"{}")
        if upstream.status != 200:
            audit.record_request("engineers.erase", principal, upstream.status, "failure")
            response = jsonify(body)
            response.status_code = upstream.status
            response.content_type = upstream.headers.get("Content-Type", "application/json")
            return response
        answers[service] = body
    audit.record_request("engineers.erase", principal, 200, "success")
    return jsonify(
        {
            "engineer_code": engineer_code,
            "sessions_deleted": answers["persistence"]["sessions_deleted"],
            "services": {name: "erased" for name in answers},
        }
    )
