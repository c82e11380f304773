"""The arithmetic of a scored review and Welch's interval, against values worked out by hand."""

import math

import pytest

from qa_svc import quality, scoring, stats

CARD = [
    {"key": "root_cause", "label": "Root cause correct", "weight": 3, "scale": "1-5"},
    {"key": "sentiment", "label": "Sentiment plausible", "weight": 1, "scale": "na_allowed_1-5"},
    {"key": "spec", "label": "Spec messages followed", "weight": 2, "scale": "pass_fail"},
]


@pytest.mark.parametrize(
    ("value", "score"), [(1, 0.0), (2, 25.0), (3, 50.0), (4, 75.0), (5, 100.0), ("pass", 100.0)]
)
def test_a_rating_on_0_to_100(value, score):
    assert scoring.criterion_score(value) == score


def test_the_weighted_mean_of_the_ratings():
    # (3 x 75 + 1 x 25 + 2 x 0) / 6 = 250 / 6
    assert scoring.quality_score(CARD, {"root_cause": 4, "sentiment": 2, "spec": "fail"}) == (
        pytest.approx(41.6667, abs=1e-4)
    )


def test_not_applicable_leaves_out_its_weight():
    # (3 x 100 + 2 x 100) / 5: sentiment and its weight 1 are left out
    ratings = {"root_cause": 5, "sentiment": "na", "spec": "pass"}
    assert scoring.quality_score(CARD, ratings) == 100.0
    ratings = {"root_cause": 3, "sentiment": "na", "spec": "fail"}
    assert scoring.quality_score(CARD, ratings) == pytest.approx(30.0)  # 3 x 50 / 5
    assert scoring.criterion_scores(ratings) == {"root_cause": 50.0, "spec": 0.0}


def test_ratings_must_fit_the_scale_and_cover_the_card():
    problems = scoring.rating_problems(
        CARD, {"root_cause": "na", "spec": 4, "extra": 1, "sentiment": True}
    )
    assert sorted(problem["field"] for problem in problems) == [
        "ratings",
        "ratings.root_cause",
        "ratings.sentiment",
        "ratings.spec",
    ]
    assert scoring.rating_problems(CARD, {"root_cause": 1, "sentiment": "na", "spec": "pass"}) == []
    missing = scoring.rating_problems(CARD, {"root_cause": 1, "spec": "pass"})
    assert missing == [
        {"field": "ratings.sentiment", "reason": "Rate every criterion of the scorecard."}
    ]


@pytest.mark.parametrize(
    ("df", "expected"),
    [(1, 12.7062), (2, 4.3027), (4, 2.7764), (10, 2.2281), (30, 2.0423), (120, 1.9799)],
)
def test_t_quantile_matches_the_tables(df, expected):
    assert stats.t_quantile(0.975, df) == pytest.approx(expected, abs=1e-4)


def test_welch_interval_by_hand():
    # a: 60, 70, 80 (mean 70, variance 100); b: 40, 50, 60, 70 (mean 55, variance 166.67)
    # se = sqrt(100/3 + 166.67/4) = sqrt(75) = 8.6603; df = 75^2 / ((33.33^2)/2 + (41.67^2)/3)
    #    = 5625 / (555.56 + 578.70) = 4.9592; t(0.975, 4.9592) = 2.5758 (interpolated tables)
    interval = stats.welch_interval(70, 100, 3, 55, 500 / 3, 4)
    se, df = math.sqrt(75), 5625 / (10000 / 9 / 2 + (500 / 12) ** 2 / 3)
    margin = stats.t_quantile(0.975, df) * se
    assert df == pytest.approx(4.9592, abs=1e-4)
    assert interval.difference == -15
    assert (interval.low, interval.high) == pytest.approx((-15 - margin, -15 + margin))
    assert margin == pytest.approx(22.31, abs=0.02)
    assert stats.welch_interval(70, 100, 1, 55, 10, 4) is None


def test_mean_and_variance_from_sums():
    assert stats.mean_and_variance(3, 210, 60**2 + 70**2 + 80**2) == pytest.approx((70, 100))


def test_versions_sort_semantically():
    versions = ["3.10.0", "3.7.0", "3.7.0-rc.1", "3.7.1", "", "3.7.0-beta.2"]
    assert sorted(versions, key=quality.version_key) == [
        "",
        "3.7.0-beta.2",
        "3.7.0-rc.1",
        "3.7.0",
        "3.7.1",
        "3.10.0",
    ]
