from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clinicalner.text.sentences import sentence_spans

from .hard_texts import HARD_TEXTS


def sentences(text: str, language: str | None = "es", **kwargs: bool) -> list[str]:
    return [text[a:b] for a, b in sentence_spans(text, language, **kwargs)]


def test_basic_split_keeps_decimals_and_abbreviations() -> None:
    text = "El Dr. García vio al paciente. Temperatura de 38.5 ºC. Dosis aprox. 3 mg i.v. cada 8 h. Fin"
    assert sentences(text) == [
        "El Dr. García vio al paciente.",
        "Temperatura de 38.5 ºC.",
        "Dosis aprox. 3 mg i.v. cada 8 h.",
        "Fin",
    ]


def test_sentence_final_unit_abbreviation_splits_before_a_capital() -> None:
    assert sentences("Se administró 500 mg. El paciente mejoró.") == [
        "Se administró 500 mg.",
        "El paciente mejoró.",
    ]
    assert sentences("Tomar 1 comp. cada 8 horas.") == ["Tomar 1 comp. cada 8 horas."]


def test_prefix_abbreviations_never_split() -> None:
    assert sentences("Ver p.ej. Hemoglobina baja y Fig. 2 del informe.") == [
        "Ver p.ej. Hemoglobina baja y Fig. 2 del informe."
    ]
    assert sentences("Cultivo: E. Coli y S. Aureus.", "es") == ["Cultivo: E. Coli y S. Aureus."]


@pytest.mark.parametrize(
    ("language", "text", "expected"),
    [
        ("en", "Seen by Dr. Smith vs. Jones e.g. Today. Then discharged.", 2),
        ("nl", "Patiënt o.a. Koorts bijv. Hoesten. Daarna ontslag.", 2),
        ("it", "Visto dal dott. Rossi, p.es. Febbre. Poi dimesso.", 2),
        ("ro", "Consultat de dr. Popescu, cca. 3 zile. Apoi externat.", 2),
        ("sv", "Patienten har t.ex. Feber och bl.a. Hosta. Sedan utskriven.", 2),
        ("cs", "Vyšetřen MUDr. Novákem, tj. Bez nálezu. Poté propuštěn.", 2),
    ],
)
def test_language_abbreviation_lists(language: str, text: str, expected: int) -> None:
    assert len(sentence_spans(text, language)) == expected


def test_lowercase_continuation_is_not_a_boundary() -> None:
    assert sentences("Refiere dolor etc. y fiebre. ¡ay! qué dolor.") == [
        "Refiere dolor etc. y fiebre. ¡ay! qué dolor."
    ]


def test_question_and_exclamation_and_closing_punctuation() -> None:
    text = '¿Dolor? Sí. Dijo "basta." Luego (ver nota.) Fin.'
    assert sentences(text) == ["¿Dolor?", "Sí.", 'Dijo "basta."', "Luego (ver nota.)", "Fin."]


def test_blank_lines_and_list_items_are_boundaries_with_crlf() -> None:
    text = "Antecedentes:\r\n- HTA\r\n- DM2\r\n\r\n1. Fiebre de 3 días.\r\n2. Tos seca\r\nLínea partida\r\ncontinúa aquí"
    assert sentences(text) == [
        "Antecedentes:",
        "- HTA",
        "- DM2",
        "1. Fiebre de 3 días.",
        "2. Tos seca\r\nLínea partida\r\ncontinúa aquí",
    ]


def test_paragraph_without_full_stop_ends_at_blank_line() -> None:
    assert sentences("Exploración normal\n\nAnalítica sin alteraciones\n") == [
        "Exploración normal",
        "Analítica sin alteraciones",
    ]


def test_every_line_mode() -> None:
    assert sentences("Inclusion: age > 18\nBMI < 30\n\nNo pregnancy", "en", every_line=True) == [
        "Inclusion: age > 18",
        "BMI < 30",
        "No pregnancy",
    ]


def test_emoji_and_non_latin_scripts() -> None:
    text = "Dolor 😷. Боль в груди. 中文医学文本。 Ελληνικά!"
    assert sentences(text) == ["Dolor 😷.", "Боль в груди.", "中文医学文本。", "Ελληνικά!"]


def _check_invariants(text: str, language: str | None = None) -> None:
    spans = sentence_spans(text, language)
    previous = 0
    covered = [False] * len(text)
    for a, b in spans:
        assert previous <= a < b <= len(text)
        assert not text[a].isspace() and not text[b - 1].isspace()
        covered[a:b] = [True] * (b - a)
        previous = b
    assert all(covered[i] for i, c in enumerate(text) if not c.isspace())


@pytest.mark.parametrize("text", HARD_TEXTS)
def test_hard_texts(text: str) -> None:
    _check_invariants(text)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([*list("Aa1. !?\n\r\t-)(»é😷"), "Dr.", "p.ej.", "i.v.", "1. "]), max_size=40))
def test_sentences_are_ordered_trimmed_and_cover_all_visible_text(pieces: list[str]) -> None:
    _check_invariants("".join(pieces), "es")
