"""The PII guard finds personal data by kind and position, and leaves ordinary text alone."""

import pytest

from shared.pii import find_pii, redact, redact_value, scan_value


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("mail anna.berg@example.com now", ["email"]),
        ("Call +49 170 1234567 today", ["phone"]),
        ("Call 0171 2345678 today", ["phone"]),
        ("Call (415) 555-2671", ["phone"]),
        ("from 192.168.1.20", ["ip_address"]),
        ("from 2001:db8::1", ["ip_address"]),
        ("IBAN DE89 3704 0044 0532 0130 00", ["iban"]),
        ("card 4111 1111 1111 1111", ["card_number"]),
        ("see case 12345678", ["case_number"]),
        ("anna berg was late", ["person_name"]),
        ("Berg was late", ["person_name"]),
        ("ANNA  BÉRG was late", ["person_name"]),
    ],
)
def test_personal_data_is_found(text, kinds):
    assert [finding.kind for finding in find_pii(text, names=["Anna Berg"])] == kinds


@pytest.mark.parametrize(
    "text",
    [
        "Meeting on 2026-11-24 about version 3.7.1",
        "Version 3.7.0 on 24.11.2026 at 10:30:00",
        "4 escalations, sentiment 0.35, 1234 tickets",
        "The email was unclear and the phone call short",
        "Bergamo office",  # contains a name's letters, not the name
        "",
    ],
)
def test_ordinary_text_is_left_alone(text):
    assert find_pii(text, names=["Anna Berg"]) == []


def test_redact_replaces_each_finding_by_its_kind():
    text = "Mail anna@example.com or call +49 170 1234567."
    assert redact(text, find_pii(text)) == "Mail [redacted:email] or call [redacted:phone]."


def test_nested_values_are_scanned_with_paths():
    value = {"comment": "mail a@b.de", "tags": ["ok", "call +49 170 1234567"], "n": 3}
    assert scan_value(value) == [("comment", "email"), ("tags.1", "phone")]
    assert redact_value(value) == {
        "comment": "mail [redacted:email]",
        "tags": ["ok", "call [redacted:phone]"],
        "n": 3,
    }
