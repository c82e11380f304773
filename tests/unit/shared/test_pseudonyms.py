"""Pseudonyms: stable, normalisation-invariant, keyed and separated by kind."""

import pytest

from shared.pseudonyms import case_ref, engineer_code, is_case_ref, is_engineer_code

KEY = b"k" * 32


@pytest.mark.parametrize(
    "variant", ["Anna  Müller", "anna müller", "ANNA MÜLLER", " Anna Muller ", "anna\tmüller"]
)
def test_name_variants_share_one_code(variant):
    assert engineer_code(variant, KEY) == engineer_code("Anna Müller", KEY)


def test_codes_have_the_documented_form():
    code = engineer_code("Anna Berg", KEY)
    ref = case_ref("12345678", KEY)
    assert is_engineer_code(code) and len(code) == 28
    assert is_case_ref(ref) and len(ref) == 29
    assert not is_engineer_code(ref) and not is_case_ref(code)
    assert not is_engineer_code("eng_" + "A" * 24)


def test_another_key_gives_another_code():
    assert engineer_code("Anna Berg", KEY) != engineer_code("Anna Berg", b"x" * 32)


def test_engineer_and_case_domains_are_separate():
    assert engineer_code("12345678", KEY)[4:] != case_ref("12345678", KEY)[5:]


def test_code_does_not_contain_the_name():
    assert "anna" not in engineer_code("Anna Berg", KEY)
    assert engineer_code("Anna Berg", KEY) != engineer_code("Anna Bergh", KEY)
