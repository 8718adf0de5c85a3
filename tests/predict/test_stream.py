"""Streaming tagging: each distinct text once, per-type documents keep their types."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from clinicalner.document import Document, Span
from clinicalner.predict.stream import tag_stream


class CountingTagger:
    """Tags every 'fiebre' as SYMPTOM (score 0.9) and 'gripe' as DISEASE (score 0.3)."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def tag(self, documents: Iterable[Document]) -> Iterator[Document]:
        for doc in documents:
            self.seen.append(doc.id)
            spans = []
            for word, label, score in (("fiebre", "SYMPTOM", 0.9), ("gripe", "DISEASE", 0.3)):
                i = doc.text.find(word)
                if i >= 0:
                    spans.append(Span(i, i + len(word), label, word, score))
            yield doc.with_spans(spans)


def _doc(id: str, text: str, labels: set[str] | None = None) -> Document:
    return Document(id, text, [], "es", frozenset(labels) if labels else None)


def test_identical_texts_are_tagged_once_and_order_is_kept():
    docs = [
        _doc("a-sym", "fiebre y gripe", {"SYMPTOM"}),
        _doc("b", "sin fiebre"),
        _doc("a-dis", "fiebre y gripe", {"DISEASE"}),
    ]
    tagger = CountingTagger()
    out = list(tag_stream(tagger, docs, chunk_documents=1))
    assert [d.id for d in out] == ["a-sym", "b", "a-dis"]
    assert tagger.seen == ["a-sym", "b"]
    assert [s.label for s in out[0].spans] == ["SYMPTOM"]
    assert [s.label for s in out[2].spans] == ["DISEASE"]
    assert [s.label for s in out[1].spans] == ["SYMPTOM"]


def test_all_labels_and_threshold():
    docs = [_doc("a", "fiebre y gripe", {"SYMPTOM"})]
    out = list(tag_stream(CountingTagger(), docs, restrict_labels=False))
    assert sorted(s.label for s in out[0].spans) == ["DISEASE", "SYMPTOM"]
    out = list(tag_stream(CountingTagger(), docs, restrict_labels=False, threshold=0.5))
    assert [s.label for s in out[0].spans] == ["SYMPTOM"]


def test_cache_is_bounded():
    docs = [_doc(f"d{i}", f"fiebre {i % 3}") for i in range(12)]
    tagger = CountingTagger()
    out = list(tag_stream(tagger, docs, chunk_documents=2, cache_size=1))
    assert len(out) == 12 and all(len(d.spans) == 1 for d in out)
    # With one cached text, the three distinct texts keep coming back and are re-tagged.
    assert 3 < len(tagger.seen) <= 12
    tagger = CountingTagger()
    list(tag_stream(tagger, docs, chunk_documents=2))
    assert len(tagger.seen) == 3
