"""Overview's two periods from one API call: split as two calls would have answered them."""

from datetime import date, timedelta

import pytest

from dashboard_svc import api_client, figures, filters
from dashboard_svc.pages import overview

# One row a week for a year and a half, two teams each week.
ROWS = [
    {"week": (date(2025, 6, 2) + timedelta(weeks=n)).isoformat(), "team": team, "sessions": n}
    for n in range(80)
    for team in ("emea-1", "emea-2")
]


def api_answer(chosen: dict) -> list[dict]:
    """The rows GET /trends/root-causes (or /weekly) answers for the chosen filters' from/to: the
    weeks from the Monday of the week `from` falls in, before the day `to` falls on
    (store_summaries)."""
    start = date.fromisoformat(chosen["from"][:10])
    first_week = (start - timedelta(days=start.weekday())).isoformat()
    return [row for row in ROWS if first_week <= row["week"] < chosen["to"][:10]]


@pytest.mark.parametrize(
    "query",
    [
        "",  # the default: the last 180 days, ending today
        "?preset=30d",
        "?preset=7d",
        "?preset=custom&start=2026-06-01&end=2026-06-28",  # Monday to Sunday
        "?preset=custom&start=2026-06-03&end=2026-06-10",  # Wednesday to Wednesday
        "?preset=custom&start=2026-06-07&end=2026-06-07",  # one Sunday
    ],
)
def test_one_call_over_both_periods_splits_as_two_calls_answer(query):
    chosen = filters.from_query(query, None)
    if not query:
        chosen = filters.with_range(chosen, now=date(2026, 10, 14))
    earlier = filters.previous_period(chosen)
    both = api_answer({**chosen, "from": earlier["from"]})
    current, previous = overview.split_periods(both, chosen)
    assert current == api_answer(chosen)
    assert previous == api_answer(earlier)


def test_a_week_both_periods_share_counts_in_both():
    chosen = filters.from_query("?preset=custom&start=2026-06-03&end=2026-06-09", None)
    earlier = filters.previous_period(chosen)  # 2026-05-27 to 2026-06-02
    both = api_answer({**chosen, "from": earlier["from"]})
    current, previous = overview.split_periods(both, chosen)
    assert sorted({row["week"] for row in current}) == ["2026-06-01", "2026-06-08"]
    assert sorted({row["week"] for row in previous}) == ["2026-05-25", "2026-06-01"]


def test_both_periods_make_one_api_call_from_the_earlier_start(monkeypatch):
    calls = []

    def root_causes(chosen):
        calls.append(chosen)
        return api_answer(chosen)

    monkeypatch.setattr(api_client, "root_causes", root_causes)
    chosen = filters.from_query("?preset=custom&start=2026-06-03&end=2026-06-10&team=emea-1", None)
    current, previous = overview.both_periods(chosen)
    assert len(calls) == 1
    assert (calls[0]["from"], calls[0]["to"]) == (
        "2026-05-26T00:00:00+00:00",
        "2026-06-11T00:00:00+00:00",
    )
    assert calls[0]["team"] == "emea-1"
    assert current == api_answer(chosen)
    assert previous == api_answer(filters.previous_period(chosen))


def test_rows_per_root_cause_give_the_cards_and_chart_of_rows_per_team_and_region():
    """Overview reads rows per week and root cause; the week's totals, and so the cards and the
    chart, are those of the rows per week, team and region of the same sessions."""
    sessions = [  # week, team, region, cause, sessions, sentiment sum, confidence sum
        ("2026-06-01", "emea-1", "EMEA", "knowledge_gap", 3, 0.9, 2.1),
        ("2026-06-01", "emea-1", "EMEA", "other", 1, 0.7, 0.9),
        ("2026-06-01", "emea-2", "AMER", "knowledge_gap", 2, 1.5, 1.0),
        ("2026-06-08", "emea-2", "AMER", "process_issue", 4, 2.0, 3.6),
        ("2026-06-15", "emea-1", "EMEA", "other", 5, 4.5, 2.5),
    ]

    def rows_by(*key):
        groups: dict[tuple, list] = {}
        for week, team, region, cause, count, sentiment, confidence in sessions:
            values = {"week": week, "team": team, "region": region, "root_cause": cause}
            group = groups.setdefault(tuple(values[name] for name in key), [0, 0.0, 0.0])
            group[0] += count
            group[1] += sentiment
            group[2] += confidence
        return [
            {
                **dict(zip(key, values, strict=True)),
                "sessions": count,
                "mean_sentiment": sentiment / count,
                "mean_confidence": confidence / count,
            }
            for values, (count, sentiment, confidence) in groups.items()
        ]

    by_cause, by_team = rows_by("week", "root_cause"), rows_by("week", "team", "region")
    assert len(by_cause) == 4 and len(by_team) == 4
    weeks = figures.by_week(by_cause, "2026-06-01", "2026-06-28")
    assert rounded(weeks) == rounded(figures.by_week(by_team, "2026-06-01", "2026-06-28"))
    assert [week["sessions"] for week in weeks] == [6, 4, 5, 0]
    earlier = by_cause[:2]
    assert rounded(figures.kpis(by_cause, earlier)) == rounded(figures.kpis(by_team, earlier))


def rounded(value):
    """`value` with its floats rounded (sums in another order differ in the last bits)."""
    if isinstance(value, dict):
        return {key: rounded(item) for key, item in value.items()}
    if isinstance(value, list):
        return [rounded(item) for item in value]
    return round(value, 9) if isinstance(value, float) else value
