"""Corpus statistics: the tables shared-task papers print (what ``clinicalner stats`` shows).

Counts documents, words, spans per type, per language, per split and per folder, spans
that overlap another span of the same type or of another type, discontinuous spans,
exact duplicates, and the mean span length in words. Words come from
:func:`clinicalner.text.words.word_spans` (the words the CoNLL writer writes).

Definitions: a span *overlaps* when at least one character of one of its fragments is
also in a fragment of another span of the document (exact duplicates are counted apart,
not as overlaps); a span's *length in words* is the number of words it touches.
A document *repeats* an earlier one when language, id and annotated types are the same
(BC5CDR's training file holds the development abstracts again); the MultiClinAI layout's
one text per type folder is not a repeat. Repeats are counted as read and flagged, with how
many are identical copies (same text and spans). Words and span lengths of documents without
text (a bare TSV) cannot be counted: they show as n/a.
Documents are streamed: the corpus is never held in memory here (only a hash per document).
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
_MAX_GROUP_COLUMNS = 6  # groups as columns of the terminal's spans-per-type table


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
    skipped_problems: list[str] = field(default_factory=list)  # "file:line: reason", the first few
    documents_without_text: int = 0  # read from a bare TSV: no words to count
    repeated_documents: int = 0  # same language, id and annotated types as an earlier document
    repeated_identical: int = 0  # ... and the same text and spans: a copy

    @property
    def mean_span_words(self) -> float:
        return self.span_words / self.spans if self.spans else 0.0

    @property
    def has_words(self) -> bool:
        """Whether words could be counted: some document has a text."""
        return self.documents_without_text < self.documents or self.documents == 0

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
        na = "n/a (no texts)"
        repeats = []
        if self.repeated_documents:
            repeats = [
                (
                    "documents repeating an earlier id (counted again)",
                    f"{self.repeated_documents:,} ({self.repeated_identical:,} identical copies)",
                )
            ]
        no_text = []
        if self.documents_without_text and self.has_words:
            no_text = [("documents without text (no words counted)", f"{self.documents_without_text:,}")]
        return [
            ("documents", f"{self.documents:,}"),
            *repeats,
            ("documents without spans", f"{self.documents_without_spans:,}"),
            *no_text,
            ("words", f"{self.words:,}" if self.has_words else na),
            ("characters", f"{self.characters:,}" if self.has_words else na),
            ("spans", f"{self.spans:,}"),
            ("mean span length (words)", f"{self.mean_span_words:.2f}" if self.has_words else na),
            ("discontinuous spans", f"{self.discontinuous:,}"),
            ("spans overlapping one of the same type", f"{self.overlapping_same_type:,}"),
            ("spans overlapping one of another type", f"{self.overlapping_cross_type:,}"),
            ("duplicate spans (same offsets and type)", f"{self.duplicates:,}"),
            *([("problems skipped while reading", f"{self.skipped:,}")] if self.skipped else []),
        ]

    def _label_rows(self) -> list[list[str]]:
        return [
            [
                name,
                f"{ls.spans:,}",
                f"{ls.documents:,}",
                f"{ls.mean_words:.2f}" if self.has_words else "n/a",
                f"{ls.discontinuous:,}",
            ]
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
                    f"{g.words:,}" if self.has_words else "n/a",
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
        if self.skipped_problems:
            parts.append(
                "Skipped while reading (--lenient):\n\n" + "\n".join(f"- {p}" for p in self.skipped_problems)
            )
        if self.labels:
            parts.append(
                table(["type", "spans", "documents", "mean words", "discontinuous"], self._label_rows())
            )
        parts.extend(table(head, rows) for _, head, rows in self._group_tables())
        return "\n\n".join(parts) + "\n"

    def to_rich(self) -> Any:
        """A ``rich`` renderable (a Group of Tables) for the terminal, readable at 80 columns.

        Numbers are never wrapped or cut. The per-group tables keep to documents, words and
        spans; spans per type and group follow as one table with the groups as columns
        (types as rows), when there are few enough groups for that to fit.
        """
        from rich import box
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        def new_table(title: str, show_header: bool = True) -> Table:
            return Table(
                title=title,
                title_justify="left",
                show_header=show_header,
                box=box.SIMPLE_HEAD,
                show_edge=False,
                pad_edge=False,
            )

        summary = new_table("corpus", show_header=False)
        summary.add_column(overflow="fold")
        summary.add_column(justify="right", no_wrap=True)
        for name, value in self._summary_rows():
            summary.add_row(name, value)
        parts: list[Any] = [summary]
        if self.skipped_problems:
            parts += [Text(""), Text("skipped while reading (--lenient):", style="italic")]
            parts += [Text(f"  {p}", overflow="fold") for p in self.skipped_problems]
        if self.labels:
            t = new_table("entity types")
            for i, h in enumerate(["type", "spans", "documents", "mean words", "discontinuous"]):
                t.add_column(h, justify="left" if i == 0 else "right", no_wrap=i > 0, overflow="fold")
            for row in self._label_rows():
                t.add_row(*row)
            parts += [Text(""), t]
        for title, table in (("language", self.languages), ("split", self.splits), ("folder", self.folders)):
            if not table or set(table) == {UNKNOWN}:
                continue
            t = new_table(f"by {title}")
            t.add_column(title, overflow="fold")
            for h in ("documents", "words", "spans"):
                t.add_column(h, justify="right", no_wrap=True)
            for key, g in sorted(table.items()):
                words = f"{g.words:,}" if self.has_words else "n/a"
                t.add_row(key, f"{g.documents:,}", words, f"{g.spans:,}")
            parts += [Text(""), t]
            if 1 < len(table) <= _MAX_GROUP_COLUMNS and len(self.labels) > 1:
                keys = sorted(table)
                t = new_table("spans per type")
                t.add_column("type", overflow="fold")
                for k in keys:
                    t.add_column(k, justify="right", no_wrap=True)
                for name in sorted(self.labels, key=lambda n: (-self.labels[n].spans, n)):
                    t.add_row(name, *(f"{table[k].labels[name]:,}" for k in keys))
                parts += [Text(""), t]
        return Group(*parts)


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
    seen: dict[tuple[Any, ...], int] = {}
    for doc in documents:
        words = words_of(doc.text, doc.language) if doc.text else []
        starts = [a for a, _ in words]
        ends = [b for _, b in words]
        st.documents += 1
        if not doc.text:
            st.documents_without_text += 1
        key = (doc.language, doc.id, doc.annotated_labels)
        content = hash(
            (doc.text, tuple(sorted((s.start, s.end, s.label, s.fragments or ()) for s in doc.spans)))
        )
        if key in seen:
            st.repeated_documents += 1
            st.repeated_identical += seen[key] == content
        else:
            seen[key] = content
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


def stats(corpus: Any, format: str | None = None, lenient: bool = False, options: Any = None) -> CorpusStats:
    """Statistics of a corpus given as a path (read in streaming), a Corpus or Documents.

    ``options``: a :class:`clinicalner.io.options.ReaderOptions` for XMI and CoNLL-U files.
    """
    from clinicalner.errors import CorpusError
    from clinicalner.io import Corpus, iter_documents, skipped_lines

    if isinstance(corpus, (str, Path)):
        skipped: list[CorpusError] = []
        st = corpus_stats(iter_documents(corpus, format, lenient=lenient, skipped=skipped, options=options))
        st.skipped = len(skipped)
        st.skipped_problems = skipped_lines(skipped)
        return st
    if isinstance(corpus, Corpus):
        st = corpus_stats(corpus.documents)
        st.skipped = len(corpus.skipped)
        st.skipped_problems = skipped_lines(corpus.skipped)
        return st
    return corpus_stats(corpus)
