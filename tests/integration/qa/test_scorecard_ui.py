"""The QA UI's scorecard form (Flask test client, real PostgreSQL): a criterion left unrated is
named, a comment with personal data is refused without echo and nothing is saved, a full rating
shows its quality score; the Quality page renders the report."""

import psycopg
import pytest
from psycopg.rows import dict_row

from qa_svc.app import create_app
from tests.integration.qa.test_scorecards import CARD, headers, log_session


@pytest.fixture
def client(app_config):
    app = create_app(app_config)
    yield app.test_client()
    app.extensions["db_pool"].close()


@pytest.fixture
def session(client, database_url):
    with psycopg.connect(database_url, row_factory=dict_row, options="-c search_path=qa") as conn:
        session_id = log_session(conn, "3.7.0")
        conn.commit()
    card = client.post("/api/v1/qa/scorecards", json=CARD, headers=headers()).json
    return session_id, card["scorecard_id"]


def test_the_form_names_what_is_wrong_and_saves_a_full_rating(client, session):
    session_id, card_id = session
    path = f"/qa/sessions/{session_id}"
    html = client.get(path, headers=headers()).text
    assert 'name="rating-root_cause" value="5"' in html and 'value="fail"' in html

    partial = client.post(
        path,
        headers=headers(),
        data={"status": "reviewed", "scorecard_id": card_id, "rating-root_cause": "4"},
    )
    assert partial.status_code == 422
    assert "Rate every criterion with a value of its scale: spec." in partial.text

    leaked = client.post(
        path,
        headers=headers(),
        data={
            "status": "reviewed",
            "scorecard_id": card_id,
            "rating-root_cause": "4",
            "rating-spec": "pass",
            "comment-spec": "ask anna.berg@example.com",
        },
    )
    assert leaked.status_code == 422
    assert "personal data" in leaked.text and "anna.berg@example.com" not in leaked.text
    assert 'id="quality-score"' not in client.get(path, headers=headers()).text

    saved = client.post(
        path,
        headers=headers(),
        data={
            "status": "reviewed",
            "scorecard_id": card_id,
            "rating-root_cause": "4",
            "rating-spec": "pass",
            "comment-root_cause": "Cause named in the first line.",
            "save": "",
        },
    )
    assert saved.status_code == 302
    html = client.get(saved.headers["Location"], headers=headers()).text
    assert '<strong id="quality-score">87.5</strong>' in html  # (75 + 100) / 2
    assert "Cause named in the first line." in html and "by Ana QA" in html

    quality = client.get("/qa/quality", headers=headers())
    assert quality.status_code == 200
    assert "3.7.0" in quality.text and "87.5" in quality.text and "Ana QA" in quality.text


def test_the_queue_shows_assignees_and_my_work(client, session, database_url):
    session_id, _ = session
    with psycopg.connect(database_url, options="-c search_path=qa") as conn:
        conn.execute(
            "INSERT INTO assignments (session_id, reviewer_id) VALUES (%s, 'qa-ana')", [session_id]
        )
    mine = client.get("/qa/?assignee=me", headers=headers()).text
    assert f"/qa/sessions/{session_id}" in mine and "<td>Ana QA</td>" in mine
    others = client.get("/qa/?assignee=me", headers=headers(subject="qa-ben", name="Ben QA"))
    assert f"/qa/sessions/{session_id}" not in others.text
