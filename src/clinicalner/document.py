"""The one data model everything passes around: a document and its character spans.

Offsets are half-open character offsets into ``Document.text`` exactly as read
(CRLF kept). A span's ``text`` always equals ``document.text[start:end]`` for a
contiguous span; a discontinuous span (BRAT ``10 15;20 27``) keeps its fragments and
its text is the fragments joined by one space, as BRAT writes it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from clinicalner.errors import CorpusError, quote

_WS = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Span:
    """One entity mention. ``fragments`` is set only for discontinuous mentions."""

    start: int
    end: int
    label: str
    text: str = ""
    score: float | None = None
    fragments: tuple[tuple[int, int], ...] | None = None

    @property
    def key(self) -> tuple[int, int, str]:
        """What strict matching compares: offsets and label, never the text."""
        return (self.start, self.end, self.label)

    @property
    def is_discontinuous(self) -> bool:
        return self.fragments is not None and len(self.fragments) > 1

    def overlaps(self, other: Span) -> bool:
        """Half-open overlap: touching spans ``[0,5)`` and ``[5,9)`` do not overlap."""
        return self.start < other.end and other.start < self.end

    def with_text(self, text: str) -> Span:
        """This span with ``text`` set from the document; itself when it already holds it (spans
        are frozen, and ``dataclasses.replace`` was a tenth of post-processing)."""
        new = surface(text, self.start, self.end, self.fragments)
        return self if new == self.text else replace(self, text=new)


def surface(text: str, start: int, end: int, fragments: Sequence[tuple[int, int]] | None = None) -> str:
    """The surface string of a span: the slice, or BRAT's space-joined fragments."""
    if fragments and len(fragments) > 1:
        return " ".join(text[a:b] for a, b in fragments)
    return text[start:end]


def same_surface(expected: str, stored: str) -> bool:
    """Whether a file's stored span text names the same characters as the offsets do.

    Exact equality, or equality once whitespace runs are collapsed and ``\\r`` dropped:
    BRAT writes a newline inside a span as a space, and Chia's stored texts omit the
    ``\\r`` of CRLF line ends while its offsets count it.
    """
    if expected == stored:
        return True
    a = _WS.sub(" ", expected.replace("\r", "")).strip()
    b = _WS.sub(" ", stored.replace("\r", "")).strip()
    return a == b


@dataclass(slots=True)
class Document:
    """A text with its spans.

    ``annotated_labels`` says which entity types were annotated in this document:
    a MultiClinAI SYMPTOM document says nothing about diseases. ``None`` means every
    label of the corpus is annotated.
    """

    id: str
    text: str
    spans: list[Span] = field(default_factory=list)
    language: str | None = None
    annotated_labels: frozenset[str] | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def labels(self) -> set[str]:
        return {s.label for s in self.spans}

    def annotates(self, label: str) -> bool:
        return self.annotated_labels is None or label in self.annotated_labels

    def sorted_spans(self) -> list[Span]:
        return sorted(self.spans, key=lambda s: (s.start, s.end, s.label))

    def with_spans(self, spans: Iterable[Span]) -> Document:
        """A copy carrying other spans (predictions), same id, text and metadata."""
        return replace(self, spans=list(spans), metadata=dict(self.metadata))

    def check_span(self, span: Span, file: str | None = None, line: int | None = None) -> Span:
        """Validate one span against the text; return it with its text filled in.

        Raises :class:`CorpusError` naming the file, the line and both strings.
        """
        n = len(self.text)
        pieces = span.fragments or ((span.start, span.end),)
        for a, b in pieces:
            if not (0 <= a < b <= n):
                raise CorpusError(
                    f"span {a}-{b} ({span.label[:80]}) is outside the text of document {quote(self.id)} "
                    f"(length {n}) or empty",
                    file,
                    line,
                )
        expected = surface(self.text, span.start, span.end, span.fragments)
        if span.text and not same_surface(expected, span.text):
            raise CorpusError(
                f"span {span.start}-{span.end} ({span.label[:80]}) of document {quote(self.id)}: "
                f"the file says {quote(span.text)} but the text at those offsets is {quote(expected)}",
                file,
                line,
            )
        return span if span.text == expected else replace(span, text=expected)

    def validate(self, file: str | None = None) -> None:
        for span in self.spans:
            self.check_span(span, file)


def make_span(
    start: int,
    end: int,
    label: str,
    text: str = "",
    score: float | None = None,
    fragments: Sequence[tuple[int, int]] | None = None,
) -> Span:
    """Build a span, normalising fragments: sorted, and dropped when there is only one."""
    frags: tuple[tuple[int, int], ...] | None = None
    if fragments is not None and len(fragments) > 1:
        frags = tuple(sorted((int(a), int(b)) for a, b in fragments))
        start, end = frags[0][0], max(b for _, b in frags)
    return Span(int(start), int(end), label, text, score, frags)
