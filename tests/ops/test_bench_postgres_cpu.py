"""The imports benchmark's PostgreSQL CPU by process: which process a title names, and what a
reading taken before and after a load attributes to it."""

from __future__ import annotations

import pytest

from bench.imports import _postgres_kind, cpu_spent


@pytest.mark.parametrize(
    ("title", "kind"),
    [
        ("postgres: cr_persistence cr_bench 127.0.0.1(37520) COPY", "backend cr_persistence"),
        (
            "postgres: cr_persistence cr_bench 127.0.0.1(33078) idle in transaction",
            "backend cr_persistence",
        ),
        ("postgres: postgres cr_bench [local] idle", "backend postgres"),
        ("postgres: autovacuum worker cr_bench", "autovacuum worker"),
        ("postgres: walwriter ", "walwriter"),
        ("postgres: background writer ", "background writer"),
        ("postgres: io worker 0", "io worker 0"),
    ],
)
def test_a_process_title_names_its_kind(title, kind):
    assert _postgres_kind(title) == kind


def test_the_cpu_spent_is_counted_by_kind_and_a_new_kind_from_zero():
    before = {"backend cr_persistence": 1.0, "walwriter": 0.5, "ended": 9.0}
    after = {
        "backend cr_persistence": 13.0,
        "walwriter": 1.3,
        "ended": 9.0,  # nothing ended meanwhile: not reported
        "autovacuum worker": 0.4,  # started during the load
    }
    assert cpu_spent(before, after) == pytest.approx(
        {"backend cr_persistence": 12.0, "walwriter": 0.8, "autovacuum worker": 0.4}
    )
