"""Compare History follows the shared period: a period that ended before today (the previous
quarter, a past custom range) is compared up to its end, any other up to now."""

from datetime import date

from dashboard_svc.filters import period_days, period_until, with_range

TODAY = date(2026, 12, 7)


def test_the_previous_quarter_is_compared_up_to_its_last_day():
    filters = with_range({"preset": "previous_quarter"}, now=TODAY)
    assert (filters["start"], filters["end"]) == ("2026-07-01", "2026-09-30")
    assert period_days(filters) == 92
    assert period_until(filters, now=TODAY) == "2026-10-01T00:00:00+00:00"


def test_periods_that_end_today_are_compared_up_to_now():
    for preset in ("7d", "30d", "this_quarter"):
        filters = with_range({"preset": preset}, now=TODAY)
        assert period_until(filters, now=TODAY) is None, preset


def test_a_past_custom_range_ends_where_it_ends():
    filters = with_range({"preset": "custom", "start": "2026-03-01", "end": "2026-03-31"})
    assert period_days(filters) == 31
    assert period_until(filters, now=TODAY) == "2026-04-01T00:00:00+00:00"
