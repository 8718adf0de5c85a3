from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clinicalner.document import Span, make_span
from clinicalner.predict.postprocess import (
    PostprocessConfig,
    deduplicate,
    merge_spans,
    postprocess,
    snap_to_words,
    trim_span,
)

NOTHING = PostprocessConfig(snap_to_words=False, trim=False, merge=False, drop_short=False)


def at(text: str, surface: str, label: str = "X", score: float | None = None, occurrence: int = 0) -> Span:
    start = -1
    for _ in range(occurrence + 1):
        start = text.index(surface, start + 1)
    return Span(start, start + len(surface), label, score=score)


def texts(text: str, spans: list[Span], config: PostprocessConfig = PostprocessConfig()) -> list[str]:
    out = postprocess(text, spans, config)
    assert all(s.text == text[s.start : s.end] for s in out)
    return [s.text for s in out]


def test_snap_extends_spans_that_cut_words() -> None:
    text = "dolor torácico\r\nintenso"
    assert texts(text, [at(text, "or torác")]) == ["dolor torácico"]
    assert texts(text, [at(text, "ácico\r\nint")]) == ["torácico\r\nintenso"]
    # already on boundaries: unchanged, and the same object comes back
    span = at(text, "dolor")
    assert snap_to_words(text, [span]) == [span]


def test_snap_keeps_number_and_unit_apart_and_respects_emoji() -> None:
    text = "500mg de 😷👍🏽 hoy"
    assert texts(text, [at(text, "500")]) == ["500"]
    assert texts(text, [Span(text.index("👍"), text.index("👍") + 1, "X")]) == ["👍🏽"]


@pytest.mark.parametrize(
    ("text", "surface", "expected"),
    [
        ("Dolor (abdominal), fiebre", "(abdominal),", "abdominal"),
        ("Dolor (abdominal), fiebre", " (abdominal)", "abdominal"),
        ("hepatitis C (VHC). Luego", "hepatitis C (VHC). ", "hepatitis C (VHC)"),
        ("una lesión (sub)aguda, sin", "(sub)aguda,", "(sub)aguda"),
        ("dolor torácico) y", "dolor torácico)", "dolor torácico"),
        ("y (dolor torácico", "(dolor torácico", "dolor torácico"),
        ('Dijo "fiebre" ayer', '"fiebre"', "fiebre"),
        ("Dijo «fiebre alta» ayer", "«fiebre alta", "fiebre alta"),
        ("- fiebre;", "- fiebre;", "fiebre"),
        ("¿dolor?", "¿dolor?", "dolor"),
        ("fiebre\t", "fiebre\t", "fiebre"),
        ("saturación 98%.", "saturación 98%.", "saturación 98%"),
        ("linfocitos CD4+, ", "linfocitos CD4+,", "linfocitos CD4+"),
        # the final dot of a dotted abbreviation stays, unless a sentence end follows it
        ("vía i.v. cada 8 h", "vía i.v.", "vía i.v."),
        ("se realizó T.A.C. de tórax", "T.A.C.", "T.A.C."),
        ("se realizó T.A.C.\r\n\r\nEn la", "T.A.C.", "T.A.C"),
        ("Exploración C.C.: rítmico", "C.C.", "C.C"),
        # single-word abbreviations lose the dot: it is nearly always a full stop
        ("dosis de 500 mg. El", "500 mg.", "500 mg"),
    ],
)
def test_trim(text: str, surface: str, expected: str) -> None:
    assert texts(text, [at(text, surface)], PostprocessConfig(snap_to_words=False, merge=False)) == [expected]


def test_trim_to_nothing_drops_the_span() -> None:
    text = "fiebre, (tos)"
    assert trim_span(text, at(text, ", (")) is None
    assert texts(text, [at(text, ", ("), at(text, "tos")]) == ["tos"]


def test_merge_same_type_split_by_hyphen_slash_or_space() -> None:
    text = "COVID-19 y HTA/DM con dolor abdominal, fiebre"
    spans = [
        at(text, "COVID", "D", 0.9),
        at(text, "19", "D", 0.8),
        at(text, "HTA", "D", 0.7),
        at(text, "DM", "D", 0.95),
        at(text, "dolor", "S"),
        at(text, "abdominal", "S", 0.6),
        at(text, "fiebre", "S"),
    ]
    out = postprocess(text, spans)
    assert [(s.text, s.label, s.score) for s in out] == [
        ("COVID-19", "D", 0.8),
        ("HTA/DM", "D", 0.7),
        ("dolor abdominal", "S", 0.6),
        ("fiebre", "S", None),  # a comma is not a joiner
    ]


def test_merge_respects_type_gap_and_joiners() -> None:
    text = "dolor  abdominal y fiebre-tos"
    dolor, abdominal = at(text, "dolor"), at(text, "abdominal")
    assert len(merge_spans(text, [dolor, abdominal], max_gap=1)) == 2  # two spaces
    assert len(merge_spans(text, [dolor, abdominal], max_gap=2)) == 1
    fiebre, tos = at(text, "fiebre", "S"), at(text, "tos", "D")
    assert len(merge_spans(text, [fiebre, tos])) == 2  # different types never merge
    assert len(merge_spans(text, [at(text, "fiebre"), at(text, "tos")], joiners=" /")) == 2


def test_merge_overlapping_same_type_spans() -> None:
    text = "insuficiencia renal aguda"
    out = postprocess(text, [at(text, "insuficiencia renal"), at(text, "renal aguda")])
    assert [s.text for s in out] == ["insuficiencia renal aguda"]


def test_drop_short_keeps_upper_case_abbreviations() -> None:
    text = "K 3,2 y a b de x"
    spans = [at(text, "K"), at(text, "a"), at(text, "x"), at(text, "de")]
    assert texts(text, spans, PostprocessConfig(merge=False)) == ["K", "de"]
    strict = PostprocessConfig(merge=False, keep_upper_abbreviations=False, min_length=3)
    assert texts(text, spans, strict) == []


def test_threshold_on_score() -> None:
    text = "fiebre y tos"
    spans = [at(text, "fiebre", score=0.4), at(text, "tos", score=0.9), at(text, "y", score=None)]
    out = postprocess(text, spans, PostprocessConfig(min_score=0.5, drop_short=False, merge=False))
    assert [s.text for s in out] == ["y", "tos"]


def test_every_step_can_be_switched_off() -> None:
    text = "(dolor torá"
    spans = [at(text, "(dolor tor")]
    assert texts(text, spans, NOTHING) == ["(dolor tor"]


def test_output_sorted_deduplicated_best_score_and_discontinuous_untouched() -> None:
    text = "dolor en rodilla y cadera"
    disc = make_span(0, 25, "S", fragments=[(0, 16), (19, 25)])
    spans = [
        at(text, "rodilla", "S", 0.3),
        at(text, "dolor", "S", 0.5),
        at(text, "rodilla", "S", 0.8),
        at(text, "rodilla", "D", 0.1),
        disc,
    ]
    out = postprocess(text, spans, PostprocessConfig(merge=False))
    assert [(s.start, s.end, s.label, s.score) for s in out] == [
        (0, 5, "S", 0.5),
        (0, 25, "S", None),
        (9, 16, "D", 0.1),
        (9, 16, "S", 0.8),
    ]
    assert out[1].fragments == ((0, 16), (19, 25)) and out[1].text == "dolor en rodilla cadera"


def test_deduplicate_prefers_scored_spans() -> None:
    a, b = Span(0, 3, "X"), Span(0, 3, "X", score=0.2)
    assert deduplicate([a, b]) == [b]
    assert deduplicate([b, a]) == [b]


def test_span_outside_text_is_an_error() -> None:
    with pytest.raises(ValueError, match="outside"):
        postprocess("abc", [Span(1, 9, "X")])


HARD = [
    "Paciente de 67 años con dolor torácico\r\nTA: 120/80 mmHg\tFC 88 lpm (HTA).",
    "Pacient přichází pro bolest na hrudi — dušnost 😷 při námaze; MUDr. Novák i.v. 👨\u200d⚕️",
    "Ελληνικά κείμενο, русский текст: боль в груди. 中文医学文本。 e\u0301xito 𝐀𝐁𝐂",
]


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(HARD), st.data())
def test_offsets_are_sacred_on_hard_texts(text: str, data: st.DataObject) -> None:
    spans = []
    for _ in range(data.draw(st.integers(0, 6))):
        start = data.draw(st.integers(0, len(text) - 1))
        end = data.draw(st.integers(start + 1, min(len(text), start + 30)))
        spans.append(Span(start, end, data.draw(st.sampled_from(["A", "B"])), score=0.5))
    out = postprocess(text, spans)
    assert out == sorted(out, key=lambda s: (s.start, s.end, s.label))
    assert len({s.key for s in out}) == len(out)
    for span in out:
        assert 0 <= span.start < span.end <= len(text)
        assert span.text == text[span.start : span.end]
        assert not span.text[0].isspace() and not span.text[-1].isspace()
        # snapping keeps an emoji with its skin-tone modifier
        assert not ("\U0001f3fb" <= text[span.start] <= "\U0001f3ff")
