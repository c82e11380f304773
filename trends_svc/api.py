"""HTTP layer of the trends service: parse, authorise, call one domain function, answer."""

from __future__ import annotations

from datetime import datetime

from flask import current_app, request
from flask.views import MethodView

from shared import db
from shared.api import (
    READERS,
    Blueprint,
    current_principal,
    team_scope,
)
from shared.errors import (
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    ServiceUnavailable,
    Unprocessable,
    field_error,
)
from shared.pseudonyms import engineer_code as pseudonym
from shared.pseudonyms import is_engineer_code
from trends_svc import alerts, evaluation, history, store_alerts, store_summaries
from trends_svc.schemas import (
    NOT_AN_ENGINEER_CODE,
    CompareResultSchema,
    CompareSchema,
    EngineerArgsSchema,
    EngineerPageSchema,
    ErasureSchema,
    EvaluationSchema,
    HistoryArgsSchema,
    ThresholdListSchema,
    ThresholdSchema,
    TrendArgsSchema,
    TrendPageSchema,
)
from trends_svc.thresholds import RULES, validate_params

blp = Blueprint("trends", __name__, description="Compare History, trend summaries and alerts.")


def check_engineer_code(engineer_code: str) -> None:
    """422 naming the path's `engineer_code` when it is not a pseudonym (it may be a name; URLs
    end up in access logs, so the answer does not repeat it)."""
    if not is_engineer_code(engineer_code):
        raise Unprocessable(errors=[field_error("engineer_code", NOT_AN_ENGINEER_CODE)])


def engineer_history(engineer_code: str, period_days: int, until: datetime | None = None) -> dict:
    """The caller's part of an engineer's history: for a team-scoped caller only their teams'
    sessions and alerts count, and the answer is 404 (as for an engineer with no history at all)
    when the engineer has no session in them. For the callers that store sessions it counts every
    write committed before the call (the projection is first brought to the feed's end, waiting at
    most 2 s); readers get the projection as it is, however busy the feed. The current period
    ends at `until` (a past quarter) or now."""
    scope = team_scope()
    with db.connection() as conn:
        if current_principal().has_role("agent", "admin"):  # the callers that store sessions
            history.catch_up_with_writes(conn, current_app.extensions["feed"], engineer_code)
        answer = history.compare(conn, engineer_code, period_days, now=until, teams=scope)
    if scope is not None and answer["team"] is None:
        raise NotFound("No history for this engineer.")
    return answer


@blp.route("/history/compare")
class CompareHistory(MethodView):
    @blp.roles("agent", *READERS)
    @blp.doc(operationId="compareHistory")
    @blp.arguments(CompareSchema)
    @blp.response(200, CompareResultSchema)
    def post(self, data):
        """Compare an engineer's history (the agent's Compare History command)

        Current vs previous period, deltas, root causes, recurring categories, streaks, team
        baseline, weekly timeline, open alerts and a summary `text`. The name is never stored.
        """
        code = data.get("engineer_code") or pseudonym(
            data["engineer"], current_app.extensions["pseudonym_key"]
        )
        return engineer_history(code, data["period_days"], data.get("until"))


@blp.route("/history/<string:engineer_code>")
class EngineerHistory(MethodView):
    @blp.roles("agent", *READERS)
    @blp.doc(operationId="getHistory")
    @blp.arguments(HistoryArgsSchema, location="query")
    @blp.response(200, CompareResultSchema)
    def get(self, args, engineer_code: str):
        """Get an engineer's history by pseudonym

        The same answer as Compare History, addressed by `engineer_code`.
        """
        check_engineer_code(engineer_code)
        return engineer_history(engineer_code, args["period_days"], args.get("until"))


@blp.route("/trends/weekly")
class WeeklyTrends(MethodView):
    @blp.roles(*READERS)
    @blp.doc(operationId="weeklyTrends")
    @blp.arguments(TrendArgsSchema, location="query")
    @blp.response(200, TrendPageSchema)
    def get(self, args):
        """Weekly trend summary per team and region

        Sessions, mean sentiment and confidence, most common root cause; from the rollups.
        """
        with db.connection() as conn:
            return {"items": store_summaries.weekly_summary(conn, args, team_scope())}


@blp.route("/trends/languages")
class LanguageTrends(MethodView):
    @blp.roles(*READERS)
    @blp.doc(operationId="languageTrends")
    @blp.arguments(TrendArgsSchema, location="query")
    @blp.response(200, TrendPageSchema)
    def get(self, args):
        """Sessions per week and output language

        One row per week and language code, with mean sentiment and confidence; a session in two
        languages counts in both. Managers see their own teams only.
        """
        with db.connection() as conn:
            return {"items": store_summaries.language_summary(conn, args, team_scope())}


@blp.route("/trends/root-causes")
class RootCauseTrends(MethodView):
    @blp.roles(*READERS)
    @blp.doc(operationId="rootCauseTrends")
    @blp.arguments(TrendArgsSchema, location="query")
    @blp.response(200, TrendPageSchema)
    def get(self, args):
        """Sessions per week and root cause

        One row per week and root-cause category, with mean sentiment and confidence. Managers
        see their own teams only.
        """
        with db.connection() as conn:
            return {"items": store_summaries.root_cause_summary(conn, args, team_scope())}


@blp.route("/trends/engineers")
class EngineerTrends(MethodView):
    @blp.roles(*READERS)
    @blp.doc(operationId="engineerTrends")
    @blp.arguments(EngineerArgsSchema, location="query")
    @blp.response(200, EngineerPageSchema)
    def get(self, args):
        """Engineers with analyses in the window

        Per pseudonymised engineer: team, sessions, mean sentiment and confidence, most common
        root cause; the busiest first (a manager sees their teams only).
        """
        limit = args.pop("limit")
        with db.connection() as conn:
            return {"items": store_summaries.engineer_summary(conn, args, team_scope(), limit)}


@blp.route("/trends/evaluate")
class Evaluate(MethodView):
    @blp.roles("admin")
    @blp.doc(operationId="evaluateTrends")
    @blp.response(200, EvaluationSchema)
    @blp.alt_response(202, schema=EvaluationSchema, description="The worker is evaluating.")
    def post(self):
        """Catch up with the change feed and evaluate every rule now

        Alerts opened, updated and resolved, and how far the projection is (`caught_up`,
        `lag_changes`, `projected_through`); a slow catch-up is left to the woken worker. 202
        (`evaluated` false) when the worker was evaluating: it evaluates again at once.
        """
        with db.connection() as conn:
            answer = evaluation.evaluate_now(
                conn,
                current_app.extensions["feed"],
                notify_base=current_app.extensions["notify_base"],
            )
        return answer, 200 if answer["evaluated"] else 202


def etag(row: dict) -> str:
    return f'"{row["rule"]}-{row["version"]}"'


@blp.route("/thresholds")
class Thresholds(MethodView):
    @blp.roles(*READERS)
    @blp.doc(operationId="listThresholds")
    @blp.response(200, ThresholdListSchema)
    def get(self):
        """List the trend thresholds of every rule

        Each rule's parameters (e.g. `min_count`, `window_days`), whether it is enabled, and who
        changed it last.
        """
        with db.connection() as conn:
            return {"items": store_alerts.list_thresholds(conn)}


@blp.route("/thresholds/<string:rule>")
class Threshold(MethodView):
    @blp.roles(*READERS)
    @blp.doc(operationId="getThreshold")
    @blp.response(200, ThresholdSchema)
    def get(self, rule: str):
        """Get one rule's threshold (with an ETag for updates)

        Send the `ETag` back as `If-Match` with `PUT /thresholds/{rule}`; a change made in
        between answers 412.
        """
        with db.connection() as conn:
            row = store_alerts.get_threshold(conn, rule)
        if row is None:
            raise NotFound("No such rule.")
        return row, 200, {"ETag": etag(row)}

    @blp.roles("admin")
    @blp.doc(operationId="updateThreshold")
    @blp.arguments(ThresholdSchema)
    @blp.response(200, ThresholdSchema)
    def put(self, data, rule: str):
        """Change one rule's threshold (If-Match with the ETag required)

        Unknown or out-of-range parameters answer 422; a stale ETag 412; none 428.
        """
        if rule not in RULES:
            raise NotFound("No such rule.")
        if_match = request.headers.get("If-Match")
        if not if_match:
            raise PreconditionRequired("Send If-Match with the threshold's ETag.")
        with db.connection() as conn:
            row = store_alerts.get_threshold(conn, rule)
            if if_match not in (etag(row), "*"):
                raise PreconditionFailed("The threshold changed since you read it.")
            params, errors = validate_params(rule, data["params"], row["params"])
            if errors:
                raise Unprocessable(errors=errors)
            updated = store_alerts.update_threshold(
                conn,
                rule,
                params=params,
                enabled=data["enabled"],
                version=row["version"],
                updated_by=current_principal().subject,
            )
            if updated is None:
                raise PreconditionFailed("The threshold changed since you read it.")
            alerts.reconcile(conn, notify_base=current_app.extensions["notify_base"])
        return updated, 200, {"ETag": etag(updated)}


@blp.route("/engineers/<string:engineer_code>")
class EngineerErasure(MethodView):
    @blp.roles("admin")
    @blp.doc(operationId="eraseEngineerTrends")
    @blp.response(200, ErasureSchema)
    @blp.alt_response(503, description="The projection is behind the change feed; retry.")
    def delete(self, engineer_code: str):
        """Erase an engineer's projection, rollups and alerts in the trends service

        The projection is first brought to the change feed's end, so that no change of the
        engineer's sessions projected later brings any of it back; 503 when that cannot be done
        within 2 s (the gateway's retrier asks again).
        """
        check_engineer_code(engineer_code)
        with db.connection() as conn:
            feed = current_app.extensions["feed"]
            if not history.catch_up_with_writes(conn, feed, wait_for_held_back=False):
                raise ServiceUnavailable(
                    "The projection is behind the change feed; retry the erasure.",
                    headers={"Retry-After": "5"},
                )
            removed = store_alerts.delete_engineer(conn, engineer_code)
        return {"engineer_code": engineer_code, "sessions_deleted": removed}
