"""Scorecards (versioned: an edit adds a version, reviews keep the one they used) and scored
reviews: a reviewer's ratings of a session, its quality score, and the daily rollup."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import psycopg

from qa_svc import privacy, quality_store, scoring
from shared.errors import Conflict, NotFound, Unprocessable
from shared.http import ServiceClient

NOT_LATEST = "Only the latest version of a scorecard can be edited."
NO_SCORECARD = "No such scorecard."


def create(
    conn: psycopg.Connection, data: Mapping[str, Any], creator: str, guard: ServiceClient
) -> dict:
    """A new scorecard (version 1); its name and labels are checked for personal data."""
    _refuse_personal_data(guard, data)
    return quality_store.insert_scorecard(
        conn,
        family_id=uuid.uuid4(),
        version=1,
        name=data["name"],
        criteria=data["criteria"],
        is_default=data["is_default"] or quality_store.default_scorecard(conn) is None,
        created_by=creator,
    )


def revise(
    conn: psycopg.Connection,
    scorecard_id: uuid.UUID,
    data: Mapping[str, Any],
    editor: str,
    guard: ServiceClient,
) -> dict:
    """Edit a scorecard: its next version, which stays the default when the edited one was.
    Reviews made with the older version keep it (they name the version's id)."""
    _refuse_personal_data(guard, data)
    current = quality_store.get_scorecard(conn, scorecard_id, lock=True)
    if current is None:
        raise NotFound(NO_SCORECARD)
    if not current["is_latest"]:
        raise Conflict(NOT_LATEST, errors=[{"field": "scorecard_id", "reason": NOT_LATEST}])
    return quality_store.insert_scorecard(
        conn,
        family_id=current["family_id"],
        version=current["version"] + 1,
        name=data["name"],
        criteria=data["criteria"],
        is_default=data["is_default"] or current["is_default"],
        created_by=editor,
    )


def _refuse_personal_data(guard: ServiceClient, data: Mapping[str, Any]) -> None:
    texts = {"name": data["name"]}
    texts.update(
        {f"criteria.{i}.label": criterion["label"] for i, criterion in enumerate(data["criteria"])}
    )
    privacy.refuse_personal_data(guard, texts)


def scorecard_for(conn: psycopg.Connection, scorecard_id: uuid.UUID | None) -> dict:
    """The scorecard a review names, or the default one; 422 naming `scorecard_id` otherwise."""
    card = (
        quality_store.get_scorecard(conn, scorecard_id)
        if scorecard_id
        else quality_store.default_scorecard(conn)
    )
    if card is None:
        reason = NO_SCORECARD if scorecard_id else "No default scorecard; name one."
        raise Unprocessable(reason, errors=[{"field": "scorecard_id", "reason": reason}])
    return card


def score(
    conn: psycopg.Connection,
    session_id: uuid.UUID,
    reviewer_id: str,
    scorecard_id: uuid.UUID | None,
    ratings: Mapping[str, Any],
    comments: Mapping[str, str],
    *,
    guard: ServiceClient,
    scored_at: datetime | None = None,
) -> dict:
    """Save a reviewer's ratings of a session with its quality score (replacing their earlier
    ones) and keep the rollup in step, in the caller's transaction. 422 naming each rating that
    does not fit the scorecard, or each comment holding personal data; 404 without a log.
    `scored_at` (default now) lets demo data and tests date a review."""
    card = scorecard_for(conn, scorecard_id)
    rated = ratings_against(card, ratings, comments, guard)
    version = quality_store.session_agent_version(conn, session_id)
    if version is None:
        raise NotFound("No validation log for this session.")
    earlier = quality_store.lock_scored_review(conn, session_id, reviewer_id)
    saved = quality_store.upsert_scored_review(
        conn,
        {
            "session_id": session_id,
            "reviewer_id": reviewer_id,
            "scorecard_id": card["scorecard_id"],
            "agent_version": version,
            "scored_at": scored_at,
            **rated,
        },
    )
    if earlier is not None:
        quality_store.add_to_rollup(conn, earlier, -1)
    quality_store.add_to_rollup(conn, saved, 1)
    return {**saved, "scorecard_name": card["name"], "scorecard_version": card["version"]}


def ratings_against(
    card: Mapping[str, Any],
    ratings: Mapping[str, Any],
    comments: Mapping[str, str],
    guard: ServiceClient,
) -> dict[str, Any]:
    """The checked ratings, comments, criterion scores and quality score of one scored review on
    `card`; 422 naming each bad rating, a comment on no criterion, or a comment with personal
    data (the comment is not repeated)."""
    problems = scoring.rating_problems(card["criteria"], ratings)
    keys = {criterion["key"] for criterion in card["criteria"]}
    problems.extend(
        {"field": "comments", "reason": "Comments on a criterion the scorecard does not have."}
        for key in comments
        if key not in keys
    )
    total = scoring.quality_score(card["criteria"], ratings) if not problems else None
    if not problems and total is None:
        problems.append({"field": "ratings", "reason": "Every weighted criterion is N/A."})
    if problems:
        raise Unprocessable("The ratings do not fit the scorecard.", errors=problems)
    privacy.refuse_personal_data(guard, {f"comments.{key}": text for key, text in comments.items()})
    return {
        "ratings": dict(ratings),
        "comments": {key: text for key, text in comments.items() if text},
        "criterion_scores": scoring.criterion_scores(ratings),
        "quality_score": total,
    }
