"""Baseline for the write benchmark: the least a Flask + psycopg_pool insert endpoint can do."""

from __future__ import annotations

import hashlib
import os
import uuid

from flask import Flask, request
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool


def create_app() -> Flask:
    """POST /sessions inserts the body's fields into persistence.sessions with no checks at all."""
    app = Flask(__name__)
    pool = ConnectionPool(
        os.environ["BASELINE_DATABASE_URL"],
        min_size=4,
        max_size=16,
        kwargs={"options": "-c search_path=persistence"},
    )

    @app.post("/sessions")
    def insert():
        body = request.get_json()
        with pool.connection() as conn:
            conn.execute(
                """INSERT INTO sessions (session_id, engineer_code, case_ref, team, region,
                   record_type, parts, languages, sentiment_score, tone_label, root_cause,
                   confidence_analysis, confidence_translation, confidence_overall,
                   confidence_rating, analysed_at, attributes, content_hash)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, now(), %s, %s)""",
                [
                    body.get("session_id") or uuid.uuid4(),
                    # codes of the platform's form (persistence indexes the engineer codes it
                    # stores), without the pseudonymisation the baseline leaves out
                    "eng_" + "b" * 24,
                    "case_" + "b" * 24,
                    body["team"],
                    body["region"],
                    body["record_type"],
                    body["parts"],
                    body["languages"],
                    body["sentiment_score"],
                    body["tone_label"],
                    body["root_cause"],
                    body["confidence_analysis"],
                    body["confidence_translation"],
                    body["confidence_analysis"],
                    "High",
                    Jsonb(body.get("attributes") or {}),
                    hashlib.sha256(request.data).digest(),
                ],
            )
        return {"ok": True}, 201

    return app
