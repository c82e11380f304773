"""Hypothesis profiles: `ci` (default) is reproducible and bounded for `make test`; `soak` (set
HYPOTHESIS_PROFILE=soak, as `make soak` does) explores ten times more, with fresh randomness."""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "soak", max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
