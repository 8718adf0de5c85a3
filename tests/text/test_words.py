from __future__ import annotations

import csv
import time
from collections import defaultdict
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clinicalner.text.words import word_spans, words

from .hard_texts import HARD_TEXTS


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # numbers and units split; decimal commas and points stay inside the number
        ("ciprofloxacina 500mg cada 12 horas", ["ciprofloxacina", "500", "mg", "cada", "12", "horas"]),
        ("2,5 mg y 38.5ºC", ["2,5", "mg", "y", "38.5", "ºC"]),
        ("38,5 °C", ["38,5", "°C"]),
        ("leucocitos: 13.300mm3", ["leucocitos", ":", "13.300", "mm", "3"]),
        # unit fractions stay together, other slashes split
        ("Hb 6.8mg/dl", ["Hb", "6.8", "mg/dl"]),
        ("10 mg/kg/día", ["10", "mg/kg/día"]),
        ("creatinina 1,2 mg/dL; K 4 mEq/L", ["creatinina", "1,2", "mg/dL", ";", "K", "4", "mEq/L"]),
        ("HTA/DM", ["HTA", "/", "DM"]),
        ("c/8h", ["c", "/", "8", "h"]),
        # dotted abbreviations keep inner dots; the final dot is its own token
        ("p.ej. fiebre", ["p.ej", ".", "fiebre"]),
        ("vía i.v. cada", ["vía", "i.v", ".", "cada"]),
        ("T.A.C sin hallazgos", ["T.A.C", "sin", "hallazgos"]),
        ("t.ex. feber", ["t.ex", ".", "feber"]),
        ("aprox. 3 cm", ["aprox", ".", "3", "cm"]),
        ("Dr. García", ["Dr", ".", "García"]),
        # hyphens, apostrophes, parentheses: their own tokens
        ("COVID-19", ["COVID", "-", "19"]),
        ("Guillain-Barré", ["Guillain", "-", "Barré"]),
        ("dell'addome", ["dell", "'", "addome"]),
        ("Crohn's disease", ["Crohn", "'", "s", "disease"]),
        ("(HTA)", ["(", "HTA", ")"]),
        ("II/VI", ["II", "/", "VI"]),
        # dimensions and letter/digit boundaries
        ("masa de 4x4 cm", ["masa", "de", "4", "x", "4", "cm"]),
        ("1.5x0.8 mm", ["1.5", "x", "0.8", "mm"]),
        ("HbA1c 7%", ["HbA", "1", "c", "7", "%"]),
        ("insuficiencia renal7,8", ["insuficiencia", "renal", "7,8"]),
        # accents: precomposed, decomposed, Romanian comma-below, Czech
        ("e\u0301xito", ["e\u0301xito"]),
        ("hipertensiune arterială și", ["hipertensiune", "arterială", "și"]),
        ("bolest při námaze", ["bolest", "při", "námaze"]),
        ("hepato\u00adesplenomegalia", ["hepato\u00adesplenomegalia"]),
        ("m²", ["m²"]),
        # emoji and non-BMP characters
        ("dolor 😷 fiebre", ["dolor", "😷", "fiebre"]),
        ("👨\u200d⚕️ ok", ["👨\u200d⚕️", "ok"]),
        ("👍🏽🇪🇸", ["👍🏽", "🇪🇸"]),
        ("𝐀𝐁𝐂 𠜎𠜱", ["𝐀𝐁𝐂", "𠜎𠜱"]),
        ("中文医学文本。", ["中文医学文本", "。"]),
        # zero-width space separates, never a token
        ("a\u200bb", ["a", "b"]),
    ],
)
def test_words(text: str, expected: list[str]) -> None:
    assert words(text) == expected


def test_offsets_point_at_the_words_in_crlf_and_tabs() -> None:
    text = "TA:\t120/80 mmHg\r\nFC 88"
    spans = word_spans(text)
    assert spans == [(0, 2), (2, 3), (4, 7), (7, 8), (8, 10), (11, 15), (17, 19), (20, 22)]
    assert [text[a:b] for a, b in spans] == ["TA", ":", "120", "/", "80", "mmHg", "FC", "88"]


def test_language_does_not_change_the_segmentation() -> None:
    text = HARD_TEXTS[0]
    assert all(
        word_spans(text, lang) == word_spans(text) for lang in ("es", "en", "nl", "it", "ro", "sv", "cs")
    )


def _check_invariants(text: str) -> None:
    spans = word_spans(text)
    previous = 0
    covered = [False] * len(text)
    for a, b in spans:
        assert previous <= a < b <= len(text)
        assert not any(c.isspace() for c in text[a:b]), repr(text[a:b])
        covered[a:b] = [True] * (b - a)
        previous = b
    for i, c in enumerate(text):
        if not c.isspace() and c not in "\u200b\u2060\ufeff":
            assert covered[i], f"character {c!r} at {i} is in no word"


@pytest.mark.parametrize("text", HARD_TEXTS)
def test_hard_texts_keep_offsets_and_cover_every_visible_character(text: str) -> None:
    _check_invariants(text)


_ALPHABET = st.sampled_from(
    [
        *list("aáeéñoxXmgdlP0123456789.,;:-/()'\"%+°º \t\r\n"),
        "́",
        "\u200d",
        "\u200b",
        "️",
        "😷",
        "👍",
        "🏽",
        "🇪",
        "ş",
        "ř",
        "中",
        "Ω",
        "𝐀",
        "\u2028",
        "\xa0",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_ALPHABET, max_size=60).map("".join))
def test_words_never_span_whitespace_and_cover_everything(text: str) -> None:
    _check_invariants(text)


def test_fast_on_a_long_document() -> None:
    text = HARD_TEXTS[0] * 5000  # ~ 430 kB
    t0 = time.perf_counter()
    spans = word_spans(text)
    assert time.perf_counter() - t0 < 2.0
    assert len(spans) == 5000 * len(word_spans(HARD_TEXTS[0]))


def _read_multiclinai(root: Path) -> list[tuple[str, list[tuple[int, int]]]]:
    docs = []
    for tsv in sorted(root.glob("*/*/*/*.tsv")):
        by_file: dict[str, list[tuple[int, int]]] = defaultdict(list)
        with tsv.open(encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f, delimiter="\t"):
                by_file[row["filename"]].append((int(row["start_span"]), int(row["end_span"])))
        for name, spans in by_file.items():
            with (tsv.parent / "txt" / f"{name}.txt").open(encoding="utf-8", newline="") as f:
                docs.append((f.read(), spans))
    return docs


def test_multiclinai_gold_spans_start_and_end_on_word_boundaries(corpora_dir: Path) -> None:
    root = corpora_dir / "multiclinai-en-es"
    if not root.is_dir():
        pytest.skip("MultiClinAI corpus not available")
    total = misaligned = 0
    for text, spans in _read_multiclinai(root):
        ws = word_spans(text)
        starts = {a for a, _ in ws}
        ends = {b for _, b in ws}
        for a, b in spans:
            total += 1
            misaligned += a not in starts or b not in ends
    assert total > 10_000
    assert misaligned / total < 0.001
