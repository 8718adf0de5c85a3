"""Combine the span predictions of several taggers by voting.

Every strategy works per document and per label, in two steps:

1. **Support.** Each distinct predicted span (offsets, label, fragments) collects the taggers
   that back it. With ``match="exact"`` a tagger backs a span when it predicted exactly that
   span; with ``match="overlap"`` when it predicted any span of the same label overlapping it.
   A span's score is its support as a fraction of the vote: the number of backing taggers
   over N, or with ``strategy="weighted"`` the sum of their weights over the sum of all weights.
2. **Selection.** ``majority`` keeps spans backed by at least ``min_votes`` taggers (default:
   more than half); ``weighted`` keeps spans whose weighted fraction reaches ``threshold``;
   ``union`` keeps every span. Kept spans that overlap are then resolved greedily: the first
   span in preference order is kept and any later one overlapping it is dropped.

Preference order:

- ``match="overlap"``: most support first, then most *exact* votes, then ``resolve``'s order.
  This is the "cluster" rule: among overlapping same-label spans the most-voted exact span
  wins and speaks for the whole group. Done greedily rather than on connected components,
  so that one long span chaining two separate mentions cannot swallow both: each mention is
  a candidate of its own, backed by the long span too.
- ``match="exact"`` (and ``union``): ``resolve="longest"`` prefers the longer span (then more
  votes), ``resolve="score"`` the higher score (then the higher mean input score, then the
  longer span); ``resolve="none"`` keeps overlapping spans.

Remaining ties go to the earlier span. Overlaps are resolved within a label unless
``across_labels=True`` (for corpora whose annotation is flat across entity types).
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from clinicalner.document import Document, Span
from clinicalner.predict.tagger import Tagger

log = logging.getLogger(__name__)

STRATEGIES = ("majority", "weighted", "union")
MATCHES = ("exact", "overlap")
RESOLVES = ("longest", "score", "none")

_Key = tuple[int, int, str, tuple[tuple[int, int], ...] | None]


@dataclass
class _Candidate:
    span: Span
    exact: set[int] = field(default_factory=set)
    support: set[int] = field(default_factory=set)
    input_scores: list[float] = field(default_factory=list)

    @property
    def length(self) -> int:
        return self.span.end - self.span.start

    @property
    def mean_input_score(self) -> float:
        return sum(self.input_scores) / len(self.input_scores) if self.input_scores else 0.0


def _check_options(
    strategy: str, match: str, resolve: str, n: int, weights: Sequence[float] | None, min_votes: int | None
) -> list[float]:
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}, not {strategy!r}")
    if match not in MATCHES:
        raise ValueError(f"match must be one of {MATCHES}, not {match!r}")
    if resolve not in RESOLVES:
        raise ValueError(f"resolve must be one of {RESOLVES}, not {resolve!r}")
    if n == 0:
        raise ValueError("need at least one prediction set")
    if weights is None:
        weights = [1.0] * n
    weights = [float(w) for w in weights]
    if len(weights) != n:
        raise ValueError(f"{len(weights)} weights for {n} prediction sets")
    if any(w < 0 for w in weights) or sum(weights) <= 0:
        raise ValueError("weights must be non-negative and not all zero")
    if min_votes is not None and not 1 <= min_votes <= n:
        raise ValueError(f"min_votes must be between 1 and {n}, not {min_votes}")
    return weights


def vote_spans(
    span_sets: Sequence[Iterable[Span]],
    *,
    strategy: str = "majority",
    min_votes: int | None = None,
    match: str = "exact",
    weights: Sequence[float] | None = None,
    threshold: float = 0.5,
    resolve: str = "longest",
    across_labels: bool = False,
) -> list[Span]:
    """Vote over the spans that N taggers predicted for one document (see the module doc)."""
    n = len(span_sets)
    w = _check_options(strategy, match, resolve, n, weights, min_votes)
    total_weight = sum(w)
    needed = min_votes if min_votes is not None else n // 2 + 1

    candidates: dict[_Key, _Candidate] = {}
    for voter, spans in enumerate(span_sets):
        for span in spans:
            key = (span.start, span.end, span.label, span.fragments)
            cand = candidates.get(key)
            if cand is None:
                cand = candidates[key] = _Candidate(span)
            if voter not in cand.exact:
                cand.exact.add(voter)
                if span.score is not None:
                    cand.input_scores.append(span.score)

    cands = list(candidates.values())
    overlap_mode = match == "overlap" and strategy != "union"
    if overlap_mode:
        by_label: dict[str, list[_Candidate]] = {}
        for cand in cands:
            by_label.setdefault(cand.span.label, []).append(cand)
        for group in by_label.values():
            group.sort(key=lambda c: c.span.start)
            for a, cand in enumerate(group):
                cand.support |= cand.exact
                for other in itertools.islice(group, a + 1, None):
                    if other.span.start >= cand.span.end:
                        break
                    other.support |= cand.exact
                    cand.support |= other.exact
    else:
        for cand in cands:
            cand.support = cand.exact

    def fraction(voters: set[int]) -> float:
        if strategy == "weighted":
            return sum(w[v] for v in voters) / total_weight
        return len(voters) / n

    if strategy == "majority":
        kept = [c for c in cands if len(c.support) >= needed]
    elif strategy == "weighted":
        kept = [c for c in cands if fraction(c.support) >= threshold - 1e-12]
    else:
        kept = cands

    def order(c: _Candidate) -> tuple:
        score = fraction(c.support)
        if overlap_mode:
            head: tuple = (-score, -fraction(c.exact))
        else:
            head = ()
        if resolve == "score":
            tail: tuple = (-score, -c.mean_input_score, -c.length)
        else:
            tail = (-c.length, -score)
        return (*head, *tail, c.span.start, c.span.end, c.span.label)

    kept.sort(key=order)
    chosen: list[Span] = []
    taken: dict[str | None, list[Span]] = {}
    for cand in kept:
        span = cand.span
        if overlap_mode or resolve != "none":
            group = taken.setdefault(None if across_labels else span.label, [])
            if any(span.overlaps(t) for t in group):
                continue
            group.append(span)
        chosen.append(
            Span(
                span.start, span.end, span.label, span.text, round(fraction(cand.support), 6), span.fragments
            )
        )
    chosen.sort(key=lambda s: (s.start, s.end, s.label))
    return chosen


def _doc_key(doc: Document) -> tuple[str | None, str]:
    """Documents are matched across sets by id, within their folder when a reader set one.

    MultiClinAI keeps the same document id in one folder per entity type.
    """
    return (doc.metadata.get("folder"), doc.id)


def vote(
    prediction_sets: Sequence[Sequence[Document]],
    strategy: str = "majority",
    min_votes: int | None = None,
    match: str = "exact",
    weights: Sequence[float] | None = None,
    resolve: str = "longest",
    *,
    threshold: float = 0.5,
    across_labels: bool = False,
) -> list[Document]:
    """Ensemble N taggers' predictions over the same documents.

    Documents are paired by id (and folder); every set must hold the same documents with the
    same text, or this raises ``ValueError`` naming the document. The output follows the
    order of the first set and keeps its documents' metadata; span scores are vote fractions.
    """
    n = len(prediction_sets)
    _check_options(strategy, match, resolve, n, weights, min_votes)
    indexed: list[dict[tuple[str | None, str], Document]] = []
    for k, docs in enumerate(prediction_sets):
        index: dict[tuple[str | None, str], Document] = {}
        for doc in docs:
            key = _doc_key(doc)
            if key in index:
                raise ValueError(f"prediction set {k + 1}: document {doc.id!r} appears twice")
            index[key] = doc
        indexed.append(index)
    first = indexed[0]
    for k, index in enumerate(indexed[1:], start=2):
        if index.keys() != first.keys():
            missing = sorted(set(first) ^ set(index), key=str)[0]
            raise ValueError(
                f"prediction sets 1 and {k} hold different documents (e.g. {missing[1]!r}); "
                "ensemble predictions made on the same corpus"
            )
    out: list[Document] = []
    for key, doc in first.items():
        docs = [index[key] for index in indexed]
        for k, other in enumerate(docs[1:], start=2):
            if other.text != doc.text:
                raise ValueError(f"document {doc.id!r}: its text differs between prediction sets 1 and {k}")
        spans = vote_spans(
            [d.spans for d in docs],
            strategy=strategy,
            min_votes=min_votes,
            match=match,
            weights=weights,
            threshold=threshold,
            resolve=resolve,
            across_labels=across_labels,
        )
        out.append(doc.with_spans(s if s.text else s.with_text(doc.text) for s in spans))
    return out


class EnsembleTagger:
    """Several taggers voting as one; implements :class:`~clinicalner.predict.tagger.Tagger`.

    Documents are taken ``batch_size`` at a time so that each member can batch its own work
    (a neural tagger pads windows across documents) while memory stays bounded.
    """

    def __init__(
        self,
        taggers: Sequence[Tagger],
        strategy: str = "majority",
        min_votes: int | None = None,
        match: str = "exact",
        weights: Sequence[float] | None = None,
        resolve: str = "longest",
        *,
        threshold: float = 0.5,
        across_labels: bool = False,
        batch_size: int = 64,
        name: str | None = None,
    ) -> None:
        _check_options(strategy, match, resolve, len(taggers), weights, min_votes)
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.taggers = list(taggers)
        self.options = {
            "strategy": strategy,
            "min_votes": min_votes,
            "match": match,
            "weights": list(weights) if weights is not None else None,
            "resolve": resolve,
            "threshold": threshold,
            "across_labels": across_labels,
        }
        self.batch_size = batch_size
        self.name = name or "ensemble(" + ",".join(t.name for t in self.taggers) + ")"
        labels: dict[str, None] = {}
        for tagger in self.taggers:
            labels.update(dict.fromkeys(tagger.labels))
        self.labels: tuple[str, ...] = tuple(labels)

    def tag(self, documents: Iterable[Document]) -> Iterator[Document]:
        it = iter(documents)
        while batch := list(itertools.islice(it, self.batch_size)):
            outputs = [list(tagger.tag(batch)) for tagger in self.taggers]
            for k, out in enumerate(outputs):
                if len(out) != len(batch):
                    raise RuntimeError(
                        f"tagger {self.taggers[k].name!r} returned {len(out)} of {len(batch)} documents"
                    )
            for i, doc in enumerate(batch):
                spans = vote_spans([out[i].spans for out in outputs], **self.options)
                yield doc.with_spans(s if s.text else s.with_text(doc.text) for s in spans)


def ensemble_files(
    pred_paths: Sequence[str | Path],
    output: str | Path,
    strategy: str = "majority",
    *,
    min_votes: int | None = None,
    match: str = "exact",
    weights: Sequence[float] | None = None,
    threshold: float = 0.5,
    resolve: str = "longest",
    across_labels: bool = False,
    input_format: str | None = None,
    output_format: str | None = None,
    lenient: bool = False,
) -> list[Document]:
    """Vote over prediction files and write the result: what ``clinicalner ensemble`` runs.

    ``input_format`` is detected per file when None; ``output_format`` defaults to the
    format of the first prediction set. Returns the ensembled documents.
    """
    from clinicalner.io import read_corpus, write_corpus

    if len(pred_paths) < 2:
        raise ValueError("ensemble needs at least two prediction sets")
    corpora = [read_corpus(p, input_format, lenient=lenient) for p in pred_paths]
    docs = vote(
        [c.documents for c in corpora],
        strategy,
        min_votes,
        match,
        weights,
        resolve,
        threshold=threshold,
        across_labels=across_labels,
    )
    fmt = output_format or corpora[0].format
    write_corpus(docs, output, fmt)
    log.info(
        "ensemble: %d sets, %d documents, %d spans written (%s)",
        len(corpora),
        len(docs),
        sum(len(d.spans) for d in docs),
        strategy,
    )
    return docs
