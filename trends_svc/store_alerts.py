"""SQL of thresholds and alerts, and the erasure of an engineer from the trends schema."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from trends_svc.store_feed import apply_staged, stage_engineer_removal
from trends_svc.store_summaries import team_list


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
    """Every alert that is open or acknowledged, locked for re-evaluation (in alert_id order, as
    `lock_alerts` locks them: a decision on many alerts and an evaluation never deadlock)."""
    return conn.execute(
        "SELECT * FROM alerts WHERE status <> 'resolved' ORDER BY alert_id FOR UPDATE"
    ).fetchall()


def lock_alerts(
    conn: psycopg.Connection, alert_ids: Sequence[uuid.UUID], teams: Sequence[str] | None
) -> list[dict]:
    """The alerts with these ids, locked until the transaction ends; for a team-scoped caller
    only those of their teams (the others are simply not found)."""
    return conn.execute(
        """
        SELECT * FROM alerts
        WHERE alert_id = ANY(%(ids)s::uuid[])
          AND (%(teams)s::text[] IS NULL OR team = ANY(%(teams)s::text[]))
        ORDER BY alert_id
        FOR UPDATE
        """,
        {"ids": list(alert_ids), "teams": team_list(teams)},
    ).fetchall()


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
    rows = set_alert_statuses(conn, [alert_id], status, actor)
    return rows[0] if rows else None


def set_alert_statuses(
    conn: psycopg.Connection, alert_ids: Sequence[uuid.UUID], status: str, actor: str
) -> list[dict]:
    """Move the alerts with these ids to `status` (acknowledged or resolved) in one statement;
    the changed rows, in no particular order."""
    return conn.execute(
        """
        UPDATE alerts SET status = %(status)s, updated_at = now(),
            resolved_at = CASE WHEN %(status)s = 'resolved' THEN now() ELSE resolved_at END,
            acknowledged_at = CASE WHEN %(status)s = 'acknowledged' THEN now()
                                   ELSE acknowledged_at END,
            acknowledged_by = CASE WHEN %(status)s = 'acknowledged' THEN %(actor)s
                                   ELSE acknowledged_by END
        WHERE alert_id = ANY(%(ids)s::uuid[])
        RETURNING *
        """,
        {"ids": list(alert_ids), "status": status, "actor": actor},
    ).fetchall()


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


def add_histories(
    conn: psycopg.Connection, alert_ids: Sequence[uuid.UUID], status: str, actor: str
) -> None:
    """Keep the same state change of many alerts, in one statement."""
    conn.execute(
        "INSERT INTO alert_history (alert_id, status, actor) "
        "SELECT unnest(%(ids)s::uuid[]), %(status)s, %(actor)s",
        {"ids": list(alert_ids), "status": status, "actor": actor},
    )


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
          AND (%(category)s::text IS NULL OR category = %(category)s)
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
            "category": filters.get("category"),
            "teams": team_list(teams),
            "after_at": after[0] if after else None,
            "after_id": after[1] if after else None,
            "limit": limit,
        },
    ).fetchall()


def delete_engineer(conn: psycopg.Connection, engineer_code: str) -> int:
    """Erase an engineer's projection, rollup shares, alerts and alert notifications (delivered or not:
    their bodies hold the engineer_code, and none may be sent after the erasure); returns
    projected sessions removed. Call it in a transaction."""
    # A running evaluation may have read the sessions and queue a notification about them when
    # it commits: wait for it, so that the deletes below see (and remove) what it wrote.
    lock_evaluation(conn)
    params = {"code": engineer_code}
    # Removed as a page of deletes would remove them: out of the team rollups too.
    removed = stage_engineer_removal(conn, engineer_code)
    apply_staged(conn)
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
