"""The PII guard finds personal data by kind and position, and leaves ordinary text alone."""

import pytest

from shared.pii import PiiFinding, find_pii, name_runs, redact, redact_value, scan_value
from shared.pseudonyms import KnownEngineers, engineer_code


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


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("IBAN DE89 3704 0044 0532 0130 00 BIC COBADEFFXXX", "DE89 3704 0044 0532 0130 00"),
        ("IBAN DE89370400440532013000 BIC COBADEFF", "DE89370400440532013000"),
        ("iban de89 3704 0044 0532 0130 00", "de89 3704 0044 0532 0130 00"),
        ("card 4111 1111 1111 1111 12/27", "4111 1111 1111 1111"),
        ("Amex 3782 822463 10005", "3782 822463 10005"),
        ("Tel:+4917012345678", "+4917012345678"),
        ("call 030 12345678", "030 12345678"),
        ("phone: 0044 20 7946 0958", "0044 20 7946 0958"),
        ("+49 (0) 170 123 45 67", "+49 (0) 170 123 45 67"),
        ("from fe80::1ff:fe23:4567:890a%eth0", "fe80::1ff:fe23:4567:890a"),
        ("mail jürgen@müller.de", "jürgen@müller.de"),
        ("Case #12345678.", "12345678"),
    ],
)
def test_the_finding_covers_exactly_the_personal_data(text, found):
    findings = find_pii(text)
    assert len(findings) == 1
    assert text[findings[0].start : findings[0].end] == found


@pytest.mark.parametrize(
    "text",
    [
        "order 2026-11-24T10:30:00Z",
        "call on 24.11.2026 10:30",
        "05/11/2026 call",
        "version 3.7.0.1 and v3.7.0.1",
        "session 12345678-1234-1234-1234-123456789abc",
        "scores 0.35 0.42 0.51 0.66 0.71 0.88",
        "at 10:30, 11:45 and 12:00; ratio 1:2:3",
        "1,234,567.89 USD and 12.345.678 EUR",
        "room 1234, Kd.-Nr. 4711",
        "user@localhost",
        "the customer will call",  # a word of a name, not written as a name
        "smith said",
    ],
)
def test_look_alikes_are_left_alone(text):
    assert find_pii(text, names=["Will Smith"]) == []


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("Will was late", ["person_name"]),
        ("Smith said", ["person_name"]),
        ("will smith said", ["person_name"]),
        ("Anna Berg’s reply", ["person_name"]),
    ],
)
def test_a_single_word_of_a_name_counts_when_capitalised(text, kinds):
    assert [f.kind for f in find_pii(text, names=["Will Smith", "Anna Berg"])] == kinds


def test_an_id_is_matched_as_a_whole_word():
    assert [f.kind for f in find_pii("ticket by e-10042 today", names=["E-10042"])] == [
        "person_name"
    ]
    assert find_pii("ticket by E-100421 today", names=["E-10042"]) == []


def test_findings_hold_positions_and_kind_only():
    (finding,) = find_pii("mail anna@example.com")
    assert finding == PiiFinding("email", 5, 21)
    assert set(vars(finding)) == {"kind", "start", "end"}


@pytest.mark.parametrize("text", [None, "", "ok", "4 tickets in 3 days", "sentiment 0.35"])
def test_short_text_without_hints_is_clean(text):
    assert find_pii(text) == []


def test_accented_text_maps_name_positions_back_to_the_original():
    text = "Grüße, ANNA  BÉRG war da"
    (finding,) = find_pii(text, names=["Anna Berg"])
    assert text[finding.start : finding.end] == "ANNA  BÉRG"


def test_redact_keeps_the_text_around_several_findings():
    text = "Anna Berg (anna@example.com, 192.168.1.20) on case 12345678."
    assert redact(text, find_pii(text, names=["Anna Berg"])) == (
        "[redacted:person_name] ([redacted:email], [redacted:ip_address]) "
        "on case [redacted:case_number]."
    )


def test_scan_value_prefixes_paths_and_checks_keys_and_integers():
    value = {"comment": "ok", "case": 12345678, "flags": [True, 0.35, None, "+49 170 1234567"]}
    assert scan_value(value, path="attributes") == [
        ("attributes.case", "case_number"),
        ("attributes.flags.3", "phone"),
    ]


def test_a_key_with_personal_data_is_redacted_in_the_path():
    value = {"a@b.de": {"note": "call +49 170 1234567"}}
    assert scan_value(value) == [
        ("[redacted:email]", "email"),
        ("[redacted:email].note", "phone"),
    ]


def test_redact_value_turns_an_integer_with_personal_data_into_text():
    assert redact_value({"case": 12345678, "count": 3, "ok": True}) == {
        "case": "[redacted:case_number]",
        "count": 3,
        "ok": True,
    }


# Known engineers: every run of one to three words is checked against the stored engineer codes.
KEY = b"unit-test-pseudonym-key-0123456789abcdef"
KNOWN = KnownEngineers(
    [
        engineer_code("Quintessa Marbleforge", KEY),
        engineer_code("Zoë", KEY),
        engineer_code("Anne-Marie O'Neil Duval", KEY),
    ],
    KEY,
)


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        ("quintessa marbleforge escalated too late", "[name] escalated too late"),
        ("QUINTESSA MARBLEFORGE escalated", "[name] escalated"),
        ("Quintéssa   Marblefórge escalated", "[name] escalated"),  # accents, extra spaces
        ("Quinte\u0301ssa Marbleforge", "[name]"),  # a decomposed accent
        ("call with Quintessa\nMarbleforge.", "call with [name]."),
        ("Quintessa Marbleforge's reply", "[name]'s reply"),
        ("Quintessa Marbleforge’s reply", "[name]’s reply"),
        ("handle quintessa.marbleforge or quintessa_marbleforge", "handle [name] or [name]"),
        ("ask zoe, then ZOË", "ask [name], then [name]"),  # one word
        ("anne-marie o’neil duval agreed", "[name] agreed"),  # three words
        ("(Quintessa Marbleforge)", "([name])"),
    ],
)
def test_a_known_engineers_name_is_found_in_any_case_and_form(text, redacted):
    findings = find_pii(text, known=KNOWN)
    assert {finding.kind for finding in findings} == {"person_name"}
    assert redact(text, findings).replace("[redacted:person_name]", "[name]") == redacted


@pytest.mark.parametrize(
    "text",
    [
        "quintessa, marbleforge",  # a comma between the words: not one name
        "Quintessa. Marbleforge",  # a sentence ends between them
        "quintessa 2 marbleforge",
        "quintessa marbleforges",  # another word
        "Quintessa alone",  # one word of a two-word name is no known name
        "Zoey and Zoo",
        "anne-marie o'neil",  # two of the three words
        "The customer waited.",
    ],
)
def test_other_word_runs_are_no_known_name(text):
    assert find_pii(text, known=KNOWN) == []


def test_without_known_engineers_no_name_is_looked_up():
    assert find_pii("quintessa marbleforge", known=KnownEngineers([], KEY)) == []
    assert find_pii("quintessa marbleforge") == []


def test_name_runs_are_one_to_three_words_that_join():
    assert name_runs("anna berg, was late. ok_go x's") == {
        "anna",
        "berg",
        "was",
        "late",
        "ok",
        "go",
        "x's",
        "x",
        "anna berg",
        "was late",
        "ok go",
        "go x's",
        "go x",
        "ok go x's",
        "ok go x",
    }


def test_known_names_are_found_in_attribute_values_and_keys():
    value = {"who": "Quintessa Marbleforge", "quintessa marbleforge": 1, "n": 2}
    assert scan_value(value, known=KNOWN) == [
        ("who", "person_name"),
        ("[redacted:person_name]", "person_name"),
    ]
    assert redact_value(value, known=KNOWN) == {
        "who": "[redacted:person_name]",
        "[redacted:person_name]": 1,
        "n": 2,
    }


@pytest.mark.parametrize("number", [73915847, 73915847.0])
def test_numbers_are_scanned_as_they_are_written(number):
    assert scan_value({"case": number}) == [("case", "case_number")]
    assert redact_value({"case": number}) == {"case": "[redacted:case_number]"}


@pytest.mark.parametrize("number", [0.5, 3.0, 1234.5, float("nan"), True])
def test_ordinary_numbers_are_left_alone(number):
    assert scan_value({"n": number}) == []


def test_a_stored_code_of_another_form_is_left_out_of_the_known_set():
    """A row written by hand (`eng_x`) can name no one; it must not make every check fail."""
    known = KnownEngineers(["eng_x", "", engineer_code("Quintessa Marbleforge", KEY)], KEY)
    assert len(known) == 1
    assert [f.kind for f in find_pii("quintessa marbleforge", known=known)] == ["person_name"]
