"""The dashboard's shared filters: date range (with presets), team, region, language and root
cause; read from and written to the URL query string so that a view can be shared as a link and
follows the user from page to page."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode

from shared import domain

# Rolling presets: that many days ending today.
ROLLING = {"7d": 7, "30d": 30, "90d": 90, "180d": 180, "365d": 365}
QUARTERS = ("this_quarter", "previous_quarter")
PRESETS = (*ROLLING, *QUARTERS)
DEFAULT_PRESET = "180d"
# `status` is the Alerts page's tab: kept in its URL, never carried to other pages by the navbar.
KEYS = ("preset", "start", "end", "team", "region", "language", "root_cause", "status")
REGIONS = ("EMEA", "AMER", "APAC")
ALERT_STATUSES = ("open", "acknowledged", "resolved", "all")


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
    if raw.get("status") in ALERT_STATUSES and raw["status"] != "open":
        filters["status"] = raw["status"]  # `open` is the tab's default: left out of the URL
    return with_range(filters)


def to_query(filters: dict[str, Any]) -> str:
    """The query string of the filters (`?…`, or empty for the defaults)."""
    values = {key: filters[key] for key in KEYS if filters.get(key)}
    if values.get("preset") != "custom":
        values.pop("start", None)
        values.pop("end", None)
    if values.get("preset") == DEFAULT_PRESET:
        values.pop("preset")
    if values.get("status") == "open":
        values.pop("status")
    return "?" + urlencode(values) if values else ""


def preset_range(preset: str, now: date) -> tuple[date, date]:
    """First and last day (both included) of a preset period as of `now`."""
    if preset in ROLLING:
        return now - timedelta(days=ROLLING[preset] - 1), now
    quarter_start = date(now.year, 3 * ((now.month - 1) // 3) + 1, 1)
    if preset == "this_quarter":
        return quarter_start, now
    last_day = quarter_start - timedelta(days=1)
    return date(last_day.year, 3 * ((last_day.month - 1) // 3) + 1, 1), last_day


def with_range(filters: dict[str, Any], now: date | None = None) -> dict[str, Any]:
    """Add `from`/`to` (UTC instants, `to` exclusive) for the API from the preset or the dates."""
    result = dict(filters)
    if result.get("preset") == "custom":
        start, end = date.fromisoformat(result["start"]), date.fromisoformat(result["end"])
    else:
        start, end = preset_range(result.get("preset", DEFAULT_PRESET), now or today())
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
    """Days in the chosen period (Compare History compares the last that many days)."""
    start, end = date.fromisoformat(filters["start"]), date.fromisoformat(filters["end"])
    return max(1, min(365, (end - start).days + 1))


def period_until(filters: dict[str, Any], now: date | None = None) -> str | None:
    """Where Compare History's current period ends: the end of the chosen period when that is
    before today (a previous quarter, a past custom range), else None (now)."""
    end = date.fromisoformat(filters["end"])
    if end >= (now or today()):
        return None
    return _instant(end + timedelta(days=1))


def _date(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _instant(day: date) -> str:
    return datetime(day.year, day.month, day.day, tzinfo=UTC).isoformat()
