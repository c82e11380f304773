"""The dashboard's pure figure and filter functions, without a browser."""

from datetime import date

import plotly.graph_objects as go

from dashboard_svc import figures, filters
from dashboard_svc.pages import alerts, data, engineers

WEEKLY = [
    {
        "week": "2026-11-02",
        "team": "emea-1",
        "region": "EMEA",
        "sessions": 3,
        "mean_sentiment": 0.2,
        "mean_confidence": 0.8,
    },
    {
        "week": "2026-11-02",
        "team": "emea-2",
        "region": "EMEA",
        "sessions": 1,
        "mean_sentiment": 0.6,
        "mean_confidence": 0.4,
    },
    {
        "week": "2026-11-09",
        "team": "emea-1",
        "region": "EMEA",
        "sessions": 2,
        "mean_sentiment": 0.5,
        "mean_confidence": 0.9,
    },
]


def checked(figure: dict) -> go.Figure:
    """The dashboard's figure dict as plotly's validated graph object: it must be a valid figure."""
    return go.Figure(figure)


def test_weekly_rows_merge_per_week_with_weighted_means():
    weeks = figures.by_week(WEEKLY)
    assert [w["week"] for w in weeks] == ["2026-11-02", "2026-11-09"]
    assert weeks[0]["sessions"] == 4
    assert round(weeks[0]["mean_sentiment"], 4) == 0.3  # (3 × 0.2 + 1 × 0.6) / 4
    assert round(weeks[0]["mean_confidence"], 4) == 0.7


def test_kpis_compare_with_the_previous_period():
    values = figures.kpis(WEEKLY, WEEKLY[:1])
    assert values["sessions"] == {"value": 6, "change": 3}
    assert round(values["mean_sentiment"]["change"], 4) == round((0.6 + 0.6 + 1.0) / 6 - 0.2, 4)
    nothing_before = figures.kpis(WEEKLY, [])
    assert nothing_before["sessions"]["change"] is None
    assert nothing_before["mean_sentiment"]["change"] is None
    assert figures.kpis([], [])["mean_confidence"] == {"value": None, "change": None}


def test_weekly_figure_has_titles_units_and_the_palette():
    figure = checked(figures.weekly_figure(WEEKLY))
    assert figure.layout.title.text == "Analyses and mean scores per week"
    assert figure.layout.yaxis.title.text == "analyses"
    assert figure.layout.yaxis2.title.text == "score (0–1)"
    # integer count axis (5 analyses at most: one tick per analysis), 2-decimal scores
    assert (figure.layout.yaxis.tickformat, figure.layout.yaxis.dtick) == (",d", 1)
    assert figure.layout.yaxis2.tickformat == ".2f"
    assert figure.layout.hoverlabel.namelength == -1, "hover labels are never cut"
    # week ticks fall on Mondays
    assert figure.layout.xaxis.tick0 == "2024-01-01" and date(2024, 1, 1).weekday() == 0
    assert figure.layout.xaxis.dtick == 7 * 24 * 3600 * 1000
    assert [trace.name for trace in figure.data] == [
        "Analyses",
        "Mean sentiment",
        "Mean confidence",
    ]
    assert {figure.data[1].line.color, figure.data[2].line.color} <= set(figures.PALETTE)


def test_weeks_without_analyses_are_zero_not_skipped():
    weeks = figures.by_week(WEEKLY, "2026-10-28", "2026-11-24")
    assert [w["week"] for w in weeks] == [
        "2026-10-26",
        "2026-11-02",
        "2026-11-09",
        "2026-11-16",
        "2026-11-23",
    ]
    assert [w["sessions"] for w in weeks] == [0, 4, 2, 0, 0]
    assert weeks[0]["mean_sentiment"] is None  # a gap in the line, not a line drawn through it
    figure = checked(figures.weekly_figure(WEEKLY, "2026-10-28", "2026-11-24"))
    assert list(figure.data[0].y) == [0, 4, 2, 0, 0]
    assert figure.data[1].connectgaps is False
    assert list(figure.data[0].customdata) == [w["week"] for w in weeks], "a click names the week"


def test_count_axes_of_large_numbers_use_thousands_separators():
    axis = figures.count_axis("analyses", 101_796)
    assert axis["tickformat"] == ",d" and "dtick" not in axis


def test_empty_data_says_why():
    figure = checked(figures.weekly_figure([]))
    assert figure.layout.annotations[0].text == "No analyses in this period for these filters."
    assert checked(figures.root_cause_area([])).layout.annotations[0].text.startswith("No analyses")
    assert checked(figures.totals_bar([], "language", "t", "x")).layout.annotations
    assert (
        checked(figures.history_timeline([])).layout.annotations[0].text.startswith("No analyses")
    )
    assert checked(
        figures.root_cause_mix({"current": {"sessions": 0}, "previous": {"sessions": 0}})
    ).layout.annotations


def test_root_cause_area_stacks_each_category_in_its_colour_and_carries_it_for_clicks():
    rows = [
        {"week": "2026-11-02", "root_cause": "knowledge_gap", "sessions": 2},
        {"week": "2026-11-09", "root_cause": "other", "sessions": 1},
    ]
    figure = checked(figures.root_cause_area(rows))
    names = {trace.name: trace for trace in figure.data}
    assert set(names) == {"Knowledge gap", "Other"}
    assert list(names["Knowledge gap"].y) == [2, 0]
    assert names["Other"].marker.color == figures.ROOT_CAUSE_COLOURS["other"]
    # each band carries its own category: a click on it filters by that one (never `other`)
    assert set(names["Knowledge gap"].customdata) == {"knowledge_gap"}
    assert set(names["Other"].customdata) == {"other"}
    assert figure.layout.barmode == "stack" and figure.layout.hovermode == "closest"
    shares = figures.root_cause_shares(rows)
    assert [(s["root_cause"], round(s["share"], 3)) for s in shares] == [
        ("knowledge_gap", 0.667),
        ("other", 0.333),
    ]


def test_totals_bar_orders_by_count():
    rows = [
        {"language": "DE", "sessions": 1},
        {"language": "EN", "sessions": 5},
        {"language": "DE", "sessions": 2},
    ]
    figure = checked(
        figures.totals_bar(rows, "language", "Analyses per output language", "output language")
    )
    assert list(figure.data[0].x) == ["EN", "DE"]
    assert list(figure.data[0].y) == [5, 3]
    assert figure.layout.xaxis.title.text == "output language"


def test_root_cause_mix_shows_shares_of_each_period_and_the_team():
    history = {
        "team": "emea-1",
        "current": {"sessions": 4, "root_causes": {"knowledge_gap": 3, "other": 1}},
        "previous": {"sessions": 0, "root_causes": {}},
        "team_baseline": {"sessions": 10, "root_causes": {"knowledge_gap": 5, "other": 5}},
    }
    figure = checked(figures.root_cause_mix(history))
    bars = {trace.name: dict(zip(trace.x, trace.y, strict=True)) for trace in figure.data}
    assert bars["This period"]["Knowledge<br>gap"] == 0.75
    assert bars["Team emea-1"]["Other"] == 0.5
    assert figure.layout.yaxis.title.text == "share of analyses"
    assert figure.layout.yaxis.tickformat == ".0%"


def test_alert_rows_and_evidence_text():
    row = figures.alert_rows(
        [
            {
                "id": "a1",
                "rule": "recurring_issue",
                "status": "open",
                "severity": "warning",
                "engineer_code": "eng_x",
                "team": "emea-1",
                "category": "knowledge_gap",
                "opened_at": "2026-11-20T10:00:00+00:00",
                "evidence": {
                    "sessions": 4,
                    "min_count": 3,
                    "window_days": 90,
                    "first_at": "2026-09-01T08:00:00+00:00",
                    "last_at": "2026-11-05T03:12:23.217610+00:00",
                },
            }
        ]
    )[0]
    assert (row["rule"], row["subject"], row["category"], row["engineer_code"]) == (
        "Recurring issue",
        "eng_x",
        "Knowledge gap",
        "eng_x",
    )
    assert row["opened_at"] == "2026-11-20 10:00"
    assert row["evidence"] == (
        "4 analyses with root cause knowledge gap in the last 90 days (the rule fires at 3); "
        "first on 01 Sep 2026, latest on 05 Nov 2026."
    )


def test_every_rule_has_a_readable_evidence_sentence():
    decline = figures.evidence_text(
        "performance_decline",
        {
            "current_mean": 0.5,
            "previous_mean": 0.8,
            "drop": 0.375,
            "current_sessions": 3,
            "previous_sessions": 4,
            "window_days": 30,
            "max_drop": 0.15,
            "min_samples": 2,
        },
    )
    assert decline == (
        "Mean confidence fell 38%, from 0.80 (4 analyses) to 0.50 (3 analyses), comparing the "
        "last 30 days with the 30 before (the rule fires above 15%)."
    )
    rising = figures.evidence_text(
        "positive_trend",
        {"sentiments": [0.2, 0.3, 0.45, 0.6], "min_consecutive": 3, "last_at": "2026-11-05"},
        {"category": "process_issue"},
    )
    assert rising == (
        "Sentiment rose 3 times in a row in process issue (0.20 → 0.30 → 0.45 → 0.60); "
        "latest on 05 Nov 2026."
    )
    team = figures.evidence_text(
        "team_frequent_issue",
        {
            "sessions": 6,
            "team_sessions": 10,
            "share": 0.6,
            "window_days": 28,
            "min_count": 5,
            "min_share": 0.4,
        },
        {"category": "other"},
    )
    assert team == (
        "6 of the team's 10 analyses (60%) had root cause other in the last 28 days "
        "(the rule fires at 5 and 40%)."
    )


def test_filters_round_trip_through_the_query_string_and_drop_what_is_not_allowed():
    chosen = filters.from_query(
        "?preset=30d&team=emea-1&root_cause=knowledge_gap&language=DE", ["emea-1"]
    )
    assert (
        filters.to_query(chosen) == "?preset=30d&team=emea-1&language=DE&root_cause=knowledge_gap"
    )
    other_team = filters.from_query("?team=apac-1&region=Mars&root_cause=nonsense", ["emea-1"])
    assert (
        "team" not in other_team and "region" not in other_team and "root_cause" not in other_team
    )
    assert filters.from_query("?team=apac-1", None)["team"] == "apac-1"  # roles without team scope
    assert filters.from_query("?preset=custom&start=2026-11-10&end=2026-11-01")["preset"] == "180d"
    # the Alerts tab travels in the same query string; `open` is the default and left out
    assert filters.to_query(filters.from_query("?status=resolved&preset=7d")) == (
        "?preset=7d&status=resolved"
    )
    assert filters.to_query(filters.from_query("?status=open")) == ""
    assert "status" not in filters.from_query("?status=nonsense")


def test_presets_of_a_week_and_of_quarters():
    now = date(2026, 11, 24)
    assert filters.preset_range("7d", now) == (date(2026, 11, 18), now)
    assert filters.preset_range("this_quarter", now) == (date(2026, 10, 1), now)
    assert filters.preset_range("previous_quarter", now) == (date(2026, 7, 1), date(2026, 9, 30))
    january = date(2027, 1, 15)
    assert filters.preset_range("previous_quarter", january) == (
        date(2026, 10, 1),
        date(2026, 12, 31),
    )
    chosen = filters.with_range({"preset": "previous_quarter"}, now=now)
    assert (chosen["from"], chosen["to"]) == (
        "2026-07-01T00:00:00+00:00",
        "2026-10-01T00:00:00+00:00",
    )
    assert filters.period_days(chosen) == 92


def test_date_range_and_previous_period():
    chosen = filters.with_range({"preset": "30d"}, now=date(2026, 11, 24))
    assert (chosen["start"], chosen["end"]) == ("2026-10-26", "2026-11-24")
    assert chosen["from"] == "2026-10-26T00:00:00+00:00"
    assert chosen["to"] == "2026-11-25T00:00:00+00:00"  # exclusive: the whole last day counts
    earlier = filters.previous_period(chosen)
    assert (earlier["start"], earlier["end"]) == ("2026-09-26", "2026-10-25")
    assert filters.period_days(chosen) == 30


def test_links_carry_the_filters_but_never_a_name():
    chosen = filters.with_range({"preset": "30d", "team": "emea-1"}, now=date(2026, 11, 24))
    href = data.export_href("csv", chosen)
    assert href.startswith("/dashboard/download/sessions?format=csv&team=emea-1&from=")
    assert (
        alerts.export_href("open", chosen)
        == "/dashboard/download/alerts?status=open&team=emea-1&format=csv"
    )
    row = engineers.engineer_rows(
        [
            {
                "engineer_code": "eng_x",
                "team": "emea-1",
                "sessions": 2,
                "mean_sentiment": 0.456,
                "mean_confidence": None,
                "most_common_root_cause": "other",
                "last_analysed_at": "2026-11-20T10:00:00+00:00",
            }
        ]
    )[0]
    assert row["engineer_code"] == "eng_x", "links and roster names are made in the browser"
    assert (row["mean_sentiment"], row["last_analysed"]) == (0.456, "2026-11-20")


def test_a_change_that_rounds_to_zero_is_no_change_and_counts_get_separators():
    from dashboard_svc.components import change_text

    assert change_text(-0.001) == ("no change vs previous period", "muted")
    assert change_text(101_744, "count") == ("+101,744 vs previous period", "success")
    assert change_text(-0.126) == ("-0.13 vs previous period", "danger")


def test_upload_decoding_names_the_problem():
    import base64

    import pytest

    content = base64.b64encode(b"a,b\n1,2\n").decode()
    assert data.decode_upload(f"data:text/csv;base64,{content}", "x.CSV") == (
        b"a,b\n1,2\n",
        "text/csv",
    )
    for contents, name, reason in (
        (None, None, "Choose a file first."),
        (f"data:;base64,{content}", "x.xlsx", "Use a .csv, .json or .ndjson file."),
        ("data:;base64,***", "x.csv", "The file could not be read."),
    ):
        with pytest.raises(ValueError, match=reason.replace(".", r"\.")):
            data.decode_upload(contents, name)
