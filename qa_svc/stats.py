"""Welch's t interval for the difference of two means (the flag on a worse agent version), with
Student's t quantile from the standard library (scipy is not a dependency of the platform)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

SIMPSON_STEPS = 400  # even; the density is smooth, 400 steps give 1e-7 on the quantiles used


def t_density(x: float, df: float) -> float:
    """Student's t probability density with `df` degrees of freedom."""
    log_norm = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)
    return math.exp(log_norm - (df + 1) / 2 * math.log1p(x * x / df))


def t_cdf(x: float, df: float) -> float:
    """P(T <= x): 1/2 plus the density integrated from 0 to x by Simpson's rule."""
    if x == 0:
        return 0.5
    h = x / SIMPSON_STEPS
    inner = sum(
        (4 if step % 2 else 2) * t_density(step * h, df) for step in range(1, SIMPSON_STEPS)
    )
    return 0.5 + h / 3 * (t_density(0, df) + inner + t_density(x, df))


EXPANSION_ENOUGH = 30  # degrees of freedom from which the expansion alone is within 1e-6


def t_quantile(p: float, df: float) -> float:
    """The p-quantile of Student's t (0.5 < p < 1): the Cornish-Fisher expansion around the
    normal quantile (Abramowitz & Stegun 26.7.5), refined by Newton steps on t_cdf below
    EXPANSION_ENOUGH degrees of freedom (where the expansion's error grows)."""
    z = NormalDist().inv_cdf(p)
    t = (
        z
        + (z**3 + z) / (4 * df)
        + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)
        + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * df**3)
        + (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / (92160 * df**4)
    )
    if df >= EXPANSION_ENOUGH:
        return t
    for _ in range(8):
        step = (t_cdf(t, df) - p) / t_density(t, df)
        t -= step
        if abs(step) < 1e-10:
            break
    return t


@dataclass(frozen=True)
class Interval:
    difference: float
    low: float
    high: float


def welch_interval(
    mean_a: float,
    variance_a: float,
    count_a: int,
    mean_b: float,
    variance_b: float,
    count_b: int,
    confidence: float = 0.95,
) -> Interval | None:
    """The `confidence` interval of mean_b - mean_a by Welch's t (unequal variances, the
    Welch-Satterthwaite degrees of freedom); None when a group has fewer than two values. With no
    variance in either group the interval is the difference itself."""
    if count_a < 2 or count_b < 2:
        return None
    difference = mean_b - mean_a
    part_a, part_b = variance_a / count_a, variance_b / count_b
    standard_error = math.sqrt(part_a + part_b)
    if standard_error == 0:
        return Interval(difference, difference, difference)
    df = (part_a + part_b) ** 2 / (part_a**2 / (count_a - 1) + part_b**2 / (count_b - 1))
    margin = t_quantile(0.5 + confidence / 2, df) * standard_error
    return Interval(difference, difference - margin, difference + margin)


def mean_and_variance(count: int, total: float, total_of_squares: float) -> tuple[float, float]:
    """Mean and sample variance (n - 1) from a count, a sum and a sum of squares; the variance
    is 0 for fewer than two values, and never below 0 (rounding of the sums)."""
    mean = total / count
    if count < 2:
        return mean, 0.0
    return mean, max(0.0, (total_of_squares - count * mean * mean) / (count - 1))
