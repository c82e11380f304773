"""SQL of scorecards, scored reviews, the reviewer directory and the quality rollup."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

SCORECARD_COLUMNS = (
    "scorecard_id, family_id, version, name, criteria, is_default, is_latest, created_at"
)


def insert_scorecard(
    conn: psycopg.Connection,
    *,
    family_id: uuid.UUID,
    version: int,
    name: str,
    criteria: list[dict],
    is_default: bool,
    created_by: str,
) -> dict:
    """Add a scorecard version as the latest of its family (and the default when asked); the
    previous latest version, and the previous default, give up their marks first."""
    conn.execute(
        "UPDATE scorecards SET is_latest = false WHERE family_id = %(family)s AND is_latest",
        {"family": family_id},
    )
    if is_default:
        conn.execute("UPDATE scorecards SET is_default = false WHERE is_default")
    return conn.execute(
        f"""
        INSERT INTO scorecards (scorecard_id, family_id, version, name, criteria, is_default,
                                created_by)
        VALUES (%(id)s, %(family)s, %(version)s, %(name)s, %(criteria)s, %(default)s, %(by)s)
        RETURNING {SCORECARD_COLUMNS}
        """,
        {
            "id": uuid.uuid4(),
            "family": family_id,
            "version": version,
            "name": name,
            "criteria": Jsonb(criteria),
            "default": is_default,
            "by": created_by,
        },
    ).fetchone()


def get_scorecard(conn: psycopg.Connection, scorecard_id: uuid.UUID, *, lock: bool = False):
    """One scorecard version, or None."""
    return conn.execute(
        f"SELECT {SCORECARD_COLUMNS} FROM scorecards WHERE scorecard_id = %(id)s"
        + (" FOR UPDATE" if lock else ""),
        {"id": scorecard_id},
    ).fetchone()


def default_scorecard(conn: psycopg.Connection):
    """The default scorecard version, or None when there is none."""
    return conn.execute(f"SELECT {SCORECARD_COLUMNS} FROM scorecards WHERE is_default").fetchone()


def list_scorecards(conn: psycopg.Connection, *, all_versions: bool) -> list[dict]:
    """The latest version of every scorecard (or every version), by name and version."""
    return conn.execute(
        f"SELECT {SCORECARD_COLUMNS} FROM scorecards"
        + ("" if all_versions else " WHERE is_latest")
        + " ORDER BY name, family_id, version"
    ).fetchall()


def note_reviewer(conn: psycopg.Connection, reviewer_id: str, display_name: str) -> None:
    """Record the reviewer's display name (a new reviewer is active); writes only on a change
    or when the last sighting is an hour old, so every request does not write."""
    conn.execute(
        """
        INSERT INTO reviewers AS r (reviewer_id, display_name) VALUES (%(id)s, %(name)s)
        ON CONFLICT (reviewer_id) DO UPDATE SET display_name = EXCLUDED.display_name,
                                               seen_at = now()
        WHERE r.display_name <> EXCLUDED.display_name OR r.seen_at < now() - interval '1 hour'
        """,
        {"id": reviewer_id, "name": display_name},
    )


def list_reviewers(conn: psycopg.Connection, *, active_only: bool = False) -> list[dict]:
    """The reviewer directory, by display name."""
    return conn.execute(
        "SELECT reviewer_id, display_name, active, seen_at FROM reviewers"
        + (" WHERE active" if active_only else "")
        + " ORDER BY display_name, reviewer_id"
    ).fetchall()


def set_reviewer_active(conn: psycopg.Connection, reviewer_id: str, active: bool):
    """Take a reviewer into round-robin assignment or out of it; None when unknown."""
    return conn.execute(
        "UPDATE reviewers SET active = %(active)s WHERE reviewer_id = %(id)s "
        "RETURNING reviewer_id, display_name, active, seen_at",
        {"id": reviewer_id, "active": active},
    ).fetchone()


def session_agent_version(conn: psycopg.Connection, session_id: uuid.UUID) -> str | None:
    """The agent version of a session's validation log ('' when it names none), None when the
    session has no log."""
    row = conn.execute(
        "SELECT count(*) AS events, coalesce(max(agent_version), '') AS version "
        "FROM validation_events WHERE session_id = %(s)s",
        {"s": session_id},
    ).fetchone()
    return row["version"] if row["events"] else None


def lock_scored_review(conn: psycopg.Connection, session_id: uuid.UUID, reviewer_id: str):
    """The reviewer's earlier scored review of this session, locked until the transaction ends."""
    return conn.execute(
        "SELECT session_id, reviewer_id, scorecard_id, agent_version, ratings, comments, "
        "criterion_scores, quality_score, scored_at FROM scored_reviews "
        "WHERE session_id = %(s)s AND reviewer_id = %(r)s FOR UPDATE",
        {"s": session_id, "r": reviewer_id},
    ).fetchone()


def upsert_scored_review(conn: psycopg.Connection, row: dict[str, Any]) -> dict:
    """Save a reviewer's ratings of a session (replacing their earlier ones)."""
    return conn.execute(
        """
        INSERT INTO scored_reviews (session_id, reviewer_id, scorecard_id, agent_version, ratings,
                                    comments, criterion_scores, quality_score, scored_at)
        VALUES (%(session_id)s, %(reviewer_id)s, %(scorecard_id)s, %(agent_version)s,
                %(ratings)s, %(comments)s, %(criterion_scores)s, %(quality_score)s,
                coalesce(%(scored_at)s, now()))
        ON CONFLICT (session_id, reviewer_id) DO UPDATE SET
            scorecard_id = EXCLUDED.scorecard_id, agent_version = EXCLUDED.agent_version,
            ratings = EXCLUDED.ratings, comments = EXCLUDED.comments,
            criterion_scores = EXCLUDED.criterion_scores,
            quality_score = EXCLUDED.quality_score, scored_at = EXCLUDED.scored_at
        RETURNING *
        """,
        {
            **row,
            "scored_at": row.get("scored_at"),
            "ratings": Jsonb(row["ratings"]),
            "comments": Jsonb(row["comments"]),
            "criterion_scores": Jsonb(row["criterion_scores"]),
        },
    ).fetchone()


def add_to_rollup(conn: psycopg.Connection, review: dict, sign: int) -> None:
    """Add a scored review to the daily rollups (sign 1), or take it out (sign -1): its quality
    score under criterion '' and each rated criterion under its key, per reviewer and not."""
    scores = {"": review["quality_score"], **review["criterion_scores"]}
    rows = [
        {
            "at": review["scored_at"],
            "version": review["agent_version"],
            "reviewer": review["reviewer_id"],
            "criterion": criterion,
            "sign": sign,
            "score": float(score),
        }
        for criterion, score in sorted(scores.items())  # one lock order: no deadlock
    ]
    with conn.cursor() as cursor:
        cursor.executemany(
            """
            INSERT INTO quality_rollup AS q (day, agent_version, reviewer_id, criterion, reviews,
                                             score_sum, score_sumsq)
            VALUES ((%(at)s::timestamptz AT TIME ZONE 'UTC')::date, %(version)s, %(reviewer)s,
                    %(criterion)s, %(sign)s, %(sign)s * %(score)s, %(sign)s * %(score)s ^ 2)
            ON CONFLICT (day, agent_version, reviewer_id, criterion) DO UPDATE SET
                reviews = q.reviews + EXCLUDED.reviews,
                score_sum = q.score_sum + EXCLUDED.score_sum,
                score_sumsq = q.score_sumsq + EXCLUDED.score_sumsq
            """,
            rows,
        )
        cursor.executemany(
            """
            INSERT INTO quality_version_rollup AS q (day, agent_version, criterion, reviews,
                                                     score_sum, score_sumsq)
            VALUES ((%(at)s::timestamptz AT TIME ZONE 'UTC')::date, %(version)s, %(criterion)s,
                    %(sign)s, %(sign)s * %(score)s, %(sign)s * %(score)s ^ 2)
            ON CONFLICT (day, agent_version, criterion) DO UPDATE SET
                reviews = q.reviews + EXCLUDED.reviews,
                score_sum = q.score_sum + EXCLUDED.score_sum,
                score_sumsq = q.score_sumsq + EXCLUDED.score_sumsq
            """,
            rows,
        )


def reviewer_scores(conn: psycopg.Connection, session_id: uuid.UUID, reviewer_id: str):
    """A reviewer's scored review of a session with its scorecard's name, or None."""
    return conn.execute(
        "SELECT s.scorecard_id, c.name AS scorecard_name, c.version AS scorecard_version, "
        "s.ratings, s.comments, s.quality_score, s.scored_at FROM scored_reviews s "
        "JOIN scorecards c USING (scorecard_id) "
        "WHERE s.session_id = %(s)s AND s.reviewer_id = %(r)s",
        {"s": session_id, "r": reviewer_id},
    ).fetchone()


GROUP_KEYS = {
    "agent_version": "agent_version",
    "week": "date_trunc('week', day)::date",
    "reviewer": "reviewer_id",
    "criterion": "''",
}


def quality_sums(
    conn: psycopg.Connection,
    group_by: str,
    *,
    full_days: tuple[date, date],
    edges: Sequence[tuple[datetime, datetime]],
) -> list[dict]:
    """Per group and criterion ('' = the review's quality score): reviews, sum and sum of squares.
    Whole days in [full_days) come from a rollup (the one without reviewers unless grouped by
    reviewer); the hours in `edges` (parts of a day at the ends of the period) from the reviews
    themselves, so any period is answered exactly."""
    key = GROUP_KEYS[group_by]
    rollup = (
        "SELECT day, agent_version, reviewer_id, criterion, reviews, score_sum, score_sumsq "
        "FROM quality_rollup"
        if group_by == "reviewer"
        else "SELECT day, agent_version, '' AS reviewer_id, criterion, reviews, score_sum, "
        "score_sumsq FROM quality_version_rollup"
    )
    edge_filter = " OR ".join(
        f"(scored_at >= %(edge_from_{i})s AND scored_at < %(edge_to_{i})s)"
        for i in range(len(edges))
    )
    raw = ""
    if edges:
        raw = f"""
            UNION ALL
            SELECT (scored_at AT TIME ZONE 'UTC')::date AS day, agent_version, reviewer_id,
                   c.criterion, 1::bigint, c.score, c.score * c.score
            FROM scored_reviews r
            CROSS JOIN LATERAL (
                SELECT '' AS criterion, r.quality_score AS score
                UNION ALL
                SELECT key, value::text::float8 FROM jsonb_each(r.criterion_scores)
            ) c
            WHERE {edge_filter}
        """
    params: dict[str, Any] = {"day_from": full_days[0], "day_to": full_days[1]}
    for i, (start, end) in enumerate(edges):
        params[f"edge_from_{i}"], params[f"edge_to_{i}"] = start, end
    return conn.execute(
        f"""
        WITH parts (day, agent_version, reviewer_id, criterion, reviews, score_sum, score_sumsq)
        AS (
            {rollup} WHERE day >= %(day_from)s AND day < %(day_to)s
            {raw}
        )
        SELECT {key} AS grp, criterion, sum(reviews)::bigint AS reviews,
               sum(score_sum) AS score_sum, sum(score_sumsq) AS score_sumsq
        FROM parts GROUP BY 1, 2 HAVING sum(reviews) > 0
        """,
        params,
    ).fetchall()


def display_names(conn: psycopg.Connection, reviewer_ids: Sequence[str]) -> dict[str, str]:
    """Reviewer id -> display name for the ids known to the directory."""
    rows = conn.execute(
        "SELECT reviewer_id, display_name FROM reviewers WHERE reviewer_id = ANY(%(ids)s)",
        {"ids": list(reviewer_ids)},
    ).fetchall()
    return {row["reviewer_id"]: row["display_name"] for row in rows}
