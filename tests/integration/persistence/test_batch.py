"""POST /sessions/batch: per-item results in one database round trip."""

import uuid

from tests.common.builders import make_session


def test_batch_reports_each_item(api):
    stored = make_session()
    assert api.as_agent("POST", "/api/v1/sessions", json=stored).status_code == 201
    fresh = make_session()
    twice = make_session()
    items = [
        fresh,
        stored,  # unchanged repeat
        {**stored, "sentiment_score": 0.99},  # conflict with what is stored
        make_session(sentiment_score=7),  # invalid
        twice,
        {**twice, "root_cause": "other"},  # same id twice in one batch, other content
    ]
    response = api.as_agent("POST", "/api/v1/sessions/batch", json={"items": items})
    assert response.status_code == 200, response.json
    result = response.json
    assert [item["status"] for item in result["items"]] == [
        "created",
        "unchanged",
        "conflict",
        "invalid",
        "created",
        "conflict",
    ]
    assert (result["created"], result["unchanged"], result["conflicts"], result["invalid"]) == (
        2,
        1,
        2,
        1,
    )
    invalid = items[3]["session_id"]
    assert result["items"][3]["session_id"] == invalid  # which session it was, though invalid
    assert result["items"][3]["errors"] == [
        {
            "field": "sentiment_score",
            "reason": "Must be greater than or equal to 0 and less than or equal to 1.",
        }
    ]
    listed = api.as_admin("GET", "/api/v1/sessions?limit=10").json["items"]
    assert {item["session_id"] for item in listed} == {
        stored["session_id"],
        fresh["session_id"],
        twice["session_id"],
    }


def test_batch_of_a_thousand_is_accepted_and_more_rejected(api):
    items = [make_session(session_id=str(uuid.uuid4())) for _ in range(1000)]
    response = api.as_agent("POST", "/api/v1/sessions/batch", json={"items": items})
    assert response.json["created"] == 1000
    too_many = api.as_agent("POST", "/api/v1/sessions/batch", json={"items": items + items[:1]})
    assert too_many.status_code == 422
    assert too_many.json["errors"][0]["field"] == "items"
