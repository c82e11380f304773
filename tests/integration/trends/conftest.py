"""A trends app on the test's own database; sessions are fed in as change-feed items."""

import json
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg.rows import dict_row

from trends_svc import projection
from trends_svc.app import create_app

NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)


@pytest.fixture
def trends_app(app_config):
    app = create_app(app_config)
    yield app
    app.extensions["db_pool"].close()


@pytest.fixture
def conn(database_url):
    with psycopg.connect(
        database_url, row_factory=dict_row, options="-c search_path=trends"
    ) as connection:
        yield connection


def change(
    engineer="eng_a",
    team="emea-1",
    days_ago=1.0,
    root_cause="knowledge_gap",
    sentiment=0.5,
    confidence=0.8,
    languages=("EN",),
    region="EMEA",
    operation="insert",
    session_id=None,
):
    """A change-feed item as persistence_svc sends it."""
    session_id = session_id or str(uuid.uuid4())
    return {
        "operation": operation,
        "session_id": session_id,
        "session": None
        if operation == "delete"
        else {
            "session_id": session_id,
            "engineer_code": engineer,
            "team": team,
            "region": region,
            "languages": list(languages),
            "root_cause": root_cause,
            "sentiment_score": sentiment,
            "confidence_overall": confidence,
            "analysed_at": (NOW - timedelta(days=days_ago)).isoformat(),
        },
    }


@pytest.fixture
def feed(conn):
    """Apply change items to the projection as the worker would."""

    def apply(*changes):
        with conn.transaction():
            projection.apply_page(conn, list(changes))

    return apply


def feed_rows(database_url: str, items: list[dict]) -> bytes:
    """What persistence's feed answers for `items` with format=rows (each session once, as its
    last change left it, with the projected fields), written as binary COPY data by PostgreSQL."""
    last = {item["session_id"]: item for item in items}
    sessions = [
        {**(item["session"] or {} if item["operation"] != "delete" else {}), "session_id": key}
        for key, item in last.items()
    ]
    data = bytearray()
    with (
        psycopg.connect(database_url) as connection,
        connection.cursor() as cursor,
        cursor.copy(
            "COPY (SELECT * FROM json_to_recordset(%s::json) AS r(session_id uuid, "
            "engineer_code text, team text, region text, languages text[], root_cause text, "
            "sentiment_score float8, confidence_overall float8, analysed_at timestamptz)) "
            "TO STDOUT (FORMAT binary)",
            [json.dumps(sessions)],
        ) as copy,
    ):
        for block in copy:
            data += block
    return bytes(data)
