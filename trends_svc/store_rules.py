"""SQL of the alert rules' queries (exact numbers in numeric, windows ending at `now`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import psycopg

from trends_svc.store_summaries import team_list


def recurring_issues(
    conn: psycopg.Connection,
    now: datetime,
    *,
    min_count: int,
    window_days: int,
    engineer_code: str | None = None,
    teams: Sequence[str] | None = None,
) -> list[dict]:
    """Engineer × category with at least `min_count` sessions in the last `window_days` (one
    engineer's only, when `engineer_code` is given; counting the sessions of `teams` only, when
    given)."""
    return conn.execute(
        """
        SELECT engineer_code, root_cause AS category, count(*) AS sessions,
               min(analysed_at) AS first_at, max(analysed_at) AS last_at,
               (array_agg(team ORDER BY analysed_at DESC))[1] AS team
        FROM sessions
        WHERE analysed_at > %(now)s - make_interval(days => %(window_days)s)
          AND analysed_at <= %(now)s
          AND (%(engineer_code)s::text IS NULL OR engineer_code = %(engineer_code)s)
          AND (%(teams)s::text[] IS NULL OR team = ANY(%(teams)s::text[]))
        GROUP BY engineer_code, root_cause
        HAVING count(*) >= %(min_count)s
        """,
        {
            "now": now,
            "window_days": window_days,
            "min_count": min_count,
            "engineer_code": engineer_code,
            "teams": team_list(teams),
        },
    ).fetchall()


def confidence_declines(
    conn: psycopg.Connection,
    now: datetime,
    *,
    max_drop: float,
    min_samples: int,
    window_days: int = 30,
) -> list[dict]:
    """Engineers whose mean overall confidence over the last 30 days fell by more than
    `max_drop` (relative) against the 30 days before, each window holding `min_samples`."""
    return conn.execute(
        """
        WITH windows AS (
            SELECT engineer_code,
                   (array_agg(team ORDER BY analysed_at DESC))[1] AS team,
                   count(*) FILTER (WHERE analysed_at > %(now)s - make_interval(days => %(w)s))
                       AS current_sessions,
                   avg(confidence_overall::numeric)
                       FILTER (WHERE analysed_at > %(now)s - make_interval(days => %(w)s))
                       AS current_mean,
                   count(*) FILTER (WHERE analysed_at <= %(now)s - make_interval(days => %(w)s))
                       AS previous_sessions,
                   avg(confidence_overall::numeric)
                       FILTER (WHERE analysed_at <= %(now)s - make_interval(days => %(w)s))
                       AS previous_mean
            FROM sessions
            WHERE analysed_at > %(now)s - make_interval(days => 2 * %(w)s)
              AND analysed_at <= %(now)s
            GROUP BY engineer_code
        )
        SELECT *, (previous_mean - current_mean) / previous_mean AS drop
        FROM windows
        WHERE current_sessions >= %(min_samples)s AND previous_sessions >= %(min_samples)s
          AND previous_mean > 0
          AND (previous_mean - current_mean) / previous_mean > %(max_drop)s::numeric
        """,
        {"now": now, "w": window_days, "min_samples": min_samples, "max_drop": str(max_drop)},
    ).fetchall()


def latest_sequences(conn: psycopg.Connection, now: datetime, length: int) -> list[dict]:
    """For each engineer × category, the sentiment of its latest `length` sessions (oldest
    first), where it has that many."""
    return conn.execute(
        """
        WITH ranked AS (
            SELECT engineer_code, root_cause, team, sentiment_score, analysed_at,
                   row_number() OVER (PARTITION BY engineer_code, root_cause
                                      ORDER BY analysed_at DESC, session_id DESC) AS position
            FROM sessions
            WHERE analysed_at <= %(now)s
        )
        SELECT engineer_code, root_cause AS category,
               array_agg(sentiment_score ORDER BY position DESC) AS sentiments,
               array_agg(analysed_at ORDER BY position DESC) AS times,
               (array_agg(team ORDER BY position))[1] AS team
        FROM ranked
        WHERE position <= %(length)s
        GROUP BY engineer_code, root_cause
        HAVING count(*) = %(length)s
        """,
        {"now": now, "length": length},
    ).fetchall()


def frequent_team_issues(
    conn: psycopg.Connection, now: datetime, *, window_days: int, min_count: int, min_share: float
) -> list[dict]:
    """Team × category with at least `min_count` sessions and `min_share` of the team's
    sessions in the last `window_days`."""
    return conn.execute(
        """
        WITH counts AS (
            SELECT team, root_cause, count(*) AS sessions
            FROM sessions
            WHERE analysed_at > %(now)s - make_interval(days => %(window_days)s)
              AND analysed_at <= %(now)s
            GROUP BY team, root_cause
        ), totals AS (
            SELECT team, sum(sessions) AS total FROM counts GROUP BY team
        )
        SELECT c.team, c.root_cause AS category, c.sessions, t.total,
               c.sessions::numeric / t.total AS share
        FROM counts c JOIN totals t USING (team)
        WHERE c.sessions >= %(min_count)s
          AND c.sessions::numeric / t.total >= %(min_share)s::numeric
        """,
        {
            "now": now,
            "window_days": window_days,
            "min_count": min_count,
            "min_share": str(min_share),
        },
    ).fetchall()
