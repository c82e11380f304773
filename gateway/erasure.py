"""Erasure of one engineer at the gateway: the request is recorded first, then every service that
keeps data about engineers is asked in turn (persistence first, so the source of truth goes before
its copies). When one cannot erase at once, the answer is 202 with the request's status URL and
the retrier in every gateway worker finishes it; it is reported done only when every service is."""

from __future__ import annotations

import json
import logging
import time
import uuid

from flask import Blueprint, Flask, current_app, g, jsonify
from urllib3.exceptions import HTTPError as UpstreamError

from gateway import audit, policy, store_audit
from gateway.proxy import internal_token, service_url
from shared import db
from shared.errors import Forbidden, NotFound, Unprocessable
from shared.pseudonyms import is_engineer_code
from shared.tokens import Principal

log = logging.getLogger("cr.erasure")

erasure = Blueprint("erasure", __name__)
# qa_svc is not asked: it keeps validation events and reviews by session_id only (no engineer
# code, no checked values), so once persistence has erased the sessions nothing in qa leads back
# to the engineer (docs/operations.md, "Erasure").
ERASING_SERVICES = ("persistence", "trends")
# The request's own attempt holds the erasure for this long before the retrier may take it (a
# gateway that dies mid-request leaves it to the retrier after this).
REQUEST_LEASE_SECONDS = 30.0
RETRY_FIRST_SECONDS = 0.5
RETRY_MAX_SECONDS = 4.0  # a service back after an outage is asked again within this
RETRIER_IDLE_SECONDS = 0.5
NOT_AN_ENGINEER_CODE = "Not an engineer_code this platform issued."


def ask_service(service: str, engineer_code: str, principal: Principal) -> tuple[int, str | None]:
    """DELETE the engineer at one service: (sessions it deleted, None), or (0, why it failed) as
    an HTTP status or an error class, never a body."""
    headers = {
        "Authorization": f"Bearer {internal_token(principal, service)}",
        "X-Request-ID": g.get("request_id") or "",
    }
    try:
        upstream = current_app.extensions["upstream_pool"].request(
            "DELETE", f"{service_url(service)}/api/v1/engineers/{engineer_code}", headers=headers
        )
    except UpstreamError as exc:
        return 0, type(exc).__name__
    if upstream.status != 200:
        return 0, f"HTTP {upstream.status}"
    try:
        return int(json.loads(upstream.data)["sessions_deleted"]), None
    except (ValueError, KeyError, TypeError):  # not the erasure answer: not done, ask again
        return 0, "invalid answer"


def attempt(conn, request: dict) -> bool:
    """Ask each service whose part is not done yet, in order, stopping at the first that fails
    (tried again after a backoff). True when every service is done and the request with them."""
    principal = Principal(request["requested_by"], frozenset(request["requested_roles"]))
    for step in store_audit.list_erasure_steps(conn, request["erasure_id"]):
        if step["status"] == "done":
            continue
        deleted, error = ask_service(step["service"], request["engineer_code"], principal)
        if error is not None:
            delay = min(RETRY_MAX_SECONDS, RETRY_FIRST_SECONDS * 2 ** step["attempts"])
            store_audit.mark_step_failed(conn, request["erasure_id"], step["service"], error, delay)
            return False
        store_audit.mark_step_done(conn, request["erasure_id"], step["service"], deleted)
    store_audit.mark_erasure_done(conn, request["erasure_id"])
    return True


def status_document(conn, request: dict) -> dict:
    """GET /erasures/{id}: the request's state and each service's part."""
    steps = store_audit.list_erasure_steps(conn, request["erasure_id"])
    return {
        "id": str(request["erasure_id"]),
        "engineer_code": request["engineer_code"],
        "status": request["status"],
        "services": {
            step["service"]: {
                "status": step["status"],
                "attempts": step["attempts"],
                "last_error": step["last_error"],
                "done_at": step["done_at"].isoformat() if step["done_at"] else None,
            }
            for step in steps
        },
        "requested_at": request["requested_at"].isoformat(),
        "done_at": request["done_at"].isoformat() if request["done_at"] else None,
    }


def result_document(conn, request: dict) -> dict:
    """The 200 answer of an erasure done at once: sessions deleted at the source, and each
    service's part."""
    steps = store_audit.list_erasure_steps(conn, request["erasure_id"])
    return {
        "engineer_code": request["engineer_code"],
        "sessions_deleted": next(
            s["sessions_deleted"] for s in steps if s["service"] == "persistence"
        ),
        "services": {step["service"]: "erased" for step in steps},
    }


def retry_due(limit: int = 20) -> int:
    """Finish up to `limit` pending erasures that are due (each locked while it is worked on, so
    several gateway workers never ask twice at once); audits each one completed. Returns how
    many were tried."""
    tried = 0
    with db.connection() as conn:
        for _ in range(limit):
            with conn.transaction():
                request = store_audit.lock_due_erasure(conn)
                if request is None:
                    break
                done = attempt(conn, request)
            tried += 1
            if done:
                audit.record(
                    "engineers.erase",
                    principal=Principal(
                        request["requested_by"], frozenset(request["requested_roles"])
                    ),
                    outcome="success",
                    status=200,
                    obj=f"DELETE /api/v1/engineers/{request['engineer_code']}",
                )
    return tried


def run_retrier(app: Flask) -> None:
    """The retrier's loop (a greenlet of each gateway worker, see shared/server.py): pending
    erasures are tried again when due; a failure of the loop itself is logged and retried."""
    while True:
        tried = 0
        with app.app_context():
            try:
                tried = retry_due()
            except Exception:
                log.exception("erasure retrier failed")
        if tried == 0:
            time.sleep(RETRIER_IDLE_SECONDS)


def register_erasure(app: Flask) -> None:
    """The erasure routes, and the retrier among the background loops of the serving workers."""
    app.register_blueprint(erasure)
    app.extensions.setdefault("background_loops", []).append(run_retrier)


def authorise(method: str, path: str) -> Principal:
    """The caller, when the policy table lets its role call this route (else 403, audited)."""
    principal = g.principal
    if not principal.has_role(*policy.allowed_roles(method, path)):
        audit.record_request("access.denied", principal, 403, "denied")
        raise Forbidden("Your role does not allow this action.")
    return principal


@erasure.delete("/api/v1/engineers/<string:engineer_code>")
def erase_engineer(engineer_code: str):
    """DELETE /engineers/{code}: the sessions, the trends projection, rollups and alerts. 200
    when every service erased at once, else 202 with the status URL of the request."""
    principal = authorise("DELETE", f"engineers/{engineer_code}")
    if not is_engineer_code(engineer_code):
        audit.record_request("engineers.erase", principal, 422, "failure")
        raise Unprocessable(errors=[{"field": "engineer_code", "reason": NOT_AN_ENGINEER_CODE}])
    with db.connection() as conn:
        with conn.transaction():
            request = store_audit.insert_erasure(
                conn,
                engineer_code,
                principal.subject,
                principal.roles,
                ERASING_SERVICES,
                lease_seconds=REQUEST_LEASE_SECONDS,
            )
        with conn.transaction():
            request = store_audit.lock_erasure(conn, request["erasure_id"])
            done = attempt(conn, request)
        request = store_audit.get_erasure(conn, request["erasure_id"])
        if done:
            audit.record_request("engineers.erase", principal, 200, "success")
            return jsonify(result_document(conn, request))
        audit.record_request("engineers.erase.requested", principal, 202, "success")
        response = jsonify(status_document(conn, request))
    response.status_code = 202
    response.headers["Location"] = f"/api/v1/erasures/{request['erasure_id']}"
    return response


@erasure.get("/api/v1/erasures/<string:erasure_id>")
def erasure_status(erasure_id: str):
    """GET /erasures/{id}: where an erasure stands, per service (admin)."""
    authorise("GET", f"erasures/{erasure_id}")
    try:
        key = uuid.UUID(erasure_id)
    except ValueError:
        raise NotFound("No erasure with this id.") from None
    with db.connection() as conn:
        request = store_audit.get_erasure(conn, key)
        if request is None:
            raise NotFound("No erasure with this id.")
        return jsonify(status_document(conn, request))
