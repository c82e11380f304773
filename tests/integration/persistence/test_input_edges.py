"""Inputs the API fuzzer (tests/fuzz) found mishandled, each pinned down here: a body that is not
an object, NUL characters, a JSON import that is not an array, a time offset PostgreSQL does not
accept. Each must be a clear answer, never a 500 or a cut-off download."""

import csv
import io

import psycopg
import pytest

from shared.api import encode_cursor
from tests.common.builders import make_session


def test_a_body_that_is_not_an_object_is_a_422(api):
    for body in ("null", "[]", "7", '"text"'):
        response = api.as_agent(
            "POST", "/api/v1/sessions", data=body, content_type="application/json"
        )
        assert response.status_code == 422, (body, response.json)
        assert response.json["title"] == "Unprocessable Content"  # webargs' 422, like ours


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


def test_json_bodies_nested_too_deeply_or_with_nan_are_a_400(api):
    deep = '{"attributes": ' + "[" * 5000 + "]" * 5000 + "}"
    for body in (deep, "[" * 5000, '{"sentiment_score": NaN}', '{"attributes": {"x": Infinity}}'):
        for path in ("/api/v1/sessions", "/api/v1/sessions/batch"):
            response = api.as_agent("POST", path, data=body, content_type="application/json")
            assert response.status_code == 400, (body[:30], path, response.json)
            assert response.json["errors"][0]["field"] == "body"


# Values the schema took but PostgreSQL refused: a 500 for one session, a lost batch, a failed import.
DATABASE_REFUSED = [
    (
        {"started_at": "1900-01-01T00:00:00+00:00", "ended_at": "2025-01-01T00:00:00+00:00"},
        "ended_at",
    ),
    (
        {
            "attributes": {
                "depth": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]
            }
        },
        "attributes",
    ),
    ({"attributes": '{"x": NaN}'}, "attributes"),
    ({"attributes": '{"x": 1e400}'}, "attributes"),
]


@pytest.mark.parametrize(("overrides", "field"), DATABASE_REFUSED)
def test_values_the_database_would_refuse_are_a_422_naming_the_field(api, overrides, field):
    response = api.as_agent("POST", "/api/v1/sessions", json=make_session(**overrides))
    assert response.status_code == 422, response.json
    assert [error["field"] for error in response.json["errors"]] == [field]


@pytest.mark.parametrize(("overrides", "field"), DATABASE_REFUSED)
def test_such_values_are_rejected_items_and_rows_the_others_are_stored(
    api, database_url, overrides, field
):
    good, bad = make_session(), make_session(**overrides)
    batch = api.as_agent("POST", "/api/v1/sessions/batch", json={"items": [good, bad]})
    assert batch.status_code == 200, batch.json
    assert [item["status"] for item in batch.json["items"]] == ["created", "invalid"]
    assert batch.json["items"][1]["errors"][0]["field"] == field

    imported = api.as_admin(
        "POST", "/api/v1/imports", json=[make_session(), make_session(**overrides)]
    )
    assert imported.status_code == 200, imported.json
    assert imported.json["status"] == "completed"
    assert (imported.json["inserted"], imported.json["rejected"]) == (1, 1)
    assert [(e["row"], e["field"]) for e in imported.json["errors"]] == [(3, field)]
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM persistence.sessions").fetchone()[0] == 2


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("region", "jane.doe@example.com"),
        ("agent_version", "john@x.io"),
        ("model", "Jane Doe"),
        ("region", "=cmd|' /C calc'!A0"),
        ("region", "EMEA\n"),  # `$` alone would let a trailing line break through
        ("team", "emea-1\n"),
    ],
)
def test_labels_cannot_carry_addresses_names_or_formulas(api, database_url, field, value):
    response = api.as_agent("POST", "/api/v1/sessions", json=make_session(**{field: value}))
    assert response.status_code == 422, response.json
    assert [error["field"] for error in response.json["errors"]] == [field]
    assert value not in response.text
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM persistence.sessions").fetchone()[0] == 0


def test_a_forged_cursor_is_a_400_not_a_database_error(api):
    forged = encode_cursor(["x", "y"])  # the right length, but no time and no uuid
    for path in (f"/api/v1/sessions?cursor={forged}", f"/api/v1/sessions?limit=1&cursor={forged}"):
        response = api.as_admin("GET", path)
        assert response.status_code == 400, response.json
        assert response.json["errors"] == [
            {"field": "cursor", "reason": "Not a cursor this list issued."}
        ]
