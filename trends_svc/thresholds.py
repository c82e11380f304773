"""The four trend rules' parameters: names, allowed ranges and defaults (DOMAIN.md)."""

from __future__ import annotations

from typing import Any

from shared.errors import reportable_field

# rule -> parameter -> (type, minimum, maximum)
PARAMETERS: dict[str, dict[str, tuple[type, float, float]]] = {
    "recurring_issue": {"min_count": (int, 2, 1000), "window_days": (int, 1, 3650)},
    "performance_decline": {"max_drop": (float, 0.0, 1.0), "min_samples": (int, 1, 1000)},
    "positive_trend": {"min_consecutive": (int, 2, 100)},
    "team_frequent_issue": {
        "window_days": (int, 1, 3650),
        "min_count": (int, 1, 100000),
        "min_share": (float, 0.0, 1.0),
    },
}
RULES = tuple(PARAMETERS)


def validate_params(
    rule: str, params: dict[str, Any], current: dict[str, Any]
) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """The merged parameters and a problem entry per unknown or out-of-range one."""
    allowed = PARAMETERS[rule]
    errors = []
    merged = dict(current)
    for name, value in params.items():
        if name not in allowed:
            # the key is the caller's (an e-mail address, say): repeated only when shaped as a name
            field = reportable_field(f"params.{name}", fallback="params")
            errors.append({"field": field, "reason": "Unknown parameter of this rule."})
            continue
        kind, low, high = allowed[name]
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or (kind is int and not float(value).is_integer())
        ):
            errors.append({"field": f"params.{name}", "reason": f"Must be a {kind.__name__}."})
            continue
        if not low <= value <= high:
            errors.append(
                {"field": f"params.{name}", "reason": f"Must be between {low} and {high}."}
            )
            continue
        merged[name] = kind(value)
    return merged, errors
