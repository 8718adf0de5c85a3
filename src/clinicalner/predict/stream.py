"""Each distinct text tagged once: the one place that knows how copies of a note share a tagging.

The MultiClinAI release ships every note once per entity-type folder, so a tree of 1 000
notes is 3 000 documents with 1 000 distinct texts. ``predict`` (:func:`tag_stream`), the
per-epoch dev score of training and the benchmark (:func:`tag_distinct`) all tag each
distinct (text, language) once and give every copy the result.

The copy that is tagged annotates the union of its copies' types (:func:`distinct_texts`), so
a tagger that honours ``annotated_labels`` finds every type any copy needs; the types a copy
got only because another copy asked for them are :func:`widened_labels`. Texts are keyed by a
hash, never kept as keys themselves.
"""

from __future__ import annotations

import hashlib
import itertools
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from typing import Any

from clinicalner.document import Document, Span


def text_key(doc: Document) -> bytes:
    """The identity of a document's text for sharing a tagging: its language and text, hashed."""
    h = hashlib.blake2b(digest_size=16)
    h.update((doc.language or "").encode("utf-8"))
    h.update(b"\x00")
    h.update(doc.text.encode("utf-8"))
    return h.digest()


def distinct_texts(docs: Sequence[Document]) -> tuple[list[Document], list[int]]:
    """One document per distinct (text, language), and for each input the index of its copy.

    The copy kept annotates the union of the copies' types (None, all types, if any copy's is).
    """
    index: dict[bytes, int] = {}
    unique: list[Document] = []
    where: list[int] = []
    for doc in docs:
        key = text_key(doc)
        k = index.get(key)
        if k is None:
            k = index[key] = len(unique)
            unique.append(doc)
        elif unique[k].annotated_labels is not None:
            first = unique[k]
            labels = None if doc.annotated_labels is None else first.annotated_labels | doc.annotated_labels
            unique[k] = replace(first, annotated_labels=labels, metadata=dict(first.metadata))
        where.append(k)
    return unique, where


def widened_labels(docs: Sequence[Document]) -> list[frozenset[str]]:
    """For each document, the types tagging it with its copies added (see :func:`distinct_texts`).

    A copy is tagged as a document annotating the union of its copies' types; the types in that
    union but not in the copy's own ``annotated_labels`` were asked for the other copies, and a
    tagger that honours ``annotated_labels`` would not have returned them had the copy been
    tagged on its own. Empty for a text tagged alone, or when either set is open (None).
    """
    unique, where = distinct_texts(docs)
    out: list[frozenset[str]] = []
    for doc, k in zip(docs, where, strict=True):
        union, own = unique[k].annotated_labels, doc.annotated_labels
        out.append(frozenset(union - own) if union is not None and own is not None else frozenset())
    return out


def tag_distinct(
    tagger: Any, docs: Sequence[Document], progress: Callable[[], None] | None = None
) -> tuple[list[Document], list[Document]]:
    """Tag each distinct text of ``docs`` once: (a tagged copy of every input, the documents tagged).

    ``progress`` is called after each distinct document comes back. A tagger that returns
    fewer documents than it was given is an error, not a silent shift of every later result.
    """
    unique, where = distinct_texts(docs)
    tagged: list[Document] = []
    for doc in tagger.tag(iter(unique)):
        tagged.append(doc)
        if progress is not None:
            progress()
    if len(tagged) != len(unique):
        raise RuntimeError(f"the tagger returned {len(tagged)} of {len(unique)} documents")
    return [d.with_spans(list(tagged[k].spans)) for d, k in zip(docs, where, strict=True)], unique


def tag_stream(
    tagger: Any,
    documents: Iterable[Document],
    *,
    restrict_labels: bool = True,
    threshold: float = 0.0,
    chunk_documents: int = 256,
    cache_size: int = 16384,
) -> Iterator[Document]:
    """Tagged copies of ``documents``, in order, each distinct text tagged once.

    Documents are read ``chunk_documents`` at a time; a text already tagged comes from a cache
    of the last ``cache_size`` distinct texts (MultiClinAI copies are one type folder apart, a
    few thousand documents), so memory stays bounded however long the stream. A document that
    annotates only some types gets only spans of those types back (``restrict_labels``), so
    the per-type TSV files hold what they are meant to.
    """
    cache: OrderedDict[bytes, tuple[Span, ...]] = OrderedDict()
    it = iter(documents)
    while True:
        chunk = list(itertools.islice(it, chunk_documents))
        if not chunk:
            return
        keys = [text_key(d) for d in chunk]
        for key in keys:
            if key in cache:
                cache.move_to_end(key)
        todo = [(key, d) for key, d in zip(keys, chunk, strict=True) if key not in cache]
        tagged, _ = tag_distinct(tagger, [d for _, d in todo])
        fresh = {key: tuple(d.spans) for (key, _), d in zip(todo, tagged, strict=True)}
        for key, doc in zip(keys, chunk, strict=True):
            spans = fresh[key] if key in fresh else cache[key]
            if restrict_labels and doc.annotated_labels is not None:
                allowed = set(doc.annotated_labels)
                spans = tuple(s for s in spans if s.label in allowed)
            if threshold > 0:
                spans = tuple(s for s in spans if s.score is None or s.score >= threshold)
            yield doc.with_spans(list(spans))
        for key, spans in fresh.items():
            cache[key] = spans
            cache.move_to_end(key)
        while len(cache) > cache_size:
            cache.popitem(last=False)
