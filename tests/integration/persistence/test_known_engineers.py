"""The index of known engineers follows the stored sessions: a name is known from its first stored
session on, in every process at its next write, and no longer once the engineer is erased. QA's
free text reaches the same guard through the internal route, by its service call only."""

import psycopg

from devstack.testing import TEST_QA_TEXT_CHECK_KEY
from shared.http import ServiceClient
from tests.common.builders import make_session
from tests.common.servers import serve

NAME = "Ottoline Brackenridge"


def by_code(code: str, **overrides) -> dict:
    body = make_session(**overrides)
    del body["engineer"]
    return {**body, "engineer_code": code}


def test_a_name_is_known_from_its_first_session_until_its_erasure(api, database_url):
    notes = {"notes": f"{NAME.lower()} was late"}
    other = api.as_agent("POST", "/api/v1/sessions", json=make_session(engineer="Bo Li")).json
    # not known yet: stored as written
    stored = api.as_agent("POST", "/api/v1/sessions", json=by_code(other["engineer_code"], **notes))
    assert stored.status_code == 201
    first = api.as_agent("POST", "/api/v1/sessions", json=make_session(engineer=NAME))
    assert first.status_code == 201
    refused = api.as_agent(
        "POST", "/api/v1/sessions", json=by_code(other["engineer_code"], **notes)
    )
    assert refused.status_code == 422
    assert [error["field"] for error in refused.json["errors"]] == ["notes"]
    with psycopg.connect(database_url) as conn:  # only the pseudonym is stored
        known = conn.execute("SELECT engineer_code FROM persistence.known_engineers").fetchall()
    assert sorted(code for (code,) in known) == sorted(
        [other["engineer_code"], first.json["engineer_code"]]
    )
    erased = api.as_admin("DELETE", f"/api/v1/engineers/{first.json['engineer_code']}")
    assert erased.status_code == 200
    again = api.as_agent("POST", "/api/v1/sessions", json=by_code(other["engineer_code"], **notes))
    assert again.status_code == 201
    assert again.json["notes"] == notes["notes"]


def test_the_free_text_check_answers_kinds_and_positions_to_the_qa_call_only(api, app):
    api.as_agent("POST", "/api/v1/sessions", json=make_session(engineer=NAME))
    texts = [f"Spoke to {NAME.upper()}.", "All fine.", "mail a@b.de"]
    with serve(app) as url:
        qa = ServiceClient(url, caller="qa", target="persistence", key=TEST_QA_TEXT_CHECK_KEY)
        answer = qa.request("POST", "/api/v1/internal/free-text/check", json={"texts": texts})
        assert answer.status_code == 200
        assert answer.json() == {
            "items": [
                {"findings": [{"kind": "person_name", "start": 9, "end": 30}]},
                {"findings": []},
                {"findings": [{"kind": "email", "start": 5, "end": 11}]},
            ]
        }
        assert NAME.lower() not in answer.text.lower()
    as_agent = api.as_agent("POST", "/api/v1/internal/free-text/check", json={"texts": texts})
    assert as_agent.status_code == 403


def _insert_session(conn, session_id: str, code: str) -> None:
    conn.execute(
        """INSERT INTO persistence.sessions (session_id, engineer_code, case_ref, team,
           record_type, parts, languages, sentiment_score, tone_label, root_cause,
           confidence_analysis, confidence_overall, confidence_rating, analysed_at, content_hash)
           VALUES (%s, %s, 'case_x', 'emea-1', 'single', 1, '{EN}', 0.5, 'neutral', 'other',
                   0.5, 0.5, 'Medium', now(), '\\x00')""",
        [session_id, code],
    )


def test_writers_of_new_engineers_never_wait_on_each_other(database_url):
    """Keeping the index is no lock between writers: while one transaction that first stores an
    engineer is open, another stores the same new engineer and a different one without waiting
    (an import's chunk must not hold up the agent's writes)."""
    first = psycopg.connect(database_url)
    second = psycopg.connect(database_url, autocommit=True)
    try:
        _insert_session(first, "00000000-0000-0000-0000-0000000000a1", "eng_newcomer")
        second.execute("SET lock_timeout = '3s'")
        _insert_session(second, "00000000-0000-0000-0000-0000000000a2", "eng_newcomer")
        _insert_session(second, "00000000-0000-0000-0000-0000000000a3", "eng_other")
        first.commit()
        codes = second.execute(
            "SELECT DISTINCT engineer_code FROM persistence.known_engineers ORDER BY 1"
        ).fetchall()
        assert [code for (code,) in codes] == ["eng_newcomer", "eng_other"]
    finally:
        first.close()
        second.close()
