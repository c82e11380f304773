"""Sampling rules that put sessions into the review queue, and round-robin assignment of the
sampled sessions to the active reviewers (nobody is assigned a session twice)."""

from __future__ import annotations

import math
import random
import uuid
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from qa_svc import assignment_store, quality_store
from shared.errors import Conflict, NotFound

ALWAYS = (
    ("has_errors", "always_errors", "errors"),
    ("restart_offered", "always_restart", "restart_offered"),
    ("low_confidence", "always_low_confidence", "low_confidence"),
)
ASSIGNED_BEFORE = "This reviewer was assigned this session before."


def draw(
    sessions: Sequence[Mapping[str, Any]], rules: Mapping[str, Any], rng: random.Random
) -> list[dict[str, Any]]:
    """The decision on each session: sampled always when a rule says so (errors, restart
    offered, low confidence), else drawn at random: `percent` of each agent version's sessions,
    the fraction left over by the rounding drawn with its probability, so every stratum's
    expected share is exactly `percent`."""
    decisions, strata = [], defaultdict(list)
    for session in sessions:
        reason = next((name for flag, rule, name in ALWAYS if rules[rule] and session[flag]), None)
        if reason:
            decisions.append(_decision(session, True, reason))
        else:
            strata[session["agent_version"]].append(session)
    share = rules["percent"] / 100
    for version in sorted(strata):
        members = strata[version]
        wanted = len(members) * share
        count = math.floor(wanted) + (rng.random() < wanted - math.floor(wanted))
        drawn = {id(session) for session in rng.sample(members, count)}
        decisions.extend(
            _decision(s, id(s) in drawn, "random" if id(s) in drawn else "not_drawn")
            for s in members
        )
    return decisions


def _decision(session: Mapping[str, Any], sampled: bool, reason: str) -> dict[str, Any]:
    return {
        "session_id": session["session_id"],
        "sampled": sampled,
        "reason": reason,
        "agent_version": session["agent_version"],
    }


def round_robin(
    session_ids: Sequence[uuid.UUID], reviewers: Sequence[str], after: str | None
) -> list[tuple[uuid.UUID, str]]:
    """Each session with its reviewer, taking `reviewers` in turn from the one after `after`
    (the last one assigned before), so the work is shared evenly across runs too."""
    if not reviewers:
        return []
    start = reviewers.index(after) + 1 if after in reviewers else 0
    return [
        (session_id, reviewers[(start + index) % len(reviewers)])
        for index, session_id in enumerate(session_ids)
    ]


def run(
    conn: psycopg.Connection,
    caller: str,
    *,
    low_confidence_below: float,
    quiet_minutes: int,
    seed: int | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Decide on every session not considered yet whose last event is `quiet_minutes` old, and
    assign the sampled ones round-robin to the active reviewers. Runs one at a time (the rules'
    row is locked), so no session is decided or assigned twice."""
    rules = assignment_store.get_rules(conn, lock=True)
    quiet_since = (now or datetime.now(UTC)) - timedelta(minutes=quiet_minutes)
    sessions = assignment_store.unsampled_sessions(conn, quiet_since, low_confidence_below)
    decisions = draw(sessions, rules, random.Random(seed))
    if decisions:
        assignment_store.record_decisions(conn, decisions)
    sampled = [d["session_id"] for d in decisions if d["sampled"]]
    reviewers = [row["reviewer_id"] for row in quality_store.list_reviewers(conn, active_only=True)]
    pairs = round_robin(sampled, reviewers, assignment_store.last_assigned_reviewer(conn))
    for session_id, reviewer_id in pairs:
        assignment_store.assign(conn, session_id, reviewer_id, caller, "sampling")
    names = quality_store.display_names(conn, reviewers)
    return {
        "considered": len(decisions),
        "sampled": len(sampled),
        "by_reason": dict(Counter(d["reason"] for d in decisions)),
        "assigned": dict(Counter(names.get(reviewer, "unnamed reviewer") for _, reviewer in pairs)),
        "unassigned": len(sampled) - len(pairs),
    }


def reassign(
    conn: psycopg.Connection, session_id: uuid.UUID, reviewer_id: str, caller: str
) -> dict[str, Any]:
    """Give a session to another reviewer (kept in the assignment history, the audit trail of
    QA); 404 for an unknown reviewer or a session without a log, 409 when that reviewer had
    this session before."""
    if quality_store.session_agent_version(conn, session_id) is None:
        raise NotFound("No validation log for this session.")
    if reviewer_id not in quality_store.display_names(conn, [reviewer_id]):
        raise NotFound("No such reviewer.")
    if not assignment_store.assign(conn, session_id, reviewer_id, caller, "reassignment"):
        raise Conflict(
            ASSIGNED_BEFORE, errors=[{"field": "reviewer_id", "reason": ASSIGNED_BEFORE}]
        )
    return {
        "session_id": session_id,
        "history": assignment_store.assignment_history(conn, session_id),
    }
