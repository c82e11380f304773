"""SQL of Compare History and the trend summaries: from the projection and its rollups."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import psycopg

from shared.domain import ROOT_CAUSES


def period_summary(
    conn: psycopg.Connection,
    *,
    start: datetime,
    end: datetime,
    engineer_code: str | None = None,
    team: str | None = None,
    teams: Sequence[str] | None = None,
) -> dict:
    """Count, means and root-cause mix of an engineer's or a team's sessions in (start, end],
    of `teams` only when given. One pass per root cause; a team's rows come from the covering
    index (no table reads once the visibility map is set, which the table's autovacuum settings
    keep up)."""
    where = "analysed_at > %(start)s AND analysed_at <= %(end)s"
    where += " AND engineer_code = %(engineer_code)s" if engineer_code else " AND team = %(team)s"
    if teams is not None:
        where += " AND team = ANY(%(teams)s::text[])"
    rows = conn.execute(
        "SELECT root_cause, count(*) AS sessions, sum(sentiment_score) AS sentiment_sum, "
        f"sum(confidence_overall) AS confidence_sum FROM sessions WHERE {where} "
        "GROUP BY root_cause ORDER BY root_cause",
        {
            "start": start,
            "end": end,
            "engineer_code": engineer_code,
            "team": team,
            "teams": team_list(teams),
        },
    ).fetchall()
    sessions = sum(row["sessions"] for row in rows)
    return {
        "sessions": sessions,
        "mean_sentiment": sum(row["sentiment_sum"] for row in rows) / sessions if rows else None,
        "mean_confidence": sum(row["confidence_sum"] for row in rows) / sessions if rows else None,
        "root_causes": {row["root_cause"]: row["sessions"] for row in rows},
    }


def engineer_sequence(
    conn: psycopg.Connection,
    engineer_code: str,
    now: datetime,
    per_category: int = 50,
    teams: Sequence[str] | None = None,
) -> list[dict]:
    """An engineer's latest sessions up to `now` (at most `per_category` per root cause; of
    `teams` only, when given), oldest first: category, sentiment, time, team."""
    return conn.execute(
        """
        SELECT latest.* FROM unnest(%(causes)s::text[]) AS cause
        CROSS JOIN LATERAL (
            SELECT root_cause, sentiment_score, analysed_at, team, session_id FROM sessions
            WHERE engineer_code = %(code)s AND root_cause = cause AND analysed_at <= %(now)s
              AND (%(teams)s::text[] IS NULL OR team = ANY(%(teams)s::text[]))
            ORDER BY analysed_at DESC, session_id DESC
            LIMIT %(per_category)s
        ) latest
        ORDER BY analysed_at, session_id
        """,
        {
            "code": engineer_code,
            "now": now,
            "per_category": per_category,
            "causes": list(ROOT_CAUSES),
            "teams": team_list(teams),
        },
    ).fetchall()


def engineer_timeline(
    conn: psycopg.Connection,
    engineer_code: str,
    since: datetime,
    teams: Sequence[str] | None = None,
) -> list[dict]:
    """Weekly sessions and means of an engineer (of `teams`' sessions only, when given), from
    the projection. The week before `since` bounds the index range; the week test is exact."""
    return conn.execute(
        """
        SELECT date_trunc('week', analysed_at AT TIME ZONE 'UTC')::date AS week,
               count(*)::int AS sessions, avg(sentiment_score) AS mean_sentiment,
               avg(confidence_overall) AS mean_confidence
        FROM sessions
        WHERE engineer_code = %(code)s
          AND analysed_at >= %(since)s::timestamptz - interval '7 days'
          AND date_trunc('week', analysed_at AT TIME ZONE 'UTC')::date
              >= date_trunc('week', %(since)s::timestamptz)::date
          AND (%(teams)s::text[] IS NULL OR team = ANY(%(teams)s::text[]))
        GROUP BY 1 ORDER BY 1
        """,
        {"code": engineer_code, "since": since, "teams": team_list(teams)},
    ).fetchall()


def weekly_summary(
    conn: psycopg.Connection, filters: dict[str, Any], teams: Sequence[str] | None
) -> list[dict]:
    """The spec's weekly trend summary: week, sessions, mean sentiment and confidence, most
    common root cause (the first by name of a tie), per team and region; from the rollups (the
    language rollup for a language).

    One aggregate over the rollup's rows, no join: the window-and-join form it replaces was
    estimated at one row, and once the pooled connection's prepared statement went to a generic
    plan (its sixth run), that plan nested the join loops: 15-28 s for every team over a year at
    1,000,000 sessions, against 0.2 s before."""
    return conn.execute(
        f"""
        WITH causes AS (
            SELECT week, team, region, root_cause, sum(sessions) AS sessions,
                   sum(sentiment_sum) AS sentiment_sum, sum(confidence_sum) AS confidence_sum
            FROM {_team_weeks(filters)} WHERE {_ROLLUP_FILTERS}
            GROUP BY week, team, region, root_cause
        )
        SELECT week, team, NULLIF(region, '') AS region, sum(sessions)::int AS sessions,
               sum(sentiment_sum) / sum(sessions) AS mean_sentiment,
               sum(confidence_sum) / sum(sessions) AS mean_confidence,
               (array_agg(root_cause ORDER BY sessions DESC, root_cause))[1]
                   AS most_common_root_cause
        FROM causes
        GROUP BY week, team, region
        ORDER BY week, team, region
        """,
        _rollup_params(filters, teams),
    ).fetchall()


def language_summary(
    conn: psycopg.Connection, filters: dict[str, Any], teams: Sequence[str] | None
) -> list[dict]:
    """Sessions and means per week and output language from the rollups."""
    return conn.execute(
        f"""
        SELECT week, language, sum(sessions)::int AS sessions,
               sum(sentiment_sum) / sum(sessions) AS mean_sentiment,
               sum(confidence_sum) / sum(sessions) AS mean_confidence
        FROM team_language_weekly
        WHERE {_ROLLUP_FILTERS}
          AND (%(language)s::text IS NULL OR language = %(language)s)
        GROUP BY week, language ORDER BY week, language
        """,
        _rollup_params(filters, teams),
    ).fetchall()


def root_cause_summary(
    conn: psycopg.Connection, filters: dict[str, Any], teams: Sequence[str] | None
) -> list[dict]:
    """Sessions and means per week and root cause; from the rollups (the language rollup for a
    language)."""
    return conn.execute(
        f"""
        SELECT week, root_cause, sum(sessions)::int AS sessions,
               sum(sentiment_sum) / sum(sessions) AS mean_sentiment,
               sum(confidence_sum) / sum(sessions) AS mean_confidence
        FROM {_team_weeks(filters)} WHERE {_ROLLUP_FILTERS}
        GROUP BY week, root_cause ORDER BY week, root_cause
        """,
        _rollup_params(filters, teams),
    ).fetchall()


def engineer_summary(
    conn: psycopg.Connection, filters: dict[str, Any], teams: Sequence[str] | None, limit: int
) -> list[dict]:
    """Engineers with sessions in the window: their team (of the latest session), sessions, means
    and most common root cause, the busiest first; from the projection via the team index."""
    return conn.execute(
        """
        WITH rows AS (
            SELECT engineer_code, team, region, root_cause, sentiment_score, confidence_overall,
                   analysed_at
            FROM sessions
            WHERE (%(team)s::text IS NULL OR team = %(team)s)
              AND (%(teams)s::text[] IS NULL OR team = ANY(%(teams)s::text[]))
              AND (%(region)s::text IS NULL OR region = %(region)s)
              AND (%(root_cause)s::text IS NULL OR root_cause = %(root_cause)s)
              AND (%(language)s::text IS NULL OR %(language)s = ANY(languages))
              AND (%(from)s::timestamptz IS NULL OR analysed_at >= %(from)s)
              AND (%(to)s::timestamptz IS NULL OR analysed_at < %(to)s)
        ), causes AS (
            SELECT engineer_code, root_cause,
                   row_number() OVER (PARTITION BY engineer_code
                                      ORDER BY count(*) DESC, root_cause) AS rank
            FROM rows GROUP BY engineer_code, root_cause
        )
        SELECT r.engineer_code,
               (array_agg(r.team ORDER BY r.analysed_at DESC))[1] AS team,
               count(*)::int AS sessions,
               avg(r.sentiment_score) AS mean_sentiment,
               avg(r.confidence_overall) AS mean_confidence,
               max(r.analysed_at) AS last_analysed_at,
               max(c.root_cause) AS most_common_root_cause
        FROM rows r JOIN causes c ON c.engineer_code = r.engineer_code AND c.rank = 1
        GROUP BY r.engineer_code
        ORDER BY sessions DESC, r.engineer_code
        LIMIT %(limit)s
        """,
        {**_rollup_params(filters, teams), "limit": limit},
    ).fetchall()


_ROLLUP_FILTERS = """(%(team)s::text IS NULL OR team = %(team)s)
          AND (%(teams)s::text[] IS NULL OR team = ANY(%(teams)s::text[]))
          AND (%(region)s::text IS NULL OR region = %(region)s)
          AND (%(root_cause)s::text IS NULL OR root_cause = %(root_cause)s)
          AND (%(from)s::timestamptz IS NULL OR week >= date_trunc('week', %(from)s)::date)
          AND (%(to)s::timestamptz IS NULL OR week < %(to)s::date)"""


# team_weekly's rows for the sessions in one output language, from team_language_weekly: a
# session counts once under each language it has, and its languages are distinct (persistence
# drops repeated codes), so one language's rows count each of its sessions exactly once. The
# projection is never read: a language filter costs what the unfiltered summary costs.
_TEAM_WEEKS_IN_LANGUAGE = """(
            SELECT team, region, week, root_cause, sessions, sentiment_sum, confidence_sum
            FROM team_language_weekly WHERE language = %(language)s
        ) AS team_weeks"""


def _team_weeks(filters: dict[str, Any]) -> str:
    """The team_weekly rollup, or with a language filter the same rows of that language."""
    return "team_weekly" if filters.get("language") is None else _TEAM_WEEKS_IN_LANGUAGE


def team_list(teams: Sequence[str] | None) -> list[str] | None:
    """A team scope as a query parameter: None (every team) or the list of teams."""
    return list(teams) if teams is not None else None


def _rollup_params(filters: dict[str, Any], teams: Sequence[str] | None) -> dict[str, Any]:
    return {
        "team": filters.get("team"),
        "region": filters.get("region"),
        "root_cause": filters.get("root_cause"),
        "language": filters.get("language"),
        "from": filters.get("from_"),
        "to": filters.get("to"),
        "teams": team_list(teams),
    }
