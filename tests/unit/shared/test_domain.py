"""The agent's workflow rules: every message and normalisation of the spec's table."""

from datetime import UTC, datetime, timedelta

import pytest

from shared import domain


@pytest.mark.parametrize(
    "name",
    [
        "Anna Berg",
        "José Álvarez-Núñez",
        "O'Brien",
        "Zoë d’Arc",
        "  Anna   Berg  ",
        "Łukasz Żółć",
        "Ömer Çelik",
    ],
)
def test_valid_engineer_names(name):
    result = domain.check_engineer_name(name)
    assert result.valid
    assert result.normalized == " ".join(name.split())


@pytest.mark.parametrize(
    "name", ["R2-D2", "", "   ", "anna@berg", "Anna_Berg", "-'-", 42, "x" * 201]
)
def test_invalid_engineer_names_get_the_spec_message(name):
    result = domain.check_engineer_name(name)
    assert not result.valid
    assert result.code == "invalid_engineer_name"
    assert result.message == (
        "Invalid Engineer Name format — please enter only letters, spaces, hyphens, or apostrophes."
    )


@pytest.mark.parametrize(
    ("value", "normalized"),
    [("12345678", "12345678"), (" 00000001 ", "00000001"), (12345678, "12345678")],
)
def test_valid_case_numbers(value, normalized):
    assert domain.check_case_number(value).normalized == normalized


@pytest.mark.parametrize(
    "value", ["1234567", "123456789", "1234567a", "1234 5678", "", True, None, "１２３４５６７８"]
)
def test_invalid_case_numbers_get_the_spec_message(value):
    result = domain.check_case_number(value)
    assert not result.valid
    assert result.message == "Invalid Case Number — please enter exactly 8 digits."


UNSUPPORTED = "Unsupported language code entered. Supported codes: EN, DE, FR, IT, ES, TR, CS, PL."


@pytest.mark.parametrize(
    ("value", "normalized", "warned"),
    [
        ("EN, XX, de", ["EN", "DE"], True),
        (["fr", "FR", "pl"], ["FR", "PL"], False),
        ("xx yy", ["EN"], True),
        ("", ["EN"], False),
        ("tr;cs", ["TR", "CS"], False),
    ],
)
def test_languages_are_normalised_and_unsupported_codes_dropped(value, normalized, warned):
    result = domain.check_languages(value)
    assert result.valid
    assert result.normalized == normalized
    assert (result.message == UNSUPPORTED) is warned
    assert (result.code == "unsupported_language") is warned


def test_strict_languages_reject_instead_of_dropping():
    assert domain.parse_languages_strict("de, EN") == ["DE", "EN"]
    for bad in (["EN", "XX"], [], "", 5):
        with pytest.raises(ValueError):
            domain.parse_languages_strict(bad)


@pytest.mark.parametrize(
    ("value", "normalized"), [("series", "Series"), ("SINGLE", "Single"), (" Series ", "Series")]
)
def test_record_type_is_case_insensitive(value, normalized):
    assert domain.check_record_type(value).normalized == normalized


def test_invalid_record_type_gets_the_spec_message():
    result = domain.check_record_type("double")
    assert result.message == "Invalid record type — please enter 'Single' or 'Series' only."


@pytest.mark.parametrize(
    ("value", "valid"),
    [(2, True), ("5", True), (1, False), (6, False), ("three", False), (True, False)],
)
def test_series_part_count(value, valid):
    result = domain.check_part_count(value, "series")
    assert result.valid is valid
    if not valid:
        assert result.message == "Invalid entry — please enter a number between 2 and 5."


def test_single_record_has_one_part():
    assert domain.check_part_count(1, "single").valid
    assert not domain.check_part_count(2, "single").valid


@pytest.mark.parametrize(
    ("label", "value"),
    [
        ("Knowledge Gap", "knowledge_gap"),
        ("knowledge-gap", "knowledge_gap"),
        ("COMMUNICATION_ISSUE", "communication_issue"),
        ("Analytical Error", "analytical_error"),
        ("Process Issue", "process_issue"),
        ("Other", "other"),
    ],
)
def test_root_cause_labels(label, value):
    assert domain.normalize_root_cause(label) == value


def test_unknown_labels_raise():
    for function, value in (
        (domain.normalize_root_cause, "bad luck"),
        (domain.normalize_tone_label, "angry"),
        (domain.normalize_record_type, "double"),
        (domain.normalize_language_code, "xx"),
    ):
        with pytest.raises(ValueError):
            function(value)


@pytest.mark.parametrize(
    ("analysis", "translation", "languages", "overall"),
    [
        (0.9, 0.8, ["EN", "DE"], 0.87),
        (0.5, 1.0, ["DE"], 0.65),
        (0.45, None, ["EN", "DE"], 0.45),
        (0.6, 0.2, ["EN"], 0.6),
    ],
)
def test_overall_confidence(analysis, translation, languages, overall):
    assert domain.overall_confidence(analysis, translation, languages) == overall


@pytest.mark.parametrize(
    ("overall", "rating"),
    [
        (0.8, "High"),
        (0.79999, "Medium"),
        (0.5, "Medium"),
        (0.49999, "Low"),
        (1.0, "High"),
        (0.0, "Low"),
        (0.7 * 0.8 + 0.3 * 0.8, "High"),
    ],
)
def test_confidence_rating_boundaries(overall, rating):
    assert domain.confidence_rating(overall) == rating


@pytest.mark.parametrize(
    ("score", "tone"),
    [(0.0, "negative"), (0.39, "negative"), (0.4, "neutral"), (0.59, "neutral"), (0.6, "positive")],
)
def test_default_tone(score, tone):
    assert domain.tone_for_sentiment(score) == tone


def test_every_message_is_the_specs_text():
    assert domain.MESSAGES == {
        "invalid_engineer_name": (
            "Invalid Engineer Name format — please enter only letters, spaces, hyphens, "
            "or apostrophes."
        ),
        "invalid_case_number": "Invalid Case Number — please enter exactly 8 digits.",
        "unsupported_language": UNSUPPORTED,
        "invalid_record_type": "Invalid record type — please enter 'Single' or 'Series' only.",
        "invalid_part_count": "Invalid entry — please enter a number between 2 and 5.",
        "incomplete_review": (
            "Incomplete or invalid data detected — please update the highlighted field(s)."
        ),
    }


def test_defaults_and_restart_threshold():
    assert domain.DEFAULTS == {"languages": ["EN"], "record_type": "Single"}
    assert domain.RESTART_AFTER_ATTEMPTS == 3
    assert domain.SUPPORTED_LANGUAGES == ("EN", "DE", "FR", "IT", "ES", "TR", "CS", "PL")
    assert domain.ROOT_CAUSES == (
        "communication_issue",
        "knowledge_gap",
        "analytical_error",
        "process_issue",
        "other",
    )


def test_valid_result_carries_no_code_message_or_warning():
    assert domain.check_engineer_name("Anna Berg") == domain.RuleResult(
        valid=True, normalized="Anna Berg", code=None, message=None, warnings=()
    )


def test_rule_results_are_immutable():
    result = domain.check_case_number("12345678")
    with pytest.raises(AttributeError):
        result.valid = False


def test_decomposed_accents_are_accepted_and_composed():
    result = domain.check_engineer_name("Jose\u0301 Mu\u0308ller")
    assert result.valid
    assert result.normalized == "José Müller"


@pytest.mark.parametrize("value", [1234, 1234567, 123456789, -12345678])
def test_integer_case_numbers_need_eight_digits_themselves(value):
    result = domain.check_case_number(value)
    assert not result.valid
    assert result.code == "invalid_case_number"


def test_case_number_keeps_leading_zeros_and_ignores_surrounding_space():
    assert domain.check_case_number(" 00012345\n").normalized == "00012345"


def test_dropped_language_codes_leave_one_warning_with_the_spec_text():
    result = domain.check_languages("EN, XX, de")
    assert result == domain.RuleResult(
        valid=True,
        normalized=["EN", "DE"],
        code="unsupported_language",
        message=UNSUPPORTED,
        warnings=(UNSUPPORTED,),
    )


@pytest.mark.parametrize("value", [None, 5, ["EN", 3]])
def test_languages_that_are_no_text_fall_back_to_english_with_a_warning(value):
    result = domain.check_languages(value)
    assert result.normalized == ["EN"]
    assert result.warnings == (UNSUPPORTED,)


def test_strict_language_error_never_repeats_the_value():
    with pytest.raises(ValueError) as raised:
        domain.parse_languages_strict("EN, Quirinus")
    assert "Quirinus" not in str(raised.value)
    assert str(raised.value) == "unsupported language code"


@pytest.mark.parametrize(("value", "code"), [("de", "DE"), (" pl ", "PL"), ("Cs", "CS")])
def test_language_code_is_upper_case(value, code):
    assert domain.normalize_language_code(value) == code


@pytest.mark.parametrize("value", [None, 3, ["EN"], "", "ENG"])
def test_language_code_that_is_not_supported_text_raises(value):
    with pytest.raises(ValueError):
        domain.normalize_language_code(value)


@pytest.mark.parametrize(
    ("value", "normalized"), [("Series", "series"), ("SINGLE", "single"), (" single ", "single")]
)
def test_record_type_for_the_api_is_lower_case(value, normalized):
    assert domain.normalize_record_type(value) == normalized


@pytest.mark.parametrize("value", ["", "singles", None, 1])
def test_invalid_record_types(value):
    result = domain.check_record_type(value)
    assert not result.valid
    assert result.code == "invalid_record_type"


@pytest.mark.parametrize(
    ("label", "value"),
    [
        ("knowledge gap", "knowledge_gap"),
        ("Knowledge-Gap", "knowledge_gap"),
        ("KNOWLEDGE_GAP", "knowledge_gap"),
        ("Communication Issue", "communication_issue"),
        (" communication_issue ", "communication_issue"),
        ("OTHER", "other"),
    ],
)
def test_root_cause_spellings(label, value):
    assert domain.normalize_root_cause(label) == value


@pytest.mark.parametrize(
    ("label", "value"),
    [("Positive", "positive"), ("NEUTRAL", "neutral"), (" negative ", "negative")],
)
def test_tone_labels_are_lower_case(label, value):
    assert domain.normalize_tone_label(label) == value


@pytest.mark.parametrize("value", [None, 0.5, "", "very positive"])
def test_invalid_tone_labels_raise(value):
    with pytest.raises(ValueError):
        domain.normalize_tone_label(value)


@pytest.mark.parametrize(
    ("languages", "overall"), [("EN", 0.6), (["en"], 0.6), ((), 0.48), (["EN", "FR"], 0.48)]
)
def test_overall_confidence_is_analysis_alone_for_english_only_output(languages, overall):
    assert domain.overall_confidence(0.6, 0.2, languages) == overall


def test_overall_confidence_is_rounded_to_four_places():
    assert domain.overall_confidence(0.12345, 0.98765, ["DE"]) == 0.3827


def test_duration_in_whole_seconds():
    start = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    assert domain.duration_seconds(start, start + timedelta(minutes=2, seconds=5.9)) == 125
    assert domain.duration_seconds(start, None) is None
    assert domain.duration_seconds(None, start) is None


@pytest.mark.parametrize(
    "value",
    [
        "Anna Berg",
        "  anna   berg ",
        "O'Neil-Smith",
        "Anna2",
        "",
        "   ",
        "-",
        "'",
        "x" * 200,
        "x" * 201,
        " " + "x" * 200 + " ",
        "José Núñez",
        "Zoë\u0301",
        "Anna\tBerg",
        12345678,
        None,
    ],
)
def test_the_quick_name_check_agrees_with_the_rule(value):
    assert domain.is_engineer_name(value) == domain.check_engineer_name(value).valid


@pytest.mark.parametrize(
    "value",
    [
        "12345678",
        " 12345678 ",
        "1234567",
        "123456789",
        "1234567a",
        "１２３４５６７８",
        12345678,
        1234,
        True,
        None,
        "",
    ],
)
def test_the_quick_case_number_check_agrees_with_the_rule(value):
    assert domain.is_case_number(value) == domain.check_case_number(value).valid
