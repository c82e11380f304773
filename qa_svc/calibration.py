"""Calibration: several reviewers score the same sessions blind; once all have scored, their
agreement per criterion (percent agreement, Krippendorff's alpha) and the spread of the quality
scores show whether the scorecard is applied consistently."""

from __future__ import annotations

import itertools
import statistics
import uuid
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import krippendorff
import numpy
import psycopg

from qa_svc import calibration_store, quality_store, scorecards
from qa_svc.scoring import NOT_APPLICABLE
from shared.errors import Conflict, Forbidden, NotFound, Unprocessable
from shared.http import ServiceClient
from shared.tokens import Principal

NO_SUCH = "No such calibration."
NOT_A_PARTICIPANT = "You do not take part in this calibration."
CLOSED = "Everyone has scored; the calibration's ratings are final."


def create(
    conn: psycopg.Connection,
    session_ids: Sequence[uuid.UUID],
    reviewer_ids: Sequence[str],
    scorecard_id: uuid.UUID | None,
    creator: str,
) -> dict:
    """A calibration of `session_ids` by `reviewer_ids` on a scorecard (the default one when
    none is named); 422 naming each session without a log and each unknown reviewer."""
    card = scorecards.scorecard_for(conn, scorecard_id)
    logged = calibration_store.sessions_with_log(conn, session_ids)
    known = quality_store.display_names(conn, reviewer_ids)
    problems = [
        {"field": f"session_ids.{i}", "reason": "No validation log for this session."}
        for i, session_id in enumerate(session_ids)
        if session_id not in logged
    ] + [
        {"field": f"reviewer_ids.{i}", "reason": "No such reviewer."}
        for i, reviewer_id in enumerate(reviewer_ids)
        if reviewer_id not in known
    ]
    if problems:
        raise Unprocessable("The calibration cannot be set up as asked.", errors=problems)
    row = calibration_store.insert_calibration(
        conn, card["scorecard_id"], session_ids, reviewer_ids, creator
    )
    return row


def rate(
    conn: psycopg.Connection,
    calibration_id: uuid.UUID,
    session_id: uuid.UUID,
    principal: Principal,
    ratings: Mapping[str, Any],
    comments: Mapping[str, str],
    guard: ServiceClient,
) -> None:
    """Save a participant's ratings of one session; 403 for anyone else, 422 naming
    `session_id` for a session not in the calibration, 409 once everyone has scored (the figures
    are final)."""
    calibration = calibration_store.get_calibration(conn, calibration_id, lock=True)
    if calibration is None:
        raise NotFound(NO_SUCH)
    if principal.subject not in calibration["reviewer_ids"]:
        raise Forbidden(NOT_A_PARTICIPANT)
    if session_id not in calibration["session_ids"]:
        reason = "This session is not part of the calibration."
        raise Unprocessable(reason, errors=[{"field": "session_id", "reason": reason}])
    if _complete(calibration, calibration_store.ratings_of(conn, calibration_id)):
        raise Conflict(CLOSED)
    card = quality_store.get_scorecard(conn, calibration["scorecard_id"])
    rated = scorecards.ratings_against(card, ratings, comments, guard)
    calibration_store.save_rating(
        conn,
        calibration_id,
        {"session_id": session_id, "reviewer_id": principal.subject, **rated},
    )


def _complete(calibration: Mapping, ratings: Sequence[Mapping]) -> bool:
    return len(ratings) == len(calibration["session_ids"]) * len(calibration["reviewer_ids"])


def show(conn: psycopg.Connection, calibration_id: uuid.UUID, principal: Principal) -> dict:
    """A calibration as `principal` may see it: progress and their own ratings; everyone's
    ratings, the agreement per criterion and the spread only once everyone has scored."""
    calibration = calibration_store.get_calibration(conn, calibration_id)
    if calibration is None:
        raise NotFound(NO_SUCH)
    return summary(conn, calibration, principal)


def summary(conn: psycopg.Connection, calibration: Mapping, principal: Principal) -> dict:
    ratings = calibration_store.ratings_of(conn, calibration["calibration_id"])
    names = quality_store.display_names(conn, calibration["reviewer_ids"])
    complete = _complete(calibration, ratings)
    answer = {
        **calibration,
        "reviewers": [names.get(r, "unnamed reviewer") for r in calibration["reviewer_ids"]],
        "complete": complete,
        "scored": len(ratings),
        "expected": len(calibration["session_ids"]) * len(calibration["reviewer_ids"]),
        "my_ratings": [r for r in ratings if r["reviewer_id"] == principal.subject],
        "ratings": None,
        "agreement": None,
        "spread": None,
        "mean_stdev": None,
    }
    if complete:
        card = quality_store.get_scorecard(conn, calibration["scorecard_id"])
        spread = score_spread(ratings)
        stdevs = [item["stdev"] for item in spread if item["stdev"] is not None]
        answer.update(
            ratings=ratings,
            agreement=agreement(card["criteria"], ratings),
            spread=spread,
            mean_stdev=round(statistics.fmean(stdevs), 2) if stdevs else None,
        )
    return answer


def agreement(criteria: Sequence[Mapping], ratings: Sequence[Mapping]) -> list[dict]:
    """Per criterion: the share of agreeing pairs of reviewers over all sessions, and
    Krippendorff's alpha (ordinal on 1-5 scales, nominal on pass/fail; N/A is a missing
    value). None where there is nothing to compare."""
    sessions = sorted({r["session_id"] for r in ratings})
    reviewers = sorted({r["reviewer_id"] for r in ratings})
    given = {(r["reviewer_id"], r["session_id"]): r["ratings"] for r in ratings}
    items = []
    for criterion in criteria:
        key = criterion["key"]
        matrix = [
            [_number(given.get((reviewer, session), {}).get(key)) for session in sessions]
            for reviewer in reviewers
        ]
        level = "nominal" if criterion["scale"] == "pass_fail" else "ordinal"
        items.append(
            {
                "criterion": key,
                "percent_agreement": percent_agreement(matrix),
                "krippendorff_alpha": alpha(matrix, level),
            }
        )
    return items


def _number(value: Any) -> float:
    if value is None or value == NOT_APPLICABLE:
        return float("nan")
    if value in ("pass", "fail"):
        return 1.0 if value == "pass" else 0.0
    return float(value)


def percent_agreement(matrix: Sequence[Sequence[float]]) -> float | None:
    """Agreeing pairs of reviewers / all pairs, over the sessions (columns) both rated."""
    agree = pairs = 0
    for column in zip(*matrix, strict=True):
        values = [value for value in column if value == value]  # NaN is not equal to itself
        for a, b in itertools.combinations(values, 2):
            pairs += 1
            agree += a == b
    return round(agree / pairs, 4) if pairs else None


def alpha(matrix: Sequence[Sequence[float]], level: str) -> float | None:
    """Krippendorff's alpha by the `krippendorff` package (reviewers x sessions); None when the
    ratings hold fewer than two distinct values or no pairable ones (alpha is undefined)."""
    data = numpy.array(matrix, dtype=float)
    try:
        with warnings.catch_warnings(), numpy.errstate(all="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            value = krippendorff.alpha(reliability_data=data, level_of_measurement=level)
    except ValueError:
        return None
    return None if numpy.isnan(value) else round(float(value), 4)


def score_spread(ratings: Sequence[Mapping]) -> list[dict]:
    """Per session: the reviewers' quality scores, lowest, highest and standard deviation."""
    by_session: dict[uuid.UUID, list[float]] = {}
    for rating in ratings:
        by_session.setdefault(rating["session_id"], []).append(rating["quality_score"])
    return [
        {
            "session_id": session_id,
            "scores": sorted(scores),
            "min": min(scores),
            "max": max(scores),
            "stdev": round(statistics.stdev(scores), 2) if len(scores) > 1 else None,
        }
        for session_id, scores in sorted(by_session.items())
    ]
