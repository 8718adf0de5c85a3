"""The one interface every span producer shares.

A trained model, a lexicon, an LLM behind an endpoint and an ensemble all turn documents
into documents carrying predicted spans, so the CLI, the benchmark and the ensembles can
treat them alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol, runtime_checkable

from clinicalner.document import Document


@runtime_checkable
class Tagger(Protocol):
    """Produces spans for documents.

    ``tag`` yields, for each input document in order, a copy (``Document.with_spans``) whose
    spans are the predictions (``Span.score`` set when the tagger has a confidence). It must
    stream: memory stays bounded however many documents come in.
    """

    name: str
    labels: tuple[str, ...]

    def tag(self, documents: Iterable[Document]) -> Iterator[Document]: ...
