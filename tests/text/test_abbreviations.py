from __future__ import annotations

import pytest

from clinicalner.text.abbreviations import (
    LANGUAGES,
    abbreviation_kind,
    other_abbreviations,
    prefix_abbreviations,
)


@pytest.mark.parametrize(
    ("word", "language", "kind"),
    [
        ("Dr", "es", "prefix"),
        ("Sra", "es", "prefix"),
        ("p.ej", "es", "prefix"),
        ("aprox", "es", "other"),
        ("etc", "es", "other"),
        ("mg", "es", "other"),
        ("i.v", "es", "other"),
        ("e.g", "en", "prefix"),
        ("bijv", "nl", "prefix"),
        ("dott.ssa", "it", "prefix"),
        ("cca", "ro", "prefix"),
        ("t.ex", "sv", "prefix"),
        ("MUDr", "cs", "prefix"),
        ("např", "cs", "prefix"),
        ("b.i.d", "es", "other"),  # unlisted, but a dotted form
        ("E", "en", "prefix"),  # an initial: E. coli
        ("paciente", "es", None),
        ("fiebre", None, None),
    ],
)
def test_abbreviation_kind(word: str, language: str | None, kind: str | None) -> None:
    assert abbreviation_kind(word, language) == kind


def test_every_language_has_lists_and_none_is_the_union() -> None:
    for language in LANGUAGES:
        assert prefix_abbreviations(language) and other_abbreviations(language)
        assert prefix_abbreviations(language) <= prefix_abbreviations(None)
        assert not prefix_abbreviations(language) & other_abbreviations(language)


def test_a_language_list_does_not_leak_into_another() -> None:
    assert abbreviation_kind("bijv", "es") is None
    assert abbreviation_kind("bijv", None) == "prefix"
