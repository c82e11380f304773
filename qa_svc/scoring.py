"""The arithmetic of a scored review: each rating on 0-100 and the review's weighted mean."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

SCALES = ("1-5", "pass_fail", "na_allowed_1-5")
NOT_APPLICABLE = "na"
NOT_A_RATING = "Not a rating this criterion's scale allows."


def allowed_ratings(scale: str) -> tuple[Any, ...]:
    """The values a criterion of `scale` may be rated with."""
    if scale == "pass_fail":
        return ("pass", "fail")
    if scale == "na_allowed_1-5":
        return (1, 2, 3, 4, 5, NOT_APPLICABLE)
    return (1, 2, 3, 4, 5)


def rating_problems(criteria: Sequence[Mapping], ratings: Mapping[str, Any]) -> list[dict]:
    """The `{"field", "reason"}` errors of `ratings` against the scorecard's criteria: every
    criterion must be rated, with a value of its scale, and nothing else may be rated."""
    keys = {criterion["key"] for criterion in criteria}
    problems = [
        {"field": f"ratings.{criterion['key']}", "reason": "Rate every criterion of the scorecard."}
        for criterion in criteria
        if criterion["key"] not in ratings
    ]
    for criterion in criteria:
        value = ratings.get(criterion["key"])
        if value is not None and not _is_allowed(value, criterion["scale"]):
            problems.append({"field": f"ratings.{criterion['key']}", "reason": NOT_A_RATING})
    problems.extend(
        {"field": "ratings", "reason": "Rates a criterion the scorecard does not have."}
        for key in ratings
        if key not in keys
    )
    return problems


def _is_allowed(value: Any, scale: str) -> bool:
    if isinstance(value, bool):  # True == 1 in Python; a boolean is no rating
        return False
    return value in allowed_ratings(scale)


def criterion_score(value: Any) -> float | None:
    """A rating on 0-100: r on 1-5 is (r - 1) / 4 x 100, pass 100, fail 0; N/A is None."""
    if value == NOT_APPLICABLE:
        return None
    if value == "pass":
        return 100.0
    if value == "fail":
        return 0.0
    return (int(value) - 1) / 4 * 100


def criterion_scores(ratings: Mapping[str, Any]) -> dict[str, float]:
    """Criterion key -> score on 0-100, N/A criteria left out."""
    scores = {key: criterion_score(value) for key, value in ratings.items()}
    return {key: score for key, score in scores.items() if score is not None}


def quality_score(criteria: Sequence[Mapping], ratings: Mapping[str, Any]) -> float | None:
    """The weighted mean of the rated criteria on 0-100; a criterion rated N/A is left out
    together with its weight. None when nothing with a weight is rated."""
    scores = criterion_scores(ratings)
    weighted = [
        (criterion["weight"], scores[criterion["key"]])
        for criterion in criteria
        if criterion["key"] in scores
    ]
    total_weight = sum(weight for weight, _ in weighted)
    if total_weight <= 0:
        return None
    return sum(weight * score for weight, score in weighted) / total_weight
