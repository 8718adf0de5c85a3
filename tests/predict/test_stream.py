"""Streaming tagging: each distinct text once, per-type documents keep their types."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import pytest

from clinicalner.document import Document, Span
from clinicalner.predict.stream import distinct_texts, tag_distinct, tag_stream, widened_labels


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


def test_widened_labels_are_the_types_added_for_other_copies() -> None:
    text = "abc def"
    docs = [
        Document("a", text, [], "en", frozenset({"A"})),
        Document("b", text, [], "en", frozenset({"B"})),
        Document("c", text, [], "es", frozenset({"C"})),  # another language: tagged alone
        Document("d", "other", [], "en", None),
    ]
    assert widened_labels(docs) == [frozenset({"B"}), frozenset({"A"}), frozenset(), frozenset()]
    unique, where = distinct_texts(docs)
    assert [d.id for d in unique] == ["a", "c", "d"] and where == [0, 0, 1, 2]
    assert unique[0].annotated_labels == {"A", "B"}


def test_tag_distinct_tags_each_text_once_and_every_copy_gets_the_result() -> None:
    docs = [
        _doc("a-sym", "fiebre y gripe", {"SYMPTOM"}),
        _doc("a-dis", "fiebre y gripe", {"DISEASE"}),
        Document("a-en", "fiebre y gripe", [], "en", None),  # same text, another language
    ]
    tagger = CountingTagger()
    ticks: list[int] = []
    out, tagged = tag_distinct(tagger, docs, lambda: ticks.append(1))
    assert tagger.seen == ["a-sym", "a-en"] and len(ticks) == 2
    assert [d.id for d in tagged] == ["a-sym", "a-en"]
    assert tagged[0].annotated_labels == {"SYMPTOM", "DISEASE"}  # asked for what every copy needs
    assert [d.id for d in out] == ["a-sym", "a-dis", "a-en"]
    assert all(sorted(s.label for s in d.spans) == ["DISEASE", "SYMPTOM"] for d in out)


def test_tag_distinct_refuses_a_tagger_that_drops_documents() -> None:
    class Dropping(CountingTagger):
        def tag(self, documents: Iterable[Document]) -> Iterator[Document]:
            yield from list(super().tag(documents))[:-1]

    with pytest.raises(RuntimeError, match="returned 1 of 2"):
        tag_distinct(Dropping(), [_doc("a", "fiebre"), _doc("b", "gripe")])
