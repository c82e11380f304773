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


def demo_sessions(
    count: int = 400, *, days: int = 180, seed: int = 37, now: datetime | None = None
) -> Iterator[dict]:
    """`count` analyses over the last `days` days, the same every time for the same seed and day."""
    rng = random.Random(seed)
    now = (now or datetime.now(UTC)).replace(minute=0, second=0, microsecond=0)
    engineers = [
        (f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}", team)
        for team in TEAMS
        for _ in range(4)
    ]
    for index in range(count):
        name, team = engineers[index % len(engineers)]
        ended = now - timedelta(hours=rng.uniform(1, days * 24))
        series = rng.random() < 0.2
        languages = ["EN", *rng.sample(SUPPORTED_LANGUAGES[1:], rng.choice((0, 0, 1, 2)))]
        sentiment = round(min(1.0, max(0.0, rng.gauss(0.42, 0.18))), 2)
        yield {
            "session_id": str(uuid.uuid5(DEMO_NAMESPACE, f"demo-{seed}-{index}")),
            "engineer": name,
            "case_number": f"{rng.randrange(10_000_000, 99_999_999)}",
            "team": team,
            "region": TEAMS[team],
            "record_type": "series" if series else "single",
            "parts": rng.randint(2, 5) if series else 1,
            "languages": languages,
            "sentiment_score": sentiment,
            "root_cause": rng.choices(ROOT_CAUSES, weights=(30, 30, 15, 15, 10))[0],
            "confidence_analysis": round(rng.uniform(0.45, 0.98), 2),
            "confidence_translation": round(rng.uniform(0.6, 0.98), 2)
            if len(languages) > 1
            else None,
            "started_at": (ended - timedelta(minutes=rng.randint(8, 45))).isoformat(),
            "ended_at": ended.isoformat(),
            "agent_version": rng.choice(("3.6.2", "3.7.0", "3.7.0", "3.7.1")),
            "model": "gpt-4o",
        }


def seed_demo_data(gateway_url: str, client_id: str, client_secret: str) -> dict[str, int]:
    """Post the demo analyses through the gateway in batches; returns the summed counts."""
    token = requests.post(
        f"{gateway_url}/oauth/token",
        auth=(client_id, client_secret),
        data={"grant_type": "client_credentials"},
        timeout=30,
    )
    token.raise_for_status()
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    sessions = list(demo_sessions())
    totals = {"created": 0, "unchanged": 0, "conflicts": 0, "invalid": 0}
    for start in range(0, len(sessions), 200):
        response = requests.post(
            f"{gateway_url}/api/v1/sessions/batch",
            headers=headers,
            json={"items": sessions[start : start + 200]},
            timeout=60,
        )
        response.raise_for_status()
        for key in totals:
            totals[key] += response.json()[key]
    return totals
