"""The dashboard's shared filters: date range (with presets), team, region, language and root
cause; read from and written to the URL query string so that a view can be shared as a link."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode

from shared import domain

PRESETS = {"30d": 30, "90d": 90, "180d": 180, "365d": 365}
DEFAULT_PRESET = "180d"
KEYS = ("preset", "start", "end", "team", "region", "language", "root_cause")
REGIONS = ("EMEA", "AMER", "APAC")


def today() -> date:
    return datetime.now(UTC).date()


def from_query(search: str | None, allowed_teams: list[str] | None = None) -> dict[str, Any]:
    """Filters from a query string; unknown keys and bad values are dropped, never trusted."""
    raw = dict(parse_qsl((search or "").lstrip("?")))
    filters: dict[str, Any] = {"preset": raw.get("preset", DEFAULT_PRESET)}
    if filters["preset"] not in (*PRESETS, "custom"):
        filters["preset"] = DEFAULT_PRESET
    if filters["preset"] == "custom":
        start, end = _date(raw.get("start")), _date(raw.get("end"))
        if start and end and start <= end:
            filters["start"], filters["end"] = start.isoformat(), end.isoformat()
        else:
            filters["preset"] = DEFAULT_PRESET
    team = raw.get("team")
    if team and (allowed_teams is None or team in allowed_teams):
        filters["team"] = team
    if raw.get("region") in REGIONS:
        filters["region"] = raw["region"]
    if raw.get("language") in domain.SUPPORTED_LANGUAGES:
        filters["language"] = raw["language"]
    if raw.get("root_cause") in domain.ROOT_CAUSES:
        filters["root_cause"] = raw["root_cause"]
    return with_range(filters)


def to_query(filters: dict[str, Any]) -> str:
    """The query string of the filters (`?…`, or empty for the defaults)."""
    values = {key: filters[key] for key in KEYS if filters.get(key)}
    if values.get("preset") != "custom":
        values.pop("start", None)
        values.pop("end", None)
    if values.get("preset") == DEFAULT_PRESET:
        values.pop("preset")
    return "?" + urlencode(values) if values else ""


def with_range(filters: dict[str, Any], now: date | None = None) -> dict[str, Any]:
    """Add `from`/`to` (UTC instants, `to` exclusive) for the API from the preset or the dates."""
    result = dict(filters)
    if result.get("preset") == "custom":
        start, end = date.fromisoformat(result["start"]), date.fromisoformat(result["end"])
    else:
        end = now or today()
        start = end - timedelta(days=PRESETS[result.get("preset", DEFAULT_PRESET)] - 1)
        result["start"], result["end"] = start.isoformat(), end.isoformat()
    result["from"] = _instant(start)
    result["to"] = _instant(end + timedelta(days=1))
    return result


def previous_period(filters: dict[str, Any]) -> dict[str, Any]:
    """The same filters over the equally long period just before (for "change vs previous")."""
    start, end = date.fromisoformat(filters["start"]), date.fromisoformat(filters["end"])
    length = (end - start).days + 1
    earlier = {**filters, "preset": "custom"}
    earlier["start"] = (start - timedelta(days=length)).isoformat()
    earlier["end"] = (start - timedelta(days=1)).isoformat()
    return with_range(earlier)


def period_days(filters: dict[str, Any]) -> int:
    start, end = date.fromisoformat(filters["start"]), date.fromisoformat(filters["end"])
    return min(365, (end - start).days + 1)


def _date(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _instant(day: date) -> str:
    return datetime(day.year, day.month, day.day, tzinfo=UTC).isoformat()
