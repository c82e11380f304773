"""Problem-detail field lists and keyset cursors."""

import uuid
from datetime import UTC, datetime

import pytest

from shared.api import cursor_int, cursor_time, cursor_uuid, decode_cursor, encode_cursor
from shared.errors import UNNAMED_FIELD, ApiError, flatten_messages, reportable_field


def test_nested_messages_become_dotted_fields():
    messages = {
        "json": {
            "sentiment_score": ["Not a valid number."],
            "attributes": {"comment": ["Too long.", "Bad."]},
            "_schema": ["Give one."],
        }
    }
    assert flatten_messages(messages) == [
        {"field": "sentiment_score", "reason": "Not a valid number."},
        {"field": "attributes.comment", "reason": "Too long. Bad."},
        {"field": "body", "reason": "Give one."},
    ]


def test_keys_not_shaped_like_field_names_are_not_repeated():
    messages = {
        "json": {
            "Anna Müller": ["Unknown field."],
            "anna@example.com": ["Unknown field."],
            "items": {0: {"bad key\x00": ["Unknown field."], "notes": ["Too long."]}},
            "attributes": {"call +49 30 1234567": ["Not allowed."]},
            "sentimnet_score": ["Unknown field."],  # a typo of a field: worth naming
        }
    }
    assert flatten_messages(messages) == [
        {"field": UNNAMED_FIELD, "reason": "Unknown field."},
        {"field": UNNAMED_FIELD, "reason": "Unknown field."},
        {"field": f"items.0.{UNNAMED_FIELD}", "reason": "Unknown field."},
        {"field": "items.0.notes", "reason": "Too long."},
        {"field": f"attributes.{UNNAMED_FIELD}", "reason": "Not allowed."},
        {"field": "sentimnet_score", "reason": "Unknown field."},
    ]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("sentiment_score", "sentiment_score"),
        ("attributes.2fa_used", "attributes.2fa_used"),
        ("items.12.notes", "items.12.notes"),
        ("Anna Berg", "record"),
        ("attributes.anna@example.com", "record"),
        ("bad\x00key", "record"),
        ("", "record"),
        ("x" * 65, "record"),
    ],
)
def test_reportable_field(path, expected):
    assert reportable_field(path, fallback="record") == expected


def test_cursor_round_trip():
    moment, key = datetime(2026, 1, 1, tzinfo=UTC), uuid.uuid4()
    cursor = encode_cursor([moment.isoformat(), key])
    assert decode_cursor(cursor, cursor_time, cursor_uuid) == [moment, key]
    assert decode_cursor(encode_cursor([42]), cursor_int) == [42]


@pytest.mark.parametrize(
    ("cursor", "kinds"),
    [
        ("%%%", (cursor_time, cursor_uuid)),
        (encode_cursor([1, 2, 3]), (cursor_time, cursor_uuid)),
        (encode_cursor(["x", "y"]), (cursor_time, cursor_uuid)),  # would reach ::timestamptz
        (
            encode_cursor(["2026-01-01T00:00:00", "8e0c6a57-3a0e-4a43-9b8c-5a4f3c2b1d00"]),
            (cursor_time, cursor_uuid),
        ),
        (encode_cursor(["2026-01-01T00:00:00+00:00", "not-a-uuid"]), (cursor_time, cursor_uuid)),
        (encode_cursor([None, None]), (cursor_time, cursor_uuid)),
        (encode_cursor(["x"]), (cursor_int,)),
        (encode_cursor([True]), (cursor_int,)),
        (encode_cursor([2**63]), (cursor_int,)),
        (encode_cursor({"a": 1}), (cursor_int,)),
    ],
)
def test_a_forged_cursor_is_a_400_naming_it(cursor, kinds):
    with pytest.raises(ApiError) as raised:
        decode_cursor(cursor, *kinds)
    assert raised.value.code == 400
    assert raised.value.errors == [{"field": "cursor", "reason": "Not a cursor this list issued."}]
