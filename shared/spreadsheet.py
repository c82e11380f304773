"""Text cells of CSV files people open in spreadsheets: a cell that a spreadsheet would run as a
formula is written with a leading apostrophe, and that apostrophe is taken off again on import."""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# The same test in PostgreSQL's regex syntax, for exports that PostgreSQL writes itself (COPY).
NEEDS_APOSTROPHE_SQL = "^'*[=+@\\t\\r-]"


def needs_apostrophe(text: str) -> bool:
    """Starts like a formula, after any number of apostrophes. Text that already begins with
    apostrophes before a formula gets one more, so that `restore` gives back exactly what was
    written (a note that really begins with `'=` keeps its apostrophe)."""
    return text.lstrip("'").startswith(FORMULA_STARTS)


def neutralise(text: str) -> str:
    return "'" + text if needs_apostrophe(text) else text


def restore(text: str) -> str:
    """Undo `neutralise`: one leading apostrophe goes, and only where `neutralise` put it."""
    return text[1:] if text[:1] == "'" and needs_apostrophe(text) else text
