"""The dashboard's pure figure and filter functions, without a browser."""

from datetime import date

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
    figure = figures.weekly_figure(WEEKLY)
    assert figure.layout.title.text == "Analyses and mean sentiment per week"
    assert figure.layout.yaxis.title.text == "analyses"
    assert figure.layout.yaxis2.title.text == "score (0–1)"
    assert [trace.name for trace in figure.data] == [
        "Analyses",
        "Mean sentiment",
        "Mean confidence",
    ]
    assert {figure.data[1].line.color, figure.data[2].line.color} <= set(figures.PALETTE)


def test_empty_data_says_why():
    figure = figures.weekly_figure([])
    assert figure.layout.annotations[0].text == "No analyses in this period for these filters."
    assert figures.root_cause_area([]).layout.annotations[0].text.startswith("No analyses")
    assert figures.totals_bar([], "language", "t", "x").layout.annotations
    assert figures.history_timeline([]).layout.annotations[0].text.startswith("No analyses")
    assert figures.root_cause_mix(
        {"current": {"sessions": 0}, "previous": {"sessions": 0}}
    ).layout.annotations


def test_root_cause_area_stacks_each_category_in_its_colour_and_carries_it_for_clicks():
    rows = [
        {"week": "2026-11-02", "root_cause": "knowledge_gap", "sessions": 2},
        {"week": "2026-11-09", "root_cause": "other", "sessions": 1},
    ]
    figure = figures.root_cause_area(rows)
    names = {trace.name: trace for trace in figure.data}
    assert set(names) == {"Knowledge gap", "Other"}
    assert list(names["Knowledge gap"].y) == [2, 0]
    assert names["Other"].line.color == figures.ROOT_CAUSE_COLOURS["other"]
    assert names["Other"].customdata[0] == "other"
    shares = figures.root_cause_shares(rows)
    assert [(s["root_cause"], s["share"]) for s in shares] == [
        ("knowledge_gap", 66.7),
        ("other", 33.3),
    ]


def test_totals_bar_orders_by_count():
    rows = [
        {"language": "DE", "sessions": 1},
        {"language": "EN", "sessions": 5},
        {"language": "DE", "sessions": 2},
    ]
    figure = figures.totals_bar(rows, "language", "Analyses per output language", "output language")
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
    figure = figures.root_cause_mix(history)
    bars = {trace.name: dict(zip(trace.x, trace.y, strict=True)) for trace in figure.data}
    assert bars["This period"]["Knowledge gap"] == 75.0
    assert bars["Team emea-1"]["Other"] == 50.0
    assert figure.layout.yaxis.title.text == "share of analyses (%)"


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
                "evidence": {"sessions": 4, "share": 0.4567, "ids": [1, 2]},
            }
        ]
    )[0]
    assert (row["rule"], row["subject"], row["category"]) == (
        "Recurring issue",
        "eng_x",
        "Knowledge gap",
    )
    assert row["opened_at"] == "2026-11-20 10:00"
    assert row["evidence"] == "sessions: 4; share: 0.457; ids: 2 items"


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
    assert row["engineer_code"] == "[eng_x](/dashboard/engineers/eng_x)"
    assert (row["mean_sentiment"], row["last_analysed"]) == (0.46, "2026-11-20")


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
