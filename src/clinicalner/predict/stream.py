"""Tagging a stream of documents the way a corpus needs it.

The MultiClinAI release ships every note once per entity-type folder, so a tree of 1 000
notes is 3 000 documents with 1 000 distinct texts. Tagging each text once (a bounded cache
keyed on a hash of the text, never the text itself) makes ``predict`` on such a tree as fast
as on the notes alone. A document that annotates only some types (``annotated_labels``)
gets only spans of those types back, so the per-type TSV files hold what they are meant to.
"""

from __future__ import annotations

import hashlib
import itertools
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from typing import Any

from clinicalner.document import Document, Span


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

    ``cache_size`` bounds the memory: texts seen more than that many distinct texts ago are
    tagged again (MultiClinAI copies are one type folder apart, a few thousand documents).
    """
    cache: OrderedDict[bytes, tuple[Span, ...]] = OrderedDict()
    it = iter(documents)
    while True:
        chunk = list(itertools.islice(it, chunk_documents))
        if not chunk:
            return
        keys = [hashlib.blake2b(d.text.encode("utf-8"), digest_size=16).digest() for d in chunk]
        todo: dict[bytes, Document] = {}
        for key, doc in zip(keys, chunk, strict=True):
            if key in cache:
                cache.move_to_end(key)
            elif key not in todo:
                todo[key] = doc
        fresh = dict(zip(todo, (tuple(d.spans) for d in tagger.tag(todo.values())), strict=True))
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
