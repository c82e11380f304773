"""SQL of the trends schema: projection, rollups, thresholds, rule queries and alerts."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from shared.domain import ROOT_CAUSES

# --- feed and projection -------------------------------------------------------------------
#
# A page of the change feed is applied in a handful of statements, whatever its size: the page is
# staged in a temporary table; each rollup gets the page's net deltas in one statement (the old
# rows of the page's sessions out, their new rows in); rollup rows left empty are removed by key;
# then the projection is written. A session the page names several times counts by its last
# change, and the old rows are those of the projection before the page.


def lock_feed(conn: psycopg.Connection, *, wait: bool = True) -> dict | None:
    """The feed state (cursor, applied count, head), locked for this transaction: one applier at
    a time. With `wait=False`, None at once when another transaction holds it."""
    try:
        with conn.transaction():  # a savepoint: a busy lock leaves the caller's transaction usable
            return conn.execute(
                "SELECT * FROM feed_state WHERE feed = 'sessions' FOR UPDATE"
                + ("" if wait else " NOWAIT")
            ).fetchone()
    except psycopg.errors.LockNotAvailable:
        return None


def feed_state(conn: psycopg.Connection) -> dict:
    """Where the projection stands, without locking: the cursor, changes applied, the feed's
    pending changes and the age of the oldest of them as of the last page read."""
    return conn.execute(
        """
        SELECT cursor, applied, applied_through, pending, updated_at,
               CASE WHEN pending > 0 THEN greatest(extract(epoch FROM now() - pending_since), 0)
                    ELSE 0 END::float8 AS lag_seconds
        FROM feed_state WHERE feed = 'sessions'
        """
    ).fetchone()


def save_feed(
    conn: psycopg.Connection,
    cursor: str,
    applied: int,
    *,
    applied_through: datetime | None,
    pending: int,
    pending_since: datetime | None,
) -> None:
    """Move the cursor (in the same transaction as the changes it covers) and keep what the feed
    said about the changes after it."""
    conn.execute(
        """
        UPDATE feed_state SET cursor = %(cursor)s, applied = applied + %(applied)s,
            applied_through = coalesce(%(applied_through)s, applied_through),
            pending = %(pending)s, pending_since = %(pending_since)s, updated_at = now()
        WHERE feed = 'sessions'
        """,
        {
            "cursor": cursor,
            "applied": applied,
            "applied_through": applied_through,
            "pending": pending,
            "pending_since": pending_since,
        },
    )


WAKE_CHANNEL = "trends_worker"  # LISTENed to by the active worker


def listen_for_wake_ups(conn: psycopg.Connection) -> None:
    """Have this (autocommit) connection receive wake_worker's notifications."""
    conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(WAKE_CHANNEL)))


def wake_worker(conn: psycopg.Connection) -> None:
    """Ask the active worker to catch up and evaluate now (sent when this transaction commits)."""
    conn.execute("SELECT pg_notify(%(channel)s, 'evaluate')", {"channel": WAKE_CHANNEL})


PROJECTED_FIELDS = (
    "engineer_code",
    "team",
    "region",
    "languages",
    "root_cause",
    "sentiment_score",
    "confidence_overall",
    "analysed_at",
)


def stage_changes(conn: psycopg.Connection, items: list[dict[str, Any]]) -> None:
    """Stage change-feed items (as persistence sends them) for `apply_staged`: their order, the
    session and its projected fields (none for a delete, or a session erased since)."""
    _stage_tables(conn)
    # Only what the projection keeps goes to the server (a quarter of a feed item's JSON).
    items = [
        {
            "operation": item["operation"],
            "session_id": item["session_id"],
            "session": None
            if (session := item.get("session")) is None
            else {name: session[name] for name in PROJECTED_FIELDS},
        }
        for item in items
    ]
    conn.execute(
        """
        INSERT INTO feed_page (position, session_id, engineer_code, team, region, languages,
                               root_cause, sentiment_score, confidence_overall, analysed_at)
        SELECT item.position, (item.change ->> 'session_id')::uuid, s.engineer_code, s.team,
               s.region, s.languages, s.root_cause, s.sentiment_score, s.confidence_overall,
               s.analysed_at
        FROM jsonb_array_elements(%(items)s::jsonb) WITH ORDINALITY AS item(change, position)
        CROSS JOIN LATERAL jsonb_to_record(
            CASE WHEN jsonb_typeof(item.change -> 'session') = 'object'
                      AND item.change ->> 'operation' <> 'delete'
                 THEN item.change -> 'session' END
        ) AS s(
            engineer_code text, team text, region text, languages text[], root_cause text,
            sentiment_score float8, confidence_overall float8, analysed_at timestamptz
        )
        """,
        {"items": Jsonb(items)},
    )


def stage_engineer_removal(conn: psycopg.Connection, engineer_code: str) -> int:
    """Stage the removal of every projected session of an engineer; returns how many."""
    _stage_tables(conn)
    return conn.execute(
        "INSERT INTO feed_page (position, session_id) "
        "SELECT 1, session_id FROM sessions WHERE engineer_code = %(code)s",
        {"code": engineer_code},
    ).rowcount


def _stage_tables(conn: psycopg.Connection) -> None:
    # Created once per connection, emptied by every commit; emptied here too, for a transaction
    # that stages twice. feed_rows holds the page's signed rows (apply_staged).
    conn.execute(
        """
        CREATE TEMPORARY TABLE IF NOT EXISTS feed_page (
            position bigint NOT NULL, session_id uuid NOT NULL, engineer_code text, team text,
            region text, languages text[], root_cause text, sentiment_score float8,
            confidence_overall float8, analysed_at timestamptz
        ) ON COMMIT DELETE ROWS;
        CREATE TEMPORARY TABLE IF NOT EXISTS feed_rows (
            sign integer NOT NULL, engineer_code text NOT NULL, team text NOT NULL,
            region text NOT NULL, languages text[] NOT NULL, root_cause text NOT NULL,
            sentiment_score float8 NOT NULL, confidence_overall float8 NOT NULL,
            week date NOT NULL
        ) ON COMMIT DELETE ROWS;
        DELETE FROM feed_page;
        DELETE FROM feed_rows;
        """
    )


# The staged page's net effect as signed rows: -1 for each of its sessions' current projected
# row, +1 for each session's row after its last change (none when that change removes it).
_SIGNED_ROWS = """
    INSERT INTO pg_temp.feed_rows (sign, engineer_code, team, region, languages, root_cause,
                                   sentiment_score, confidence_overall, week)
    WITH net AS (
        SELECT DISTINCT ON (session_id) *
        FROM pg_temp.feed_page
        ORDER BY session_id, position DESC
    ), signed AS (
        SELECT -1 AS sign, s.engineer_code, s.team, coalesce(s.region, '') AS region,
               s.languages, s.root_cause, s.sentiment_score, s.confidence_overall,
               date_trunc('week', s.analysed_at AT TIME ZONE 'UTC')::date AS week
        FROM sessions s JOIN net USING (session_id)
        UNION ALL
        SELECT 1, engineer_code, team, coalesce(region, ''), languages, root_cause,
               sentiment_score, confidence_overall,
               date_trunc('week', analysed_at AT TIME ZONE 'UTC')::date
        FROM net WHERE engineer_code IS NOT NULL
    )
    SELECT * FROM signed
"""
_DELTAS = """sum(sign), sum(sign * sentiment_score), sum(sign * confidence_overall)"""
_ADD = """
    sessions = w.sessions + EXCLUDED.sessions,
    sentiment_sum = w.sentiment_sum + EXCLUDED.sentiment_sum,
    confidence_sum = w.confidence_sum + EXCLUDED.confidence_sum
"""
_NOT_ZERO = (
    "HAVING sum(sign) <> 0 OR sum(sign * sentiment_score) <> 0 "
    "OR sum(sign * confidence_overall) <> 0"
)


def apply_staged(conn: psycopg.Connection) -> None:
    """Apply the staged changes: each rollup gets the net deltas of all of them in one statement,
    rollup rows left with no session go, then the projection is written. Call it in the
    transaction that staged them."""
    conn.execute(_SIGNED_ROWS)
    conn.execute(
        f"""
        INSERT INTO engineer_weekly AS w (engineer_code, week, root_cause, sessions,
                                          sentiment_sum, confidence_sum)
        SELECT engineer_code, week, root_cause, {_DELTAS}
        FROM pg_temp.feed_rows GROUP BY engineer_code, week, root_cause {_NOT_ZERO}
        ON CONFLICT (engineer_code, week, root_cause) DO UPDATE SET {_ADD}
        """
    )
    conn.execute(
        f"""
        INSERT INTO team_weekly AS w (team, region, week, root_cause, sessions, sentiment_sum,
                                      confidence_sum)
        SELECT team, region, week, root_cause, {_DELTAS}
        FROM pg_temp.feed_rows GROUP BY team, region, week, root_cause {_NOT_ZERO}
        ON CONFLICT (team, region, week, root_cause) DO UPDATE SET {_ADD}
        """
    )
    conn.execute(
        f"""
        INSERT INTO team_language_weekly AS w (team, region, week, language, root_cause,
                                               sessions, sentiment_sum, confidence_sum)
        SELECT team, region, week, language, root_cause, {_DELTAS}
        FROM pg_temp.feed_rows CROSS JOIN LATERAL unnest(languages) AS language
        GROUP BY team, region, week, language, root_cause {_NOT_ZERO}
        ON CONFLICT (team, region, week, language, root_cause) DO UPDATE SET {_ADD}
        """
    )
    # Only the rows that lost sessions can have become empty: looked up by their primary keys.
    conn.execute(
        """
        WITH engineer_rows AS (
            DELETE FROM engineer_weekly w
            USING (
                SELECT engineer_code, week, root_cause FROM pg_temp.feed_rows
                GROUP BY engineer_code, week, root_cause HAVING sum(sign) < 0
            ) k
            WHERE (w.engineer_code, w.week, w.root_cause)
                  = (k.engineer_code, k.week, k.root_cause)
              AND w.sessions = 0
        ), team_rows AS (
            DELETE FROM team_weekly w
            USING (
                SELECT team, region, week, root_cause FROM pg_temp.feed_rows
                GROUP BY team, region, week, root_cause HAVING sum(sign) < 0
            ) k
            WHERE (w.team, w.region, w.week, w.root_cause) = (k.team, k.region, k.week, k.root_cause)
              AND w.sessions = 0
        )
        DELETE FROM team_language_weekly w
        USING (
            SELECT team, region, week, language, root_cause
            FROM pg_temp.feed_rows CROSS JOIN LATERAL unnest(languages) AS language
            GROUP BY team, region, week, language, root_cause HAVING sum(sign) < 0
        ) k
        WHERE (w.team, w.region, w.week, w.language, w.root_cause)
              = (k.team, k.region, k.week, k.language, k.root_cause)
          AND w.sessions = 0
        """
    )
    conn.execute(
        """
        WITH net AS (
            SELECT DISTINCT ON (session_id) *
            FROM pg_temp.feed_page
            ORDER BY session_id, position DESC
        ), written AS (
            INSERT INTO sessions (session_id, engineer_code, team, region, languages, root_cause,
                                  sentiment_score, confidence_overall, analysed_at)
            SELECT session_id, engineer_code, team, region, languages, root_cause,
                   sentiment_score, confidence_overall, analysed_at
            FROM net WHERE engineer_code IS NOT NULL
            ON CONFLICT (session_id) DO UPDATE SET
                engineer_code = EXCLUDED.engineer_code, team = EXCLUDED.team,
                region = EXCLUDED.region, languages = EXCLUDED.languages,
                root_cause = EXCLUDED.root_cause, sentiment_score = EXCLUDED.sentiment_score,
                confidence_overall = EXCLUDED.confidence_overall,
                analysed_at = EXCLUDED.analysed_at
        )
        DELETE FROM sessions s USING net
        WHERE s.session_id = net.session_id AND net.engineer_code IS NULL
        """
    )


# --- thresholds ----------------------------------------------------------------------------


def list_thresholds(conn: psycopg.Connection) -> list[dict]:
    """Every rule's threshold row."""
    return conn.execute("SELECT * FROM thresholds ORDER BY rule").fetchall()


def get_threshold(conn: psycopg.Connection, rule: str) -> dict | None:
    """One rule's threshold row."""
    return conn.execute("SELECT * FROM thresholds WHERE rule = %(rule)s", {"rule": rule}).fetchone()


def update_threshold(
    conn: psycopg.Connection,
    rule: str,
    *,
    params: dict,
    enabled: bool,
    version: int,
    updated_by: str,
) -> dict | None:
    """Change a threshold if it is still at `version`; None when someone changed it meanwhile."""
    return conn.execute(
        """
        UPDATE thresholds
        SET params = %(params)s, enabled = %(enabled)s, version = version + 1,
            updated_at = now(), updated_by = %(updated_by)s
        WHERE rule = %(rule)s AND version = %(version)s
        RETURNING *
        """,
        {
            "rule": rule,
            "params": Jsonb(params),
            "enabled": enabled,
            "version": version,
            "updated_by": updated_by,
        },
    ).fetchone()


# --- rule queries (exact numbers in numeric, windows ending at `now`) ------------------------


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
            "teams": _teams(teams),
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


# --- alerts --------------------------------------------------------------------------------


EVALUATION_LOCK = 0x7C3E_7E4E  # next to the worker's key in pg_advisory_lock's key space


def lock_evaluation(conn: psycopg.Connection) -> None:
    """Wait until no other evaluation is running, then hold that place until this transaction
    ends (the worker's and POST /trends/evaluate would otherwise open the same alert twice)."""
    conn.execute("SELECT pg_advisory_xact_lock(%(key)s)", {"key": EVALUATION_LOCK})


def try_lock_evaluation(conn: psycopg.Connection) -> bool:
    """Hold the evaluation's place until this transaction ends if no other evaluation is running;
    False at once otherwise."""
    return conn.execute(
        "SELECT pg_try_advisory_xact_lock(%(key)s) AS held", {"key": EVALUATION_LOCK}
    ).fetchone()["held"]


def live_alerts(conn: psycopg.Connection) -> list[dict]:
    """Every alert that is open or acknowledged, locked for re-evaluation."""
    return conn.execute("SELECT * FROM alerts WHERE status <> 'resolved' FOR UPDATE").fetchall()


def insert_alert(conn: psycopg.Connection, alert: dict[str, Any]) -> None:
    """Open a new alert."""
    conn.execute(
        """
        INSERT INTO alerts (alert_id, rule, scope, engineer_code, team, category, status,
                            severity, evidence, subject)
        VALUES (%(alert_id)s, %(rule)s, %(scope)s, %(engineer_code)s, %(team)s, %(category)s,
                'open', %(severity)s, %(evidence)s, %(subject)s)
        """,
        {**alert, "evidence": Jsonb(alert["evidence"])},
    )


def update_evidence(
    conn: psycopg.Connection, alert_id: uuid.UUID, evidence: dict, team: str | None
) -> None:
    """Refresh a live alert's evidence after re-evaluation."""
    conn.execute(
        "UPDATE alerts SET evidence = %(evidence)s, team = %(team)s, updated_at = now() "
        "WHERE alert_id = %(id)s",
        {"id": alert_id, "evidence": Jsonb(evidence), "team": team},
    )


def set_alert_status(
    conn: psycopg.Connection, alert_id: uuid.UUID, status: str, actor: str
) -> dict | None:
    """Move an alert to `status` (acknowledged or resolved) and return it."""
    return conn.execute(
        """
        UPDATE alerts SET status = %(status)s, updated_at = now(),
            resolved_at = CASE WHEN %(status)s = 'resolved' THEN now() ELSE resolved_at END,
            acknowledged_at = CASE WHEN %(status)s = 'acknowledged' THEN now()
                                   ELSE acknowledged_at END,
            acknowledged_by = CASE WHEN %(status)s = 'acknowledged' THEN %(actor)s
                                   ELSE acknowledged_by END
        WHERE alert_id = %(id)s
        RETURNING *
        """,
        {"id": alert_id, "status": status, "actor": actor},
    ).fetchone()


def add_history(
    conn: psycopg.Connection,
    alert_id: uuid.UUID,
    status: str,
    actor: str,
    evidence: dict | None = None,
) -> None:
    """Keep one state change of an alert."""
    conn.execute(
        "INSERT INTO alert_history (alert_id, status, actor, evidence) "
        "VALUES (%(id)s, %(status)s, %(actor)s, %(evidence)s)",
        {
            "id": alert_id,
            "status": status,
            "actor": actor,
            "evidence": Jsonb(evidence) if evidence is not None else None,
        },
    )


def get_alert(
    conn: psycopg.Connection, alert_id: uuid.UUID, teams: Sequence[str] | None = None
) -> dict | None:
    """One alert; for a team-scoped caller only if it concerns one of their teams."""
    return conn.execute(
        """
        SELECT * FROM alerts WHERE alert_id = %(id)s
          AND (%(teams)s::text[] IS NULL OR team = ANY(%(teams)s::text[]))
        """,
        {"id": alert_id, "teams": _teams(teams)},
    ).fetchone()


def list_alerts(
    conn: psycopg.Connection,
    filters: dict[str, Any],
    *,
    limit: int | None,
    after: tuple[str, str] | None,
    teams: Sequence[str] | None,
) -> list[dict]:
    """Alerts newest first, filtered, keyset-paginated on (opened_at, alert_id)."""
    return conn.execute(
        """
        SELECT * FROM alerts
        WHERE (%(status)s::text IS NULL OR status = %(status)s)
          AND (%(rule)s::text IS NULL OR rule = %(rule)s)
          AND (%(team)s::text IS NULL OR team = %(team)s)
          AND (%(engineer_code)s::text IS NULL OR engineer_code = %(engineer_code)s)
          AND (%(teams)s::text[] IS NULL OR team = ANY(%(teams)s::text[]))
          AND (%(after_at)s::timestamptz IS NULL
               OR (opened_at, alert_id) < (%(after_at)s::timestamptz, %(after_id)s::uuid))
        ORDER BY opened_at DESC, alert_id DESC
        LIMIT %(limit)s
        """,
        {
            "status": filters.get("status"),
            "rule": filters.get("rule"),
            "team": filters.get("team"),
            "engineer_code": filters.get("engineer_code"),
            "teams": _teams(teams),
            "after_at": after[0] if after else None,
            "after_id": after[1] if after else None,
            "limit": limit,
        },
    ).fetchall()


def delete_engineer(conn: psycopg.Connection, engineer_code: str) -> int:
    """Erase an engineer's projection, rollups, alerts and alert notifications (delivered or not:
    their bodies hold the engineer_code, and none may be sent after the erasure); returns
    projected sessions removed. Call it in a transaction."""
    # A running evaluation may have read the sessions and queue a notification about them when
    # it commits: wait for it, so that the deletes below see (and remove) what it wrote.
    lock_evaluation(conn)
    params = {"code": engineer_code}
    # Removed as a page of deletes would remove them: out of the team rollups too.
    removed = stage_engineer_removal(conn, engineer_code)
    apply_staged(conn)
    conn.execute("DELETE FROM engineer_weekly WHERE engineer_code = %(code)s", params)
    # Waits for a delivery in flight (its rows are locked) rather than leaving it to be retried.
    conn.execute(
        """
        DELETE FROM webhook_outbox
        WHERE alert_id IN (SELECT alert_id FROM alerts WHERE engineer_code = %(code)s)
           OR payload -> 'alert' ->> 'engineer_code' = %(code)s
        """,
        params,
    )
    conn.execute("DELETE FROM alerts WHERE engineer_code = %(code)s", params)
    return removed


# --- history and summaries -----------------------------------------------------------------


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
            "teams": _teams(teams),
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
            "teams": _teams(teams),
        },
    ).fetchall()


def engineer_timeline(
    conn: psycopg.Connection,
    engineer_code: str,
    since: datetime,
    teams: Sequence[str] | None = None,
) -> list[dict]:
    """Weekly sessions and means of an engineer from the rollup; with `teams`, of those teams'
    sessions only, from the projection (the rollup has no team)."""
    return conn.execute(
        f"""
        SELECT week, sum(sessions)::int AS sessions,
               sum(sentiment_sum) / sum(sessions) AS mean_sentiment,
               sum(confidence_sum) / sum(sessions) AS mean_confidence
        FROM {"engineer_weekly" if teams is None else _ENGINEER_WEEKS_IN_TEAMS}
        WHERE engineer_code = %(code)s AND week >= date_trunc('week', %(since)s)::date
        GROUP BY week ORDER BY week
        """,
        {"code": engineer_code, "since": since, "teams": _teams(teams)},
    ).fetchall()


# engineer_weekly's rows computed from the projection, for the sessions of some teams.
_ENGINEER_WEEKS_IN_TEAMS = """(
            SELECT engineer_code, date_trunc('week', analysed_at AT TIME ZONE 'UTC')::date AS week,
                   1 AS sessions, sentiment_score AS sentiment_sum,
                   confidence_overall AS confidence_sum
            FROM sessions WHERE team = ANY(%(teams)s::text[])
        ) AS engineer_weeks"""


def weekly_summary(
    conn: psycopg.Connection, filters: dict[str, Any], teams: Sequence[str] | None
) -> list[dict]:
    """The spec's weekly trend summary: week, sessions, mean sentiment and confidence, most
    common root cause, per team and region; from the rollup, or the projection for a language."""
    return conn.execute(
        f"""
        WITH rows AS (
            SELECT * FROM {_team_weeks(filters)} WHERE {_ROLLUP_FILTERS}
        ), causes AS (
            SELECT week, team, region, root_cause, sum(sessions) AS n,
                   row_number() OVER (PARTITION BY week, team, region
                                      ORDER BY sum(sessions) DESC, root_cause) AS rank
            FROM rows GROUP BY week, team, region, root_cause
        )
        SELECT r.week, r.team, NULLIF(r.region, '') AS region, sum(r.sessions)::int AS sessions,
               sum(r.sentiment_sum) / sum(r.sessions) AS mean_sentiment,
               sum(r.confidence_sum) / sum(r.sessions) AS mean_confidence,
               max(c.root_cause) AS most_common_root_cause
        FROM rows r
        JOIN causes c ON c.week = r.week AND c.team = r.team AND c.region = r.region AND c.rank = 1
        GROUP BY r.week, r.team, r.region
        ORDER BY r.week, r.team, r.region
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
    """Sessions and means per week and root cause; from the rollup, or the projection for a
    language."""
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


# team_weekly's rows computed from the projection, for the sessions in one output language (the
# rollup has no language; team_language_weekly counts a session once per language it has).
_TEAM_WEEKS_IN_LANGUAGE = """(
            SELECT team, coalesce(region, '') AS region,
                   date_trunc('week', analysed_at AT TIME ZONE 'UTC')::date AS week, root_cause,
                   1 AS sessions, sentiment_score AS sentiment_sum,
                   confidence_overall AS confidence_sum
            FROM sessions WHERE %(language)s = ANY(languages)
        ) AS team_weeks"""


def _team_weeks(filters: dict[str, Any]) -> str:
    """The team_weekly rollup, or with a language filter the same rows from the projection."""
    return "team_weekly" if filters.get("language") is None else _TEAM_WEEKS_IN_LANGUAGE


def _teams(teams: Sequence[str] | None) -> list[str] | None:
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
        "teams": _teams(teams),
    }


# --- webhook outbox ------------------------------------------------------------------------


def enqueue_notification(
    conn: psycopg.Connection, alert_id: uuid.UUID, event: str, payload: dict
) -> None:
    """Queue a notification in the caller's transaction (it exists only if the change does)."""
    conn.execute(
        "INSERT INTO webhook_outbox (alert_id, event, payload) "
        "VALUES (%(alert_id)s, %(event)s, %(payload)s)",
        {"alert_id": alert_id, "event": event, "payload": Jsonb(payload)},
    )


def due_notifications(conn: psycopg.Connection, limit: int, max_attempts: int) -> list[dict]:
    """Undelivered notifications whose time has come, locked (other deliverers skip them)."""
    return conn.execute(
        """
        SELECT * FROM webhook_outbox
        WHERE delivered_at IS NULL AND next_attempt_at <= now() AND attempts < %(max)s
        ORDER BY delivery_id
        LIMIT %(limit)s
        FOR UPDATE SKIP LOCKED
        """,
        {"limit": limit, "max": max_attempts},
    ).fetchall()


def mark_delivered(conn: psycopg.Connection, delivery_id: int) -> None:
    conn.execute(
        "UPDATE webhook_outbox SET delivered_at = now(), attempts = attempts + 1, "
        "last_error = NULL WHERE delivery_id = %(id)s",
        {"id": delivery_id},
    )


def mark_failed(
    conn: psycopg.Connection, delivery_id: int, error: str, delay_seconds: float
) -> None:
    conn.execute(
        "UPDATE webhook_outbox SET attempts = attempts + 1, last_error = %(error)s, "
        "next_attempt_at = now() + make_interval(secs => %(delay)s) WHERE delivery_id = %(id)s",
        {"id": delivery_id, "error": error, "delay": delay_seconds},
    )


def outbox_depth(conn: psycopg.Connection) -> int:
    """Notifications not delivered yet."""
    return conn.execute(
        "SELECT count(*) AS n FROM webhook_outbox WHERE delivered_at IS NULL"
    ).fetchone()["n"]


def operational_counts(conn: psycopg.Connection, max_attempts: int) -> dict[str, dict[str, int]]:
    """Alerts by state and undelivered notifications (pending, or given up after `max_attempts`),
    for the metrics."""
    states = dict.fromkeys(("open", "acknowledged", "resolved"), 0)
    for row in conn.execute("SELECT status, count(*)::int AS n FROM alerts GROUP BY status"):
        states[row["status"]] = row["n"]
    outbox = conn.execute(
        """
        SELECT count(*) FILTER (WHERE attempts < %(max)s)::int AS pending,
               count(*) FILTER (WHERE attempts >= %(max)s)::int AS given_up
        FROM webhook_outbox WHERE delivered_at IS NULL
        """,
        {"max": max_attempts},
    ).fetchone()
    return {"alerts": states, "outbox": dict(outbox)}
