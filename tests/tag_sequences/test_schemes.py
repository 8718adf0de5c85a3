from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clinicalner.document import Span, make_span
from clinicalner.tag_sequences.schemes import (
    SCHEMES,
    chunks,
    chunks_to_tags,
    parse_tag,
    spans_to_tags,
    tag_names,
    tags_to_spans,
)
from clinicalner.text.words import word_spans

TEXT = "Paciente con diabetes mellitus tipo 2\r\ny HTA/DM, fiebre 😷 de 38,5 °C."


def span_of(text: str, surface: str, label: str, occurrence: int = 0) -> Span:
    start = -1
    for _ in range(occurrence + 1):
        start = text.index(surface, start + 1)
    return Span(start, start + len(surface), label)


def test_tag_names() -> None:
    assert tag_names(["DISEASE", "SYMPTOM"], "BIO") == [
        "O",
        "B-DISEASE",
        "I-DISEASE",
        "B-SYMPTOM",
        "I-SYMPTOM",
    ]
    assert tag_names(["X"], "io") == ["O", "I-X"]
    assert tag_names(["X"], "BIOES") == ["O", "B-X", "I-X", "E-X", "S-X"]
    assert tag_names(None, "BIO") == ["O", "B", "I"]
    assert tag_names(None, "BIOES") == ["O", "B", "I", "E", "S"]
    with pytest.raises(ValueError, match="unknown tagging scheme"):
        tag_names(["X"], "BILOU")
    with pytest.raises(ValueError, match="duplicate"):
        tag_names(["X", "X"], "BIO")


def test_parse_tag_keeps_dashes_in_labels() -> None:
    assert parse_tag("B-GENE-VARIANT") == ("B", "GENE-VARIANT")
    assert parse_tag("I") == ("I", None)
    assert parse_tag("O") == ("O", None)
    with pytest.raises(ValueError):
        parse_tag("X-DISEASE")
    with pytest.raises(ValueError):
        parse_tag("B-")


@pytest.mark.parametrize(
    ("scheme", "expected"),
    [
        ("BIO", ["O", "O", "B-D", "I-D", "I-D", "I-D", "O", "B-D", "O", "B-D", "O", "B-S", "O"]),
        ("IO", ["O", "O", "I-D", "I-D", "I-D", "I-D", "O", "I-D", "O", "I-D", "O", "I-S", "O"]),
        ("BIOES", ["O", "O", "B-D", "I-D", "I-D", "E-D", "O", "S-D", "O", "S-D", "O", "S-S", "O"]),
    ],
)
def test_spans_to_tags_and_back_on_crlf_text(scheme: str, expected: list[str]) -> None:
    words = word_spans(TEXT)
    spans = [
        span_of(TEXT, "diabetes mellitus tipo 2", "D"),
        span_of(TEXT, "HTA", "D"),
        span_of(TEXT, "DM", "D"),
        span_of(TEXT, "fiebre", "S"),
    ]
    result = spans_to_tags(words, spans, scheme)
    assert result.tags[: len(expected)] == expected
    assert not result.misaligned and not result.conflicts and not result.unplaceable
    back = tags_to_spans(result.tags, words, scheme, text=TEXT)
    assert [(s.start, s.end, s.label) for s in back] == [(s.start, s.end, s.label) for s in spans]
    assert all(s.text == TEXT[s.start : s.end] for s in back)


def test_per_type_sequences_allow_cross_type_overlap() -> None:
    words = word_spans(TEXT)
    disease = span_of(TEXT, "diabetes mellitus tipo 2", "DISEASE")
    symptom = span_of(TEXT, "diabetes", "SYMPTOM")
    d = spans_to_tags(words, [disease, symptom], "BIO", label="DISEASE")
    s = spans_to_tags(words, [disease, symptom], "BIO", label="SYMPTOM")
    assert d.tags[2:7] == ["B", "I", "I", "I", "O"]
    assert s.tags[2:4] == ["B", "O"]
    assert tags_to_spans(d.tags, words, "BIO", label="DISEASE") == [
        Span(disease.start, disease.end, "DISEASE")
    ]
    assert tags_to_spans(s.tags, words, "BIO", label="SYMPTOM") == [
        Span(symptom.start, symptom.end, "SYMPTOM")
    ]
    with pytest.raises(ValueError, match="label="):
        tags_to_spans(d.tags, words, "BIO")


def test_overlap_in_one_sequence_keeps_the_longer_and_reports_the_other() -> None:
    words = word_spans(TEXT)
    outer = span_of(TEXT, "diabetes mellitus", "D")
    inner = span_of(TEXT, "mellitus", "D")
    result = spans_to_tags(words, [inner, outer], "BIO")
    assert result.conflicts == [inner]
    assert tags_to_spans(result.tags, words, "BIO") == [Span(outer.start, outer.end, "D")]


def test_misaligned_and_unplaceable_spans_are_reported() -> None:
    words = word_spans(TEXT)
    cut = Span(TEXT.index("betes"), TEXT.index("betes") + 5, "D")  # inside "diabetes"
    blank = Span(TEXT.index("\r\n"), TEXT.index("\r\n") + 2, "D")  # only whitespace
    result = spans_to_tags(words, [cut, blank], "BIO")
    assert result.misaligned == [cut]
    assert result.unplaceable == [blank]
    # the cut span is widened to the word it overlaps
    (back,) = tags_to_spans(result.tags, words, "BIO", text=TEXT)
    assert back.text == "diabetes"


def test_discontinuous_span_is_written_per_fragment() -> None:
    text = "dolor en rodilla y cadera izquierda"
    words = word_spans(text)
    span = make_span(0, 35, "S", fragments=[(0, 16), (19, 35)])
    result = spans_to_tags(words, [span], "BIO")
    assert result.tags == ["B-S", "I-S", "I-S", "O", "B-S", "I-S"]


def test_tags_to_spans_emoji_and_non_latin() -> None:
    text = "боль 😷 в груди, 中文 Ελληνικά"
    words = word_spans(text)
    tags = ["B-S", "I-S", "O", "B-S", "O", "B-X", "B-Y"]
    spans = tags_to_spans(tags, words, "BIO", text=text)
    assert [s.text for s in spans] == ["боль 😷", "груди", "中文", "Ελληνικά"]
    assert all(s.text == text[s.start : s.end] for s in spans)


def test_chunks_lenient_policy() -> None:
    assert chunks(["O", "I-X", "I-X", "I-Y", "O"]) == [(1, 3, "X"), (3, 4, "Y")]
    assert chunks(["B-X", "E-X", "E-X", "S-Y", "I-Y"]) == [(0, 2, "X"), (2, 3, "X"), (3, 4, "Y"), (4, 5, "Y")]
    assert chunks(["I", "I", "O", "B", "B"]) == [(0, 2, None), (3, 4, None), (4, 5, None)]


def test_io_cannot_separate_adjacent_mentions_of_one_type() -> None:
    assert chunks_to_tags([(0, 1, "X"), (1, 2, "X")], 2, "IO") == ["I-X", "I-X"]
    assert chunks(chunks_to_tags([(0, 1, "X"), (1, 2, "X")], 2, "IO")) == [(0, 2, "X")]


def test_length_mismatch_is_an_error() -> None:
    with pytest.raises(ValueError, match="tags for"):
        tags_to_spans(["O"], [(0, 1), (2, 3)], "BIO")


_WORD = st.sampled_from(
    ["fiebre", "dolor", "😷", "HTA", "/", "-", "Боль", "中文", "é", "(", ")", "38,5", "mg/dl"]
)
_SPACE = st.sampled_from([" ", "\t", "\r\n", "  ", "\n\n"])


@st.composite
def texts_with_spans(draw: st.DrawFn, scheme: str, labels: tuple[str, ...]) -> tuple[str, list[Span]]:
    tokens = draw(st.lists(_WORD, min_size=1, max_size=25))
    spaces = draw(st.lists(_SPACE, min_size=len(tokens), max_size=len(tokens)))
    text = "".join(t + s for t, s in zip(tokens, spaces, strict=True))
    words = word_spans(text)
    n = len(words)
    spans: list[Span] = []
    i = draw(st.integers(0, 2))
    previous_label: str | None = None
    while i < n:
        length = draw(st.integers(1, min(4, n - i)))
        label = draw(st.sampled_from(labels))
        if scheme == "IO" and label == previous_label and spans and spans[-1].end == words[i - 1][1]:
            i += 1  # IO cannot separate adjacent mentions of one type: leave a gap
            continue
        spans.append(Span(words[i][0], words[i + length - 1][1], label))
        previous_label = label
        i += length + draw(st.integers(0, 2))
    return text, spans


@pytest.mark.parametrize("scheme", SCHEMES)
@settings(max_examples=120, deadline=None)
@given(data=st.data())
def test_round_trip_for_word_aligned_non_overlapping_spans(scheme: str, data: st.DataObject) -> None:
    text, spans = data.draw(texts_with_spans(scheme, ("A", "B-C")))
    words = word_spans(text)
    result = spans_to_tags(words, spans, scheme)
    assert not result.misaligned and not result.conflicts and not result.unplaceable
    back = tags_to_spans(result.tags, words, scheme, text=text)
    assert [s.key for s in back] == [s.key for s in spans]
    assert all(s.text == text[s.start : s.end] for s in back)
    for label in ("A", "B-C"):
        one = spans_to_tags(words, spans, scheme, label=label)
        assert all(t in tag_names(None, scheme) for t in one.tags)
        assert [s.key for s in tags_to_spans(one.tags, words, scheme, label=label)] == [
            s.key for s in spans if s.label == label
        ]
