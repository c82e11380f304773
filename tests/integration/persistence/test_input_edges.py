"""Inputs the API fuzzer (tests/fuzz) found mishandled, each pinned down here: a body that is not
an object, NUL characters, a JSON import that is not an array, a time offset PostgreSQL does not
accept. Each must be a clear answer, never a 500 or a cut-off download."""

import csv
import io

import psycopg

from tests.common.builders import make_session


def test_a_body_that_is_not_an_object_is_a_422(api):
    for body in ("null", "[]", "7", '"text"'):
        response = api.as_agent(
            "POST", "/api/v1/sessions", data=body, content_type="application/json"
        )
        assert response.status_code == 422, (body, response.json)


def test_nul_characters_are_refused_naming_the_field(api):
    response = api.as_agent("POST", "/api/v1/sessions", json=make_session(notes="fine\x00not"))
    assert response.status_code == 422
    assert {"field": "notes", "reason": "Text cannot contain NUL characters."} in response.json[
        "errors"
    ]
    nested = api.as_agent(
        "POST", "/api/v1/sessions", json=make_session(attributes={"k": ["a\x00"]})
    )
    assert nested.status_code == 422
    assert nested.json["errors"][0]["field"] == "attributes"
    query = api.as_admin("GET", "/api/v1/sessions?team=a%00b")
    assert query.status_code == 422


def test_a_json_import_must_be_an_array(api):
    for body in ("{}", '{"items": []}', "  \n 3"):
        response = api.as_admin(
            "POST", "/api/v1/imports", data=body, content_type="application/json"
        )
        assert response.status_code == 400, (body, response.json)
        assert response.json["errors"][0]["field"] == "file"


def test_any_valid_time_offset_filters_correctly(api):
    stored = api.as_agent("POST", "/api/v1/sessions", json=make_session())
    assert stored.status_code == 201
    # +16:00 is a valid ISO 8601 offset that PostgreSQL would refuse as written
    for path in (
        "/api/v1/sessions/export?from=2000-01-01T00:00:00%2B16:00",
        "/api/v1/sessions?from=2000-01-01T00:00:00%2B16:00",
    ):
        response = api.as_admin("GET", path)
        assert response.status_code == 200, response.get_data(as_text=True)[:500]
    rows = list(csv.DictReader(io.StringIO(response_text(api))))
    assert [row["session_id"] for row in rows] == [stored.json["session_id"]]


def response_text(api) -> str:
    response = api.as_admin("GET", "/api/v1/sessions/export?from=1999-12-31T20:00:00-23:59")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_empty_exports_are_complete_files(api):
    for fmt, expected in (("csv", 1), ("json", 1), ("ndjson", 0)):
        response = api.as_admin("GET", f"/api/v1/sessions/export?format={fmt}&team=nobody-here")
        assert response.status_code == 200, (fmt, response.get_data(as_text=True)[:300])
        assert len(response.get_data(as_text=True).splitlines()) == expected, fmt


def test_import_reports_never_repeat_keys_that_are_not_column_names(api, database_url):
    records = [
        {**make_session(), "Anna Berg": 1},  # a key that is someone's name
        {**make_session(), "bad\x00key": 1},  # PostgreSQL cannot store NUL
        {**make_session(), "sentimnet_score": 0.3},  # a typo of a column: worth naming
    ]
    response = api.as_admin("POST", "/api/v1/imports", json=records)
    assert response.status_code == 200, response.json
    fields = [error["field"] for error in response.json["errors"]]
    assert fields == ["record", "record", "sentimnet_score"]
    assert response.json["rejected"] == 3
    with psycopg.connect(database_url) as conn:
        stored = conn.execute("SELECT errors::text FROM persistence.imports").fetchone()[0]
    assert "Anna" not in stored
