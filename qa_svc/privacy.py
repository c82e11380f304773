"""The PII guard of QA's free text (review notes, the messages of reported events): persistence's
guard, over HTTP, because persistence knows the pseudonyms of the platform's engineers and can tell
a known engineer's name in any text. QA keeps no copy of them and holds no pseudonym key."""

from __future__ import annotations

import requests
from flask import Flask, current_app

from shared.errors import ServiceUnavailable, Unprocessable
from shared.http import ServiceClient, service_client
from shared.web import settings_of

CHECK_PATH = "/api/v1/internal/free-text/check"
REFUSED = "Personal data is not stored."


def register_text_guard(app: Flask) -> None:
    """The client of persistence's PII guard (the `qa` -> `persistence` service call)."""
    app.extensions["text_guard"] = service_client(settings_of(app), "qa", "persistence")


def text_guard() -> ServiceClient:
    """This app's client of persistence's PII guard."""
    return current_app.extensions["text_guard"]


def personal_data_in(client: ServiceClient, texts: list[str]) -> list[list[dict]]:
    """For each text, the personal data persistence's guard finds in it (kind and position, never
    the text). 503 when the guard cannot be asked: nothing unchecked is stored."""
    try:
        response = client.request("POST", CHECK_PATH, json={"texts": texts})
        response.raise_for_status()
        return [item["findings"] for item in response.json()["items"]]
    except (requests.RequestException, ValueError, KeyError, TypeError):
        raise ServiceUnavailable(
            "Free text cannot be checked for personal data now; retry later.",
            headers={"Retry-After": "5"},
        ) from None


def refuse_personal_data(client: ServiceClient, texts: dict[str, str | None]) -> None:
    """422 naming every field (the keys of `texts`) whose text holds personal data, as the guard
    `client` reaches finds it; the text is not repeated. Empty texts are not sent."""
    fields = [field for field, text in texts.items() if text]
    if not fields:
        return
    found = personal_data_in(client, [texts[field] for field in fields])
    errors = [
        {"field": field, "reason": REFUSED}
        for field, findings in zip(fields, found, strict=True)
        if findings
    ]
    if errors:
        raise Unprocessable(REFUSED, errors=errors)
