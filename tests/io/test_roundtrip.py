"""Write then read gives the same spans, in every format, on text that breaks naive code.

Texts mix CRLF, lone CR, tabs, combining accents, emoji and other non-BMP characters, NBSP
and U+2028; the spans are random (overlapping, discontinuous where the format allows).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clinicalner.document import Document, Span, make_span, surface
from clinicalner.io import read_corpus, write_corpus
from clinicalner.io.common import word_tokenizer

ALPHABET = "abXY01 \t\r\n.,;-()\"'áñ\u0301\u0308😀🏥𝔸漢\u00a0\u2028"
LABELS = ("DISEASE", "SYMPTOM")
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def documents(draw: st.DrawFn, discontinuous: bool = True, on_tokens: bool = False) -> list[Document]:
    docs = []
    for k in range(draw(st.integers(1, 3))):
        text = draw(st.text(alphabet=ALPHABET, max_size=60))
        spans: dict[tuple, Span] = {}
        if on_tokens:
            toks = word_tokenizer()(text, None)
            for _ in range(draw(st.integers(0, 6)) if toks else 0):
                i = draw(st.integers(0, len(toks) - 1))
                j = draw(st.integers(i, min(i + 3, len(toks) - 1)))
                s = make_span(toks[i][0], toks[j][1], draw(st.sampled_from(LABELS)))
                spans[s.key] = s
        elif text:
            for _ in range(draw(st.integers(0, 6))):
                a = draw(st.integers(0, len(text) - 1))
                b = draw(st.integers(a + 1, len(text)))
                frags = None
                if discontinuous and b - a >= 3 and draw(st.booleans()):
                    m = draw(st.integers(a + 1, b - 2))
                    frags = [(a, m), (m + 1, b)]
                s = make_span(a, b, draw(st.sampled_from(LABELS)), fragments=frags)
                spans[(s.key, s.fragments)] = s
        filled = [s.with_text(text) for s in spans.values()]
        docs.append(Document(str(1000 + k), text, filled, "es", None, {"folder": "es/dev/symptom"}))
    return docs


def _keys(docs: list[Document]) -> dict[str, list[tuple]]:
    return {d.id: sorted((s.key, s.fragments or ()) for s in d.spans) for d in docs}


def _round_trip(docs: list[Document], name: str, fmt: str) -> tuple[list[Document], int]:
    with tempfile.TemporaryDirectory() as tmp:
        report = write_corpus(docs, Path(tmp) / name, fmt)
        back = read_corpus(Path(tmp) / name).documents
    assert report.documents == len(docs)
    return back, report.lost


@SETTINGS
@given(documents())
def test_jsonl(docs: list[Document]) -> None:
    back, lost = _round_trip(docs, "c.jsonl", "jsonl")
    assert lost == 0
    assert [(d.id, d.text, d.spans, d.language, d.metadata["folder"]) for d in back] == [
        (d.id, d.text, d.spans, d.language, d.metadata["folder"]) for d in docs
    ]


@SETTINGS
@given(documents())
def test_brat(docs: list[Document]) -> None:
    back, lost = _round_trip(docs, "out", "brat")
    assert lost == 0
    assert [d.text for d in back] == [d.text for d in docs]
    assert _keys(back) == _keys(docs)
    for a, b in zip(docs, back, strict=True):
        assert [s.text for s in a.sorted_spans()] == [s.text for s in b.sorted_spans()]


@SETTINGS
@given(documents(discontinuous=False))
def test_tsv_tree(docs: list[Document]) -> None:
    back, lost = _round_trip(docs, "out", "tsv")
    assert lost == 0
    assert [d.text for d in back] == [d.text for d in docs]
    assert {d.id: d.sorted_spans() for d in back} == {d.id: d.sorted_spans() for d in docs}
    assert all(d.metadata["folder"] == "es/dev/symptom" for d in back)


@SETTINGS
@given(documents(discontinuous=False))
def test_bare_tsv(docs: list[Document]) -> None:
    back, lost = _round_trip(docs, "pred.tsv", "tsv")
    assert lost == 0
    # documents without spans do not appear in a bare TSV; the others keep spans and texts
    assert {d.id: d.sorted_spans() for d in back} == {d.id: d.sorted_spans() for d in docs if d.spans}


@SETTINGS
@given(documents(discontinuous=False))
def test_pubtator(docs: list[Document]) -> None:
    back, lost = _round_trip(docs, "c.pubtator", "pubtator")
    assert lost == 0
    assert _keys(back) == _keys(docs)
    for a, b in zip(docs, back, strict=True):
        # line breaks are written as spaces, one for one
        assert len(b.text) in (len(a.text), len(a.text) + 1)
        assert b.text[: len(a.text)] == a.text.replace("\r", " ").replace("\n", " ")


@SETTINGS
@given(documents(on_tokens=True))
def test_conll(docs: list[Document]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        report = write_corpus(docs, Path(tmp) / "c.conll", "conll")
        back = read_corpus(Path(tmp) / "c.conll").documents
    assert [d.id for d in back] == [d.id for d in docs]
    assert set(report.unrepresentable) <= {"overlaps another span of its type (BIO holds one per token)"}
    for a, b in zip(docs, back, strict=True):
        # whitespace is not kept (trailing whitespace not at all), every token is in its place
        assert len(b.text) <= len(a.text)
        assert all(c.isspace() or a.text[i] == c for i, c in enumerate(b.text))
        got = {s.key for s in b.spans}
        assert got <= {s.key for s in a.spans}
        for s in b.spans:
            assert s.text.split() == surface(a.text, s.start, s.end).split()
    assert sum(len(d.spans) for d in docs) - sum(len(d.spans) for d in back) == report.lost
    # without same-type overlaps nothing is lost
    for a, b in zip(docs, back, strict=True):
        by_label: dict[str, list[Span]] = {}
        for s in a.spans:
            by_label.setdefault(s.label, []).append(s)
        clean = all(not x.overlaps(y) for v in by_label.values() for i, x in enumerate(v) for y in v[i + 1 :])
        if clean:
            assert {s.key for s in b.spans} == {s.key for s in a.spans}


@SETTINGS
@given(documents())
def test_txt(docs: list[Document]) -> None:
    back, lost = _round_trip(docs, "out", "txt")
    assert lost == sum(len(d.spans) for d in docs)
    assert [(d.id, d.text) for d in back] == [(d.id, d.text) for d in docs]
