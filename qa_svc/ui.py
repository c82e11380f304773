"""The QA UI (server-rendered HTML at /qa/): the review queue, a session's validation log with the
review form, the error summary and the QA metrics. Reached only through the gateway, which signs
the user in and forwards the user's internal token; the pages call the same functions as the API."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import marshmallow as ma
from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.exceptions import HTTPException

from qa_svc import privacy, quality, quality_store, reviews, scoring, validation
from qa_svc import reviewers as reviewer_directory
from qa_svc.schemas import (
    GROUPS,
    STATUSES,
    DaysArgsSchema,
    ReviewInSchema,
    ReviewQueueArgsSchema,
)
from shared import db
from shared.errors import Forbidden, NotFound, Unprocessable
from shared.spreadsheet import neutralise
from shared.web import settings_of

ROLES = ("qa_lead", "admin")
qa_ui = Blueprint(
    "qa_ui",
    __name__,
    url_prefix="/qa",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)
qa_ui.access_roles = ROLES  # the rule every UI route follows (checked by the route meta-test)
FORM_ENDPOINTS = ("qa_ui.session_page",)  # posted as HTML forms, not JSON


def register_ui(app: Flask) -> None:
    app.register_blueprint(qa_ui)


@qa_ui.before_request
def require_qa_role() -> None:
    if not g.principal.has_role(*ROLES):
        raise Forbidden("Your role does not open the QA UI.")


@qa_ui.errorhandler(HTTPException)
def error_page(error: HTTPException):
    """UI errors are small HTML pages: the status and a plain reason, never a stack or an echo."""
    fields = sorted({item["field"] for item in getattr(error, "errors", ()) if "field" in item})
    message = error.description or (
        f"Check {', '.join(fields)}." if fields else "The request could not be answered."
    )
    return render_template(
        "qa/error.html", title=f"{error.code} {error.name}", message=message
    ), error.code


def _load(schema: ma.Schema, values) -> dict[str, Any]:
    """Query or form values through the API's schema; a bad value is a 400 naming the field."""
    raw = {key: value for key, value in values.items() if value != ""}
    try:
        return schema.load(raw)
    except ma.ValidationError as error:
        fields = ", ".join(sorted(error.messages))
        raise BadFilter(f"Check the filter: {fields}.") from None


class BadFilter(HTTPException):
    code = 400
    name = "Bad filter"


@qa_ui.get("/<path:unknown>")
def unknown_page(unknown: str):
    """Any other address under /qa/: the UI's own 404 page (not the API's JSON)."""
    raise NotFound("There is no such QA page.")


@qa_ui.get("/")
def queue_page():
    """The review queue with its filters."""
    filters = _load(ReviewQueueArgsSchema(), request.args)
    low_below = settings_of(current_app).qa_low_confidence
    asked = dict(filters)
    if asked["assignee"] == "me":
        asked["assignee"] = g.principal.subject
    with db.connection() as conn:
        reviewer_directory.note(conn, g.principal)
        page = reviews.queue(conn, asked, low_below)
    # the filters as the links of this page carry them on (no cursor, no defaults)
    kept = {key: value for key, value in request.args.items() if key != "cursor" and value != ""}
    return render_template(
        "qa/queue.html",
        title="Review queue",
        items=page["items"],
        next_cursor=page["next_cursor"],
        paged=bool(filters.get("cursor")),
        kept=kept,
        filters=filters,
        statuses=STATUSES,
        low_below=low_below,
    )


@qa_ui.route("/sessions/<uuid:session_id>", methods=["GET", "POST"])
def session_page(session_id: uuid.UUID):
    """Show Validation Log of one session, with the review form."""
    error = None
    if request.method == "POST":
        try:
            decision = ReviewInSchema().load(review_form(request.form))
            with db.connection() as conn:
                reviews.record(conn, session_id, decision, g.principal, guard=privacy.text_guard())
            return redirect(url_for("qa_ui.session_page", session_id=session_id, saved=1))
        except ma.ValidationError as invalid:
            error = "Check " + ", ".join(sorted(invalid.messages)) + "."
        except Unprocessable as refused:
            error = refusal_message(refused)
    with db.connection() as conn:
        log = validation.session_log(conn, session_id)
        if log is None:
            raise NotFound("No validation log for this session.")
        current = reviews.current_review(conn, session_id)
        last_seen_at = max(event["occurred_at"] for event in log["events"])
        next_id = reviews.next_to_review(conn, session_id, last_seen_at)
        scored = quality_store.reviewer_scores(conn, session_id, g.principal.subject)
        card = (
            quality_store.get_scorecard(conn, scored["scorecard_id"])
            if scored
            else quality_store.default_scorecard(conn)
        )
    return render_template(
        "qa/session.html",
        title="Validation log",
        log=log,
        review=current,
        next_id=next_id,
        statuses=STATUSES,
        error=error,
        saved=request.args.get("saved") == "1" and error is None,
        card=card,
        scored=scored,
        allowed_ratings=scoring.allowed_ratings,
    ), (422 if error else 200)


def review_form(form) -> dict[str, Any]:
    """The review form's fields as the API's review body: status, notes, and the ratings and
    comments of the scorecard (`rating-<key>`, `comment-<key>`) when any criterion is rated."""
    ratings = {
        name.removeprefix("rating-"): int(value) if value.isdigit() else value
        for name, value in form.items()
        if name.startswith("rating-") and value
    }
    comments = {
        name.removeprefix("comment-"): value
        for name, value in form.items()
        if name.startswith("comment-") and value.strip()
    }
    body: dict[str, Any] = {"status": form.get("status", ""), "notes": form.get("notes")}
    if ratings:
        body.update(scorecard_id=form.get("scorecard_id"), ratings=ratings, comments=comments)
    return body


def refusal_message(refused: Unprocessable) -> str:
    """The 422 of a review form as one sentence: personal data, or the criteria to rate."""
    fields = [item.get("field", "") for item in refused.errors]
    if any(field == "notes" or field.startswith("comments.") for field in fields):
        return "The notes or comments look like they hold personal data; nothing was saved."
    criteria = sorted({f.removeprefix("ratings.") for f in fields if f.startswith("ratings.")})
    if criteria:
        return "Rate every criterion with a value of its scale: " + ", ".join(criteria) + "."
    return refused.description or "Check the ratings."


@qa_ui.get("/errors")
def errors_page():
    """The error summary grouped by code, field and agent version."""
    days = _load(DaysArgsSchema(), request.args)["days"]
    with db.connection() as conn:
        items = reviews.error_summary(conn, days)
    return render_template("qa/errors.html", title="Error summary", items=items, days=days)


@qa_ui.get("/errors.csv")
def errors_csv():
    """The error summary as a CSV file (one row per code × field × agent version)."""
    days = _load(DaysArgsSchema(), request.args)["days"]
    with db.connection() as conn:
        items = reviews.error_summary(conn, days)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for item in items:
        writer.writerow(
            [
                neutralise(item["code"]),
                neutralise(item["field"]),
                neutralise(item["agent_version"] or ""),
                item["count"],
                item["sessions"],
                item["first_seen"].isoformat(),
                item["last_seen"].isoformat(),
                item["trend"],
            ]
        )
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="qa-error-summary-{days}d.csv"'},
    )


CSV_COLUMNS = (
    "code",
    "field",
    "agent_version",
    "events",
    "sessions",
    "first_seen",
    "last_seen",
    "trend",
)


@qa_ui.get("/metrics")
def metrics_page():
    """Review throughput, time to review, first-pass validity and error rate per day."""
    days = _load(DaysArgsSchema(), request.args)["days"]
    with db.connection() as conn:
        figures = reviews.metrics(conn, days)
    return render_template("qa/metrics.html", title="QA metrics", figures=figures, days=days)


@qa_ui.get("/quality")
def quality_page():
    """Quality per agent version (with review counts and the flag on a worse version), per
    criterion and per week, over the last `days` days."""
    days = _load(DaysArgsSchema(), request.args)["days"]
    # whole UTC days (today counts as one): the report reads them from the rollup alone
    today = datetime.combine(datetime.now(UTC).date(), datetime.min.time(), UTC)
    since = today - timedelta(days=days - 1)
    with db.connection() as conn:
        report = {group: quality.report(conn, group, since) for group in GROUPS}
    return render_template("qa/quality.html", title="Quality", report=report, days=days)
