"""Demo data for `make run`: reproducible analyses posted through the real API as the demo agent."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import requests

from shared.domain import ROOT_CAUSES, SUPPORTED_LANGUAGES

DEMO_NAMESPACE = uuid.UUID("5f0c3c8e-1d2b-4c59-9a53-8f7f6c1f0a11")
TEAMS = {"emea-1": "EMEA", "emea-2": "EMEA", "amer-1": "AMER", "apac-1": "APAC"}
FIRST_NAMES = (
    "Anna",
    "Jonas",
    "Clara",
    "Luca",
    "Eva",
    "Mateo",
    "Sofia",
    "Emre",
    "Petra",
    "Jan",
    "Marta",
    "Hugo",
    "Lea",
    "Tomasz",
    "Elif",
    "Noah",
)
LAST_NAMES = (
    "Berg",
    "Weber",
    "Novak",
    "Rossi",
    "Lind",
    "García",
    "Dubois",
    "Yılmaz",
    "Svoboda",
    "Kowalski",
    "Moreau",
    "Keller",
)


# Scripted engineers whose sessions trip each trend rule on a fresh start (names outside the
# random pool, so that random sessions never mix into their sequences).
PATTERNS = {
    "recurring_issue": ("Mira Holm", "emea-1"),
    "performance_decline": ("Oskar Brandt", "emea-1"),
    "positive_trend": ("Ines Vidal", "emea-2"),
}
# apac-1 meets analytical errors far more often than the rest: team_frequent_issue for management.
CAUSE_WEIGHTS = {"apac-1": (10, 10, 60, 10, 10)}
DEFAULT_CAUSE_WEIGHTS = (30, 30, 15, 15, 10)
ENGINEERS_PER_TEAM = 12


def demo_sessions(
    count: int = 1500, *, days: int = 180, seed: int = 37, now: datetime | None = None
) -> Iterator[dict]:
    """`count` random analyses over the last `days` days by 12 engineers per team, then the
    scripted sessions of PATTERNS; the same every time for the same seed and day."""
    rng = random.Random(seed)
    now = (now or datetime.now(UTC)).replace(minute=0, second=0, microsecond=0)
    names = [f"{first} {last}" for first in FIRST_NAMES for last in LAST_NAMES]
    rng.shuffle(names)
    engineers = [
        (names[index * ENGINEERS_PER_TEAM + offset], team)
        for index, team in enumerate(TEAMS)
        for offset in range(ENGINEERS_PER_TEAM)
    ]
    for index in range(count):
        name, team = engineers[index % len(engineers)]
        ended = now - timedelta(hours=rng.uniform(1, days * 24))
        cause = rng.choices(ROOT_CAUSES, weights=CAUSE_WEIGHTS.get(team, DEFAULT_CAUSE_WEIGHTS))[0]
        yield _session(rng, f"demo-{seed}-{index}", name, team, ended, cause)
    yield from _scripted(rng, seed, now)


def _scripted(rng: random.Random, seed: int, now: datetime) -> Iterator[dict]:
    name, team = PATTERNS["recurring_issue"]
    for step, days_ago in enumerate((50, 33, 21, 8)):
        ended = now - timedelta(days=days_ago)
        yield _session(rng, f"demo-{seed}-rec-{step}", name, team, ended, "knowledge_gap")
    name, team = PATTERNS["performance_decline"]  # confidence 0.95 a month ago, 0.55 now
    for step, (days_ago, confidence) in enumerate(
        ((55, 0.95), (45, 0.94), (38, 0.96), (20, 0.58), (12, 0.55), (4, 0.52))
    ):
        ended = now - timedelta(days=days_ago)
        yield _session(
            rng, f"demo-{seed}-dec-{step}", name, team, ended, "other", confidence=confidence
        )
    name, team = PATTERNS["positive_trend"]  # sentiment rises on every communication issue
    for step, (days_ago, sentiment) in enumerate(((40, 0.2), (30, 0.35), (19, 0.5), (6, 0.72))):
        ended = now - timedelta(days=days_ago)
        yield _session(
            rng,
            f"demo-{seed}-pos-{step}",
            name,
            team,
            ended,
            "communication_issue",
            sentiment=sentiment,
        )


def _session(
    rng: random.Random,
    key: str,
    name: str,
    team: str,
    ended: datetime,
    cause: str,
    *,
    confidence: float | None = None,
    sentiment: float | None = None,
) -> dict:
    series = rng.random() < 0.2
    languages = (
        ["EN"]
        if confidence
        else ["EN", *rng.sample(SUPPORTED_LANGUAGES[1:], rng.choice((0, 0, 1, 2)))]
    )
    if sentiment is None:
        sentiment = round(min(1.0, max(0.0, rng.gauss(0.42, 0.18))), 2)
    return {
        "session_id": str(uuid.uuid5(DEMO_NAMESPACE, key)),
        "engineer": name,
        "case_number": f"{rng.randrange(10_000_000, 99_999_999)}",
        "team": team,
        "region": TEAMS[team],
        "record_type": "series" if series else "single",
        "parts": rng.randint(2, 5) if series else 1,
        "languages": languages,
        "sentiment_score": sentiment,
        "root_cause": cause,
        "confidence_analysis": confidence or round(rng.uniform(0.45, 0.98), 2),
        "confidence_translation": round(rng.uniform(0.6, 0.98), 2) if len(languages) > 1 else None,
        "started_at": (ended - timedelta(minutes=rng.randint(8, 45))).isoformat(),
        "ended_at": ended.isoformat(),
        "agent_version": rng.choice(("3.6.2", "3.7.0", "3.7.0", "3.7.1")),
        "model": "gpt-4o",
    }


def demo_validation_events(sessions: list[dict], *, seed: int = 37) -> list[dict]:
    """The validation log the agent would have reported for about a quarter of the sessions:
    each step's outcome, typos in case numbers (three in a row for a few: restart offered),
    unsupported language codes, and a few model time-outs. No entered value is ever included."""
    rng = random.Random(seed)
    events: list[dict] = []
    for session in sessions:
        if rng.random() <= 0.25:
            events.extend(_session_log(rng, session))
    return events


def _session_log(rng: random.Random, session: dict) -> list[dict]:
    events: list[dict] = []
    at = datetime.fromisoformat(session["started_at"])

    def event(field, outcome, code=None, step=None, attempt=1, **extra):
        nonlocal at
        at += timedelta(seconds=rng.randint(5, 40))
        events.append(
            {
                "session_id": session["session_id"],
                "step": step,
                "field": field,
                "outcome": outcome,
                "code": code,
                "attempt": attempt,
                "time": at.isoformat(),
                "agent_version": session["agent_version"],
                **extra,
            }
        )

    event("engineer", "valid", step=1)
    typos = rng.choices((0, 1, 2, 3), weights=(70, 18, 7, 5))[0]
    for attempt in range(1, typos + 1):
        event("case_number", "invalid", "invalid_case_number", 2, attempt)
    if typos < 3:
        event("case_number", "valid", step=2, attempt=typos + 1)
    if rng.random() < 0.15:
        event("languages", "warning", "unsupported_language", 3)
    else:
        event("languages", "valid", step=3)
    event("record_type", "valid", step=4)
    if rng.random() < 0.04:
        event("model", "error", "model_timeout", 5, message="The model did not answer in time.")
    translation = session["confidence_translation"] or session["confidence_analysis"]
    overall = 0.7 * session["confidence_analysis"] + 0.3 * translation
    event("review", "valid", step=6, confidence_overall=round(overall, 4))
    return events


def demo_reviews(sessions: list[str], *, seed: int = 37) -> list[tuple[str, str, str | None]]:
    """A few QA decisions on logged sessions: (session id, status, neutral notes)."""
    rng = random.Random(seed)
    choices = (
        ("reviewed", "Flow followed; no coaching point."),
        ("reviewed", None),
        ("flagged", "Three case-number typos: revisit step 2 prompts."),
        ("in_review", None),
    )
    picked = rng.sample(sessions, min(24, len(sessions)))
    return [(session_id, *rng.choice(choices)) for session_id in picked]


# The starting scorecard of this agent (issue #27); the first one created becomes the default.
DEMO_SCORECARD = {
    "name": "CR Assistant analysis",
    "criteria": [
        {"key": "root_cause", "label": "Root cause correct", "weight": 3, "scale": "1-5"},
        {"key": "sentiment", "label": "Sentiment plausible", "weight": 2, "scale": "1-5"},
        {
            "key": "translation",
            "label": "Translation faithful",
            "weight": 2,
            "scale": "na_allowed_1-5",
        },
        {"key": "coaching", "label": "Coaching advice usable", "weight": 2, "scale": "1-5"},
        {
            "key": "spec_messages",
            "label": "Spec messages followed",
            "weight": 1,
            "scale": "pass_fail",
        },
    ],
}


def demo_ratings(session_id: str) -> dict[str, int | str]:
    """Scorecard ratings of a demo review, the same for a session on every run."""
    rng = random.Random(session_id)
    return {
        "root_cause": rng.choice((3, 4, 4, 5, 5)),
        "sentiment": rng.choice((3, 4, 4, 5)),
        "translation": rng.choice((4, 5, "na")),
        "coaching": rng.choice((2, 3, 4, 4, 5)),
        "spec_messages": rng.choice(("pass", "pass", "pass", "fail")),
    }


def ensure_demo_scorecard(gateway_url: str, headers: dict[str, str]) -> None:
    """Create the starting scorecard unless QA has one already."""
    listed = requests.get(f"{gateway_url}/api/v1/qa/scorecards", headers=headers, timeout=30)
    listed.raise_for_status()
    if not listed.json()["items"]:
        created = requests.post(
            f"{gateway_url}/api/v1/qa/scorecards",
            headers=headers,
            json={**DEMO_SCORECARD, "is_default": True},
            timeout=30,
        )
        created.raise_for_status()


def _token(gateway_url: str, client_id: str, client_secret: str) -> dict[str, str]:
    token = requests.post(
        f"{gateway_url}/oauth/token",
        auth=(client_id, client_secret),
        data={"grant_type": "client_credentials"},
        timeout=30,
    )
    token.raise_for_status()
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


def seed_demo_data(
    gateway_url: str,
    client_id: str,
    client_secret: str,
    reviewer: tuple[str, str] | None = None,
    progress=print,
) -> dict[str, int]:
    """Post the demo analyses in batches and their validation log as the agent, then a few QA
    decisions as `reviewer` (client id, secret) when given; returns the summed counts."""
    headers = _token(gateway_url, client_id, client_secret)
    sessions = list(demo_sessions())
    totals = {"created": 0, "unchanged": 0, "conflicts": 0, "invalid": 0, "events": 0, "reviews": 0}
    for start in range(0, len(sessions), 500):
        response = requests.post(
            f"{gateway_url}/api/v1/sessions/batch",
            headers=headers,
            json={"items": sessions[start : start + 500]},
            timeout=120,
        )
        response.raise_for_status()
        for key in ("created", "unchanged", "conflicts", "invalid"):
            totals[key] += response.json()[key]
        progress(f"demo data: {min(start + 500, len(sessions))}/{len(sessions)} analyses")
    events = demo_validation_events(sessions)
    logged = sorted({event["session_id"] for event in events})
    if totals["created"]:  # the log is appended to: only on the first start
        for start in range(0, len(events), 500):
            response = requests.post(
                f"{gateway_url}/api/v1/validation/events",
                headers=headers,
                json={"events": events[start : start + 500]},
                timeout=60,
            )
            response.raise_for_status()
            totals["events"] += response.json()["recorded"]
    if reviewer is not None:
        reviewer_headers = _token(gateway_url, *reviewer)
        ensure_demo_scorecard(gateway_url, reviewer_headers)
        for session_id, status, notes in demo_reviews(logged):
            body = {"status": status, "notes": notes} if notes else {"status": status}
            if status in ("reviewed", "flagged"):  # decided reviews carry the scorecard
                body["ratings"] = demo_ratings(session_id)
            response = requests.post(
                f"{gateway_url}/api/v1/qa/reviews/{session_id}",
                headers=reviewer_headers,
                json=body,
                timeout=30,
            )
            response.raise_for_status()
            totals["reviews"] += 1
    return totals
