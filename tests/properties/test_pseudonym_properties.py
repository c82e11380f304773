"""Pseudonyms are stable, the same for every way of writing one name, distinct for different
names, different under another key, and always of one shape."""

import re
import unicodedata

from hypothesis import assume, given
from hypothesis import strategies as st

from shared.pseudonyms import case_ref, engineer_code, normalize_identity

KEY, OTHER_KEY = b"k" * 32, b"o" * 32
LETTERS = "abcdefghijklmnopqrstuvwxyzäöüéèêáàçñåøłß"
WORD = st.text(alphabet=LETTERS, min_size=1, max_size=12)
NAMES = st.lists(WORD, min_size=1, max_size=4).map(" ".join)
CODE = re.compile(r"^eng_[a-z2-7]{24}$")


def spellings(name: str) -> list[str]:
    """Ways people and old tools write the same name."""
    return [
        name.upper(),
        name.title(),
        "  " + name.replace(" ", "   ") + "\t",
        unicodedata.normalize("NFD", name),
        unicodedata.normalize("NFC", name),
        "".join(c for c in unicodedata.normalize("NFD", name) if not unicodedata.combining(c)),
    ]


@given(NAMES)
def test_one_name_one_pseudonym_however_it_is_written(name):
    code = engineer_code(name, KEY)
    assert CODE.match(code)
    for spelling in spellings(name):
        assert engineer_code(spelling, KEY) == code, spelling


@given(NAMES, NAMES)
def test_different_names_get_different_pseudonyms(first, second):
    assume(normalize_identity(first) != normalize_identity(second))
    assert engineer_code(first, KEY) != engineer_code(second, KEY)


@given(NAMES)
def test_another_key_gives_another_pseudonym(name):
    assert engineer_code(name, KEY) != engineer_code(name, OTHER_KEY)


@given(st.integers(0, 99_999_999))
def test_case_numbers_are_stable_and_distinct_from_engineers(number):
    text = f"{number:08d}"
    assert case_ref(text, KEY) == case_ref(f" {text} ", KEY)
    assert case_ref(text, KEY) != engineer_code(text, KEY)
