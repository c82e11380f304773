"""Compare History: an engineer's current period against the previous one, with the team's
baseline, recurring categories, streaks, a weekly timeline, open alerts and a summary text. It
first brings the projection up to the change feed's end (bounded), so it counts the caller's own
writes."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import requests

from shared.http import ServiceClient
from trends_svc import alerts, projection, store_alerts, store_feed, store_rules, store_summaries

# Compare History waits at most this long for the projection to reach the feed's end (issue #22).
READ_YOUR_WRITES_SECONDS = 2.0


def catch_up_with_writes(
    conn: psycopg.Connection,
    feed: ServiceClient,
    engineer_code: str | None = None,
    wait: float = READ_YOUR_WRITES_SECONDS,
    *,
    wait_for_held_back: bool = True,
) -> bool:
    """Bring the projection past every change committed before this call that concerns
    `engineer_code` (None: any change), for at most `wait` seconds: applying pages itself, or
    waiting while the worker or another caller does. Changes of other engineers pending at the
    feed's end need not wait (the common case under steady writes, where the history asked for
    is already complete). True when done; False when the bound passed first or the feed is
    unreachable (the answer is then as of the projection). The worker is woken to evaluate what
    was applied here. Without `wait_for_held_back`, changes the feed holds back behind an older
    running transaction are not waited for (an erasure: its caller's own transaction, the
    gateway's erasure request, is open while it asks, and holds back the deletions it caused)."""
    deadline = time.monotonic() + wait
    applied = 0
    horizon = None
    try:
        cursor = store_feed.feed_state(conn)["cursor"]
        while True:
            page = projection.read_page(feed, cursor)  # what follows the projection, unlocked
            head = page.get("head") or {}
            # Every write committed before this call belongs to a transaction below the first
            # page's `committed_below`; the feed holds back changes of transactions that
            # committed while an older one still runs (an import's chunk, a worker's page), so
            # the end of the feed counts only once none below that horizon is held back.
            if horizon is None:
                horizon = int(head.get("committed_below") or 0)
            held_back = head.get("held_back_from")
            complete = not wait_for_held_back or held_back is None or int(held_back) >= horizon
            at_end = len(page["items"]) < projection.PAGE_SIZE
            concerned = any(_concerns(item, engineer_code) for item in page["items"])
            if at_end and complete and not concerned:
                return True
            target = _position(page["next_cursor"])
            while _position(cursor := store_feed.feed_state(conn)["cursor"]) < target:
                if time.monotonic() >= deadline:
                    return False
                progress = projection.catch_up(conn, feed, max_pages=1, lock_wait=0)
                applied += progress.applied
                if progress.busy:  # the worker or another caller is applying: it moves the cursor
                    time.sleep(projection.LOCK_POLL_SECONDS)
            if at_end and complete:
                return True
            if at_end:  # held back: read again once the older transactions may have ended
                if time.monotonic() >= deadline:
                    return False
                time.sleep(projection.LOCK_POLL_SECONDS)
    except requests.RequestException:
        return False
    finally:
        if applied:
            with conn.transaction():
                store_feed.wake_worker(conn)  # it evaluates the rules on what was applied here


def _concerns(item: dict[str, Any], engineer_code: str | None) -> bool:
    """True when the change may touch `engineer_code`'s history (a deletion names no engineer)."""
    session = item.get("session")
    return engineer_code is None or session is None or session["engineer_code"] == engineer_code


def _position(cursor: str) -> tuple[int, ...]:
    """A feed cursor (`<txid>.<change_id>.<position>`, `""` at the beginning) as a comparable
    tuple; the two-part cursors of earlier releases stand for the end of their log row."""
    parts = tuple(int(part) for part in cursor.split(".")) if cursor else (0, 0, 0)
    return parts if len(parts) == 3 else (*parts, 2**63 - 1)


def _round(value: Any) -> float | None:
    return None if value is None else round(float(value), 4)


def period(conn: psycopg.Connection, start: datetime, end: datetime, **subject: Any) -> dict:
    summary = store_summaries.period_summary(conn, start=start, end=end, **subject)
    return {
        "from": start,
        "to": end,
        "sessions": summary["sessions"],
        "mean_sentiment": _round(summary["mean_sentiment"]),
        "mean_confidence": _round(summary["mean_confidence"]),
        "root_causes": summary["root_causes"],
    }


def _delta(current: float | None, previous: float | None) -> float | None:
    return None if current is None or previous is None else round(current - previous, 4)


def streaks(sequence: list[dict]) -> list[dict]:
    """Per category, the run of rising (improving) or falling (declining) sentiment that ends
    with the latest session, when it spans at least two steps."""
    by_category: dict[str, list[float]] = {}
    for row in sequence:
        by_category.setdefault(row["root_cause"], []).append(row["sentiment_score"])
    found = []
    for category, values in sorted(by_category.items()):
        for direction, better in (
            ("improving", lambda a, b: b > a),
            ("declining", lambda a, b: b < a),
        ):
            length = 0
            for earlier, later in zip(reversed(values[:-1]), reversed(values[1:]), strict=False):
                if not better(earlier, later):
                    break
                length += 1
            if length >= 2:
                found.append({"category": category, "direction": direction, "length": length})
    return found


def compare(
    conn: psycopg.Connection,
    engineer_code: str,
    period_days: int,
    now: datetime | None = None,
    teams: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The Compare History answer for one engineer. With `teams` (a team-scoped caller) every
    part of it counts the sessions and alerts of those teams only, and the team baseline is the
    team of the engineer's latest session among them; `team` is then None when the engineer has
    no session in them."""
    now = now or datetime.now(UTC)
    span = timedelta(days=period_days)
    current = period(conn, now - span, now, engineer_code=engineer_code, teams=teams)
    previous = period(conn, now - 2 * span, now - span, engineer_code=engineer_code, teams=teams)
    sequence = store_summaries.engineer_sequence(conn, engineer_code, now, teams=teams)
    team = sequence[-1]["team"] if sequence else None
    thresholds = alerts.thresholds_by_rule(conn)["recurring_issue"]["params"]
    recurring = [
        {
            "category": row["category"],
            "sessions": row["sessions"],
            "window_days": thresholds["window_days"],
        }
        for row in store_rules.recurring_issues(
            conn, now, **thresholds, engineer_code=engineer_code, teams=teams
        )
    ]
    live = [
        alerts.public(alert)
        for alert in store_alerts.list_alerts(
            conn, {"engineer_code": engineer_code}, limit=None, after=None, teams=teams
        )
        if alert["status"] != "resolved"
    ]
    timeline = [
        {
            "week": row["week"],
            "sessions": row["sessions"],
            "mean_sentiment": _round(row["mean_sentiment"]),
            "mean_confidence": _round(row["mean_confidence"]),
        }
        for row in store_summaries.engineer_timeline(
            conn, engineer_code, now - max(2 * span, timedelta(days=84)), teams=teams
        )
    ]
    answer = {
        "engineer_code": engineer_code,
        "period_days": period_days,
        "current": current,
        "previous": previous,
        "delta": {
            "sessions": current["sessions"] - previous["sessions"],
            "mean_sentiment": _delta(current["mean_sentiment"], previous["mean_sentiment"]),
            "mean_confidence": _delta(current["mean_confidence"], previous["mean_confidence"]),
        },
        "recurring": sorted(recurring, key=lambda item: (-item["sessions"], item["category"])),
        "streaks": streaks(sequence),
        "team": team,
        "team_baseline": period(conn, now - span, now, team=team) if team else None,
        "timeline": timeline,
        "alerts": live,
    }
    answer["text"] = summary_text(answer)
    return answer


def _signed(value: float | None) -> str:
    return "" if value is None else f" ({value:+.2f})"


def _label(category: str) -> str:
    return category.replace("_", " ")


def summary_text(answer: dict[str, Any]) -> str:
    """A short neutral English summary the agent can show the leader as it is."""
    days, current, previous, delta = (
        answer["period_days"],
        answer["current"],
        answer["previous"],
        answer["delta"],
    )
    parts = [
        f"{current['sessions']} analyses in the last {days} days ({previous['sessions']} before)"
    ]
    if current["mean_sentiment"] is not None:
        parts.append(
            f"mean sentiment {current['mean_sentiment']:.2f}{_signed(delta['mean_sentiment'])}"
        )
    if current["mean_confidence"] is not None:
        parts.append(
            f"mean confidence {current['mean_confidence']:.2f}{_signed(delta['mean_confidence'])}"
        )
    text = "; ".join(parts) + "."
    if answer["recurring"]:
        text += (
            " Recurring: "
            + ", ".join(
                f"{_label(item['category'])} ({item['sessions']}x in {item['window_days']} days)"
                for item in answer["recurring"]
            )
            + "."
        )
    for streak in answer["streaks"]:
        text += (
            f" {_label(streak['category']).capitalize()} sentiment {streak['direction']} for "
            f"{streak['length']} analyses in a row."
        )
    baseline = answer["team_baseline"]
    if baseline and baseline["mean_sentiment"] is not None:
        text += f" Team mean sentiment in the same period: {baseline['mean_sentiment']:.2f}."
    if answer["alerts"]:
        text += f" Open alerts: {len(answer['alerts'])}."
    return text
