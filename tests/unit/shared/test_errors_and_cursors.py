"""Problem-detail field lists and keyset cursors."""

import pytest

from shared.api import decode_cursor, encode_cursor
from shared.errors import ApiError, flatten_messages


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


def test_cursor_round_trip_and_forgery():
    cursor = encode_cursor(["2026-01-01T00:00:00+00:00", "abc"])
    assert decode_cursor(cursor, 2) == ["2026-01-01T00:00:00+00:00", "abc"]
    with pytest.raises(ApiError) as raised:
        decode_cursor("%%%", 2)
    assert raised.value.code == 400
    with pytest.raises(ApiError):
        decode_cursor(encode_cursor([1, 2, 3]), 2)
