"""Sampling proportions over 10,000 sessions, round-robin, and calibration agreement figures
against values worked out by hand."""

import math
import random
import uuid
from collections import Counter

import pytest

from qa_svc import calibration, sampling

RULES = {
    "percent": 10,
    "always_errors": True,
    "always_restart": True,
    "always_low_confidence": True,
}
VERSIONS = {"3.6.0": 0.2, "3.7.0": 0.5, "3.7.1": 0.3}


def sessions(count=10_000, seed=1):
    pick = random.Random(seed)
    for index in range(count):
        yield {
            "session_id": uuid.UUID(int=index),
            "agent_version": pick.choices(list(VERSIONS), weights=list(VERSIONS.values()))[0],
            "has_errors": pick.random() < 0.08,
            "restart_offered": pick.random() < 0.03,
            "low_confidence": pick.random() < 0.05,
        }


def test_always_rules_take_every_such_session_and_a_share_of_the_rest_per_version():
    population = list(sessions())
    decisions = {d["session_id"]: d for d in sampling.draw(population, RULES, random.Random(7))}
    assert len(decisions) == 10_000
    rest = Counter()
    drawn = Counter()
    for session in population:
        decision = decisions[session["session_id"]]
        flagged = session["has_errors"] or session["restart_offered"] or session["low_confidence"]
        if flagged:
            assert decision["sampled"], session
            assert decision["reason"] in {"errors", "restart_offered", "low_confidence"}
        else:
            rest[session["agent_version"]] += 1
            drawn[session["agent_version"]] += decision["sampled"]
    for version, count in rest.items():
        # stratified: each version's share is 10 % up to the rounding of one session
        assert abs(drawn[version] - count * 0.10) < 1, (version, drawn[version], count)
    errors_first = next(s for s in population if s["has_errors"] and s["low_confidence"])
    assert decisions[errors_first["session_id"]]["reason"] == "errors"


def test_the_share_holds_over_many_draws_of_small_strata():
    # 7 sessions per version at 10 %: 0.7 expected each time; over 2,000 runs within 3 sigma
    small = [
        dict(s, has_errors=False, restart_offered=False, low_confidence=False) for s in sessions(7)
    ]
    pick = random.Random(3)
    total = sum(sum(d["sampled"] for d in sampling.draw(small, RULES, pick)) for _ in range(2000))
    expected, sigma = 2000 * 0.7, math.sqrt(2000 * 0.7 * 0.3)
    assert abs(total - expected) < 3 * sigma


def test_rules_turned_off_and_zero_percent_sample_nothing():
    off = {
        "percent": 0,
        "always_errors": False,
        "always_restart": False,
        "always_low_confidence": False,
    }
    assert not any(d["sampled"] for d in sampling.draw(list(sessions(500)), off, random.Random()))


def test_round_robin_goes_on_after_the_last_reviewer():
    ids = [uuid.UUID(int=i) for i in range(5)]
    assert [r for _, r in sampling.round_robin(ids, ["a", "b", "c"], "b")] == [
        "c",
        "a",
        "b",
        "c",
        "a",
    ]
    assert [r for _, r in sampling.round_robin(ids[:2], ["a", "b"], "gone")] == ["a", "b"]
    assert sampling.round_robin(ids, [], None) == []


NAN = float("nan")


def test_nominal_agreement_by_hand():
    # pass=1/fail=0; coincidences o00=4, o01=o10=1, o11=2; n0=5, n1=3, n=8:
    # alpha = 1 - (n - 1) x 2 / (2 x n0 x n1) = 1 - 14/30 = 0.5333; 3 of 4 pairs agree
    matrix = [[1, 1, 0, 0], [1, 0, 0, 0]]
    assert calibration.alpha(matrix, "nominal") == pytest.approx(0.5333, abs=1e-4)
    assert calibration.percent_agreement(matrix) == 0.75


def test_ordinal_agreement_by_hand():
    # values 1,1 | 2,3 | 3,3: n1=2, n2=1, n3=3, n=6; ordinal d2(1,2)=2.25, d2(2,3)=4,
    # d2(1,3)=12.25; observed 2 x 4 = 8; expected 2 x (2 x 2.25 + 3 x 4 + 6 x 12.25) = 180;
    # alpha = 1 - (n - 1) x 8 / 180 = 0.7778
    matrix = [[1, 2, 3], [1, 3, 3]]
    assert calibration.alpha(matrix, "ordinal") == pytest.approx(0.7778, abs=1e-4)
    assert calibration.percent_agreement(matrix) == pytest.approx(0.6667, abs=1e-4)


def test_undefined_alpha_is_none_and_na_is_missing():
    assert calibration.alpha([[4, 4], [4, 4]], "ordinal") is None  # one value only
    assert calibration.percent_agreement([[1, NAN], [1, 3]]) == 1.0
    assert calibration.percent_agreement([[NAN], [3]]) is None
    three = [[1, 2, 3], [1, 2, 3], [1, 2, 2]]  # 3 reviewers: 3 + 3 + 1 of 9 pairs agree
    assert calibration.percent_agreement(three) == pytest.approx(7 / 9, abs=1e-4)


def test_spread_of_quality_scores():
    a, b = uuid.UUID(int=1), uuid.UUID(int=2)
    spread = calibration.score_spread(
        [
            {"session_id": a, "quality_score": 50.0},
            {"session_id": a, "quality_score": 100.0},
            {"session_id": b, "quality_score": 75.0},
        ]
    )
    assert spread == [
        {"session_id": a, "scores": [50.0, 100.0], "min": 50.0, "max": 100.0, "stdev": 35.36},
        {"session_id": b, "scores": [75.0], "min": 75.0, "max": 75.0, "stdev": None},
    ]
