"""SQL of the change feed's projection: the feed's state, the worker's wake-up, staging a page
and applying it set-based to the projection and its rollups."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

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
