"""Corpus statistics: the tables shared-task papers print (what ``clinicalner stats`` shows).

Counts documents, words, spans per type, per language, per split and per folder, spans
that overlap another span of the same type or of another type, discontinuous spans,
exact duplicates, and the mean span length in words. Words come from
``clinicalner.text.words.word_spans`` when it is there, else from ``\\w+|[^\\w\\s]``.

Definitions: a span *overlaps* when at least one character of one of its fragments is
also in a fragment of another span of the document (exact duplicates are counted apart,
not as overlaps); a span's *length in words* is the number of words it touches.
Documents are streamed: the corpus is never held in memory here.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from clinicalner.document import Document, Span

UNKNOWN = "?"
_MAX_LABEL_COLUMNS = 8


@dataclass
class LabelStats:
    spans: int = 0
    documents: int = 0
    span_words: int = 0
    discontinuous: int = 0

    @property
    def mean_words(self) -> float:
        return self.span_words / self.spans if self.spans else 0.0


@dataclass
class GroupStats:
    """One row of the per-language / per-split / per-folder tables."""

    documents: int = 0
    words: int = 0
    spans: int = 0
    labels: Counter[str] = field(default_factory=Counter)


@dataclass
class CorpusStats:
    documents: int = 0
    documents_without_spans: int = 0
    words: int = 0
    characters: int = 0
    spans: int = 0
    span_words: int = 0
    discontinuous: int = 0
    duplicates: int = 0
    overlapping_same_type: int = 0
    overlapping_cross_type: int = 0
    labels: dict[str, LabelStats] = field(default_factory=dict)
    languages: dict[str, GroupStats] = field(default_factory=dict)
    splits: dict[str, GroupStats] = field(default_factory=dict)
    folders: dict[str, GroupStats] = field(default_factory=dict)
    skipped: int = 0  # problems skipped while reading (lenient)

    @property
    def mean_span_words(self) -> float:
        return self.span_words / self.spans if self.spans else 0.0

    # -- output -------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["mean_span_words"] = round(self.mean_span_words, 4)
        for name, ls in self.labels.items():
            d["labels"][name]["mean_words"] = round(ls.mean_words, 4)
        for table in ("languages", "splits", "folders"):
            for key, g in getattr(self, table).items():
                d[table][key]["labels"] = dict(sorted(g.labels.items()))
        return d

    def _summary_rows(self) -> list[tuple[str, str]]:
        return [
            ("documents", f"{self.documents:,}"),
            ("documents without spans", f"{self.documents_without_spans:,}"),
            ("words", f"{self.words:,}"),
            ("characters", f"{self.characters:,}"),
            ("spans", f"{self.spans:,}"),
            ("mean span length (words)", f"{self.mean_span_words:.2f}"),
            ("discontinuous spans", f"{self.discontinuous:,}"),
            ("spans overlapping one of the same type", f"{self.overlapping_same_type:,}"),
            ("spans overlapping one of another type", f"{self.overlapping_cross_type:,}"),
            ("duplicate spans (same offsets and type)", f"{self.duplicates:,}"),
            *([("problems skipped while reading", f"{self.skipped:,}")] if self.skipped else []),
        ]

    def _label_rows(self) -> list[list[str]]:
        return [
            [name, f"{ls.spans:,}", f"{ls.documents:,}", f"{ls.mean_words:.2f}", f"{ls.discontinuous:,}"]
            for name, ls in sorted(self.labels.items(), key=lambda kv: (-kv[1].spans, kv[0]))
        ]

    def _group_tables(self) -> list[tuple[str, list[str], list[list[str]]]]:
        labels = sorted(self.labels)
        if len(labels) > _MAX_LABEL_COLUMNS:
            labels = []  # a table as wide as Chia's 31 types helps nobody
        out = []
        for title, table in (("language", self.languages), ("split", self.splits), ("folder", self.folders)):
            if not table or set(table) == {UNKNOWN}:
                continue
            head = [title, "documents", "words", "spans", *labels]
            rows = [
                [
                    key,
                    f"{g.documents:,}",
                    f"{g.words:,}",
                    f"{g.spans:,}",
                    *(f"{g.labels[lab]:,}" for lab in labels),
                ]
                for key, g in sorted(table.items())
            ]
            out.append((title, head, rows))
        return out

    def to_markdown(self) -> str:
        def table(head: list[str], rows: list[list[str]]) -> str:
            lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
            lines += ["| " + " | ".join(r) + " |" for r in rows]
            return "\n".join(lines)

        parts = [table(["", "count"], [list(r) for r in self._summary_rows()])]
        if self.labels:
            parts.append(
                table(["type", "spans", "documents", "mean words", "discontinuous"], self._label_rows())
            )
        parts.extend(table(head, rows) for _, head, rows in self._group_tables())
        return "\n\n".join(parts) + "\n"

    def to_rich(self) -> Any:
        """A ``rich`` renderable (a Group of Tables) for the terminal."""
        from rich.console import Group
        from rich.table import Table

        summary = Table(title="corpus", show_header=False)
        summary.add_column()
        summary.add_column(justify="right")
        for name, value in self._summary_rows():
            summary.add_row(name, value)
        tables = [summary]
        if self.labels:
            t = Table(title="entity types")
            for i, h in enumerate(["type", "spans", "documents", "mean words", "discontinuous"]):
                t.add_column(h, justify="left" if i == 0 else "right")
            for row in self._label_rows():
                t.add_row(*row)
            tables.append(t)
        for title, head, rows in self._group_tables():
            t = Table(title=f"by {title}")
            for i, h in enumerate(head):
                t.add_column(h, justify="left" if i == 0 else "right")
            for row in rows:
                t.add_row(*row)
            tables.append(t)
        return Group(*tables)


def _pieces(span: Span) -> tuple[tuple[int, int], ...]:
    return span.fragments or ((span.start, span.end),)


def _touch(a: Span, b: Span) -> bool:
    return any(x < d and c < y for x, y in _pieces(a) for c, d in _pieces(b))


def _count_words(starts: list[int], ends: list[int], span: Span) -> int:
    n = 0
    for a, b in _pieces(span):
        lo = bisect.bisect_right(ends, a)  # first word ending after a
        hi = bisect.bisect_left(starts, b)  # first word starting at or after b
        n += max(0, hi - lo)
    return n


def corpus_stats(documents: Iterable[Document]) -> CorpusStats:
    """Statistics of documents (any iterable; consumed once)."""
    from clinicalner.io.common import word_tokenizer

    words_of = word_tokenizer()
    st = CorpusStats()
    for doc in documents:
        words = words_of(doc.text, doc.language) if doc.text else []
        starts = [a for a, _ in words]
        ends = [b for _, b in words]
        st.documents += 1
        st.words += len(words)
        st.characters += len(doc.text)
        if not doc.spans:
            st.documents_without_spans += 1
        groups = [
            st.languages.setdefault(doc.language or UNKNOWN, GroupStats()),
            st.splits.setdefault(str(doc.metadata.get("split") or UNKNOWN), GroupStats()),
        ]
        if doc.metadata.get("folder"):
            groups.append(st.folders.setdefault(str(doc.metadata["folder"]), GroupStats()))
        for g in groups:
            g.documents += 1
            g.words += len(words)
            g.spans += len(doc.spans)
            g.labels.update(s.label for s in doc.spans)
        seen_labels: set[str] = set()
        for span in doc.spans:
            ls = st.labels.setdefault(span.label, LabelStats())
            n = _count_words(starts, ends, span)
            ls.spans += 1
            ls.span_words += n
            st.span_words += n
            if span.is_discontinuous:
                ls.discontinuous += 1
                st.discontinuous += 1
            if span.label not in seen_labels:
                seen_labels.add(span.label)
                ls.documents += 1
        st.spans += len(doc.spans)
        _overlaps(doc.spans, st)
    return st


def _overlaps(spans: list[Span], st: CorpusStats) -> None:
    order = sorted(spans, key=lambda s: (s.start, s.end, s.label))
    same = [False] * len(order)
    cross = [False] * len(order)
    seen: set[tuple[Any, ...]] = set()
    for i, s in enumerate(order):
        key = (s.key, s.fragments)
        if key in seen:
            st.duplicates += 1
        seen.add(key)
        for j in range(i + 1, len(order)):
            t = order[j]
            if t.start >= s.end:
                break
            if (t.key, t.fragments) == key or not _touch(s, t):
                continue
            if t.label == s.label:
                same[i] = same[j] = True
            else:
                cross[i] = cross[j] = True
    st.overlapping_same_type += sum(same)
    st.overlapping_cross_type += sum(cross)


def stats(corpus: Any, format: str | None = None, lenient: bool = False) -> CorpusStats:
    """Statistics of a corpus given as a path (read in streaming), a Corpus or Documents."""
    from clinicalner.errors import CorpusError
    from clinicalner.io import Corpus, iter_documents

    if isinstance(corpus, (str, Path)):
        skipped: list[CorpusError] = []
        st = corpus_stats(iter_documents(corpus, format, lenient=lenient, skipped=skipped))
        st.skipped = len(skipped)
        return st
    if isinstance(corpus, Corpus):
        st = corpus_stats(corpus.documents)
        st.skipped = len(corpus.skipped)
        return st
    return corpus_stats(corpus)
