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


def _index(prediction_sets: Sequence[Sequence[Document]]) -> list[dict[str, dict[str | None, Document]]]:
    """Per set: id -> folder -> document (refusing a document that appears twice)."""
    indexed: list[dict[str, dict[str | None, Document]]] = []
    for k, docs in enumerate(prediction_sets):
        index: dict[str, dict[str | None, Document]] = {}
        for doc in docs:
            folder = doc.metadata.get("folder")
            copies = index.setdefault(doc.id, {})
            if folder in copies:
                where = f" in folder {folder!r}" if folder else ""
                raise ValueError(f"prediction set {k + 1}: document {doc.id!r} appears twice{where}")
            copies[folder] = doc
        indexed.append(index)
    return indexed


def _pairs(
    indexed: Sequence[dict[str, dict[str | None, Document]]],
) -> Iterator[tuple[str | None, list[Document | None]]]:
    """Each output document's folder (None: copies are not told apart) and members, one per set
    (None: the set has no such document).

    Documents are paired by id. Folders tell apart the copies of one id only where a set holds
    several (MultiClinAI keeps each note once per entity-type folder); a set holding the id once,
    in no folder or in a folder no other set uses (a BRAT folder "dev" beside a JSONL file),
    votes in every copy. Ids come in the first set's order, then new ones of later sets.
    """
    ids: dict[str, None] = {}
    for index in indexed:
        ids.update(dict.fromkeys(index))
    for doc_id in ids:
        per_set = [index.get(doc_id, {}) for index in indexed]
        folders = list(
            dict.fromkeys(f for copies in per_set if len(copies) > 1 for f in copies if f is not None)
        )
        if not folders:
            yield None, [next(iter(copies.values()), None) for copies in per_set]
            continue
        for folder in folders:
            members: list[Document | None] = []
            for copies in per_set:
                doc = copies.get(folder)
                if doc is None and len(copies) == 1:
                    only_folder, only = next(iter(copies.items()))
                    doc = only if only_folder not in folders else None
                elif doc is None:
                    doc = copies.get(None)
                members.append(doc)
            yield folder, members


def _check_coverage(
    indexed: Sequence[dict[str, dict[str | None, Document]]], prediction_sets: Sequence[Sequence[Document]]
) -> None:
    """Refuse sets that cannot be predictions on one corpus; warn about gaps that look wrong.

    A gap is expected in a set that writes only spans (a bare TSV lists no document where its
    tagger found nothing), so two such sets may even share no id on a small corpus: warned.
    A set that carries texts lists every document it tagged: two of those with no id in
    common are another corpus (or another naming), and voting would silently keep each set's
    spans alone, so that is an error; a gap in one is warned (counts, never text).
    """
    ids = [set(index) for index in indexed]
    full = [any(_has_text(d) for d in docs) for docs in prediction_sets]
    for a in range(len(ids)):
        for b in range(a + 1, len(ids)):
            if ids[a] and ids[b] and not ids[a] & ids[b]:
                message = (
                    f"prediction sets {a + 1} and {b + 1} have no document in common: "
                    "are they predictions on the same corpus?"
                )
                if full[a] and full[b]:
                    raise ValueError(message)
                log.warning(message)
    union = set().union(*ids) if ids else set()
    for k in range(len(ids)):
        missing = len(union - ids[k])
        if missing and full[k]:
            log.warning(
                "prediction set %d lacks %d of %d documents; they count as 'nothing found' there",
                k + 1,
                missing,
                len(union),
            )


def _has_text(doc: Document) -> bool:
    return bool(doc.text) and doc.metadata.get("has_text", True) is not False


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

    Documents are paired by id (and folder, see :func:`_pairs`). A document missing from a set
    is one where that tagger found nothing: formats that write only spans (a bare TSV) leave
    such documents out. The text comes from any set that has one (a bare TSV has none); two
    different texts for one document raise ``ValueError`` naming it. The output follows the
    first set's order and keeps the metadata of the first set holding the document (of the
    first with a text, when some set has none); span scores are vote fractions.
    """
    n = len(prediction_sets)
    _check_options(strategy, match, resolve, n, weights, min_votes)
    indexed = _index(prediction_sets)
    _check_coverage(indexed, prediction_sets)
    out: list[Document] = []
    for folder, members in _pairs(indexed):
        present = [(k, d) for k, d in enumerate(members) if d is not None]
        texts = [(k, d) for k, d in present if _has_text(d)]
        for k, other in texts[1:]:
            if other.text != texts[0][1].text:
                raise ValueError(
                    f"document {other.id!r}: its text differs between prediction sets {texts[0][0] + 1} and {k + 1}"
                )
        base = texts[0][1] if texts else present[0][1]
        spans = vote_spans(
            [d.spans if d is not None else [] for d in members],
            strategy=strategy,
            min_votes=min_votes,
            match=match,
            weights=weights,
            threshold=threshold,
            resolve=resolve,
            across_labels=across_labels,
        )
        meta = dict(present[0][1].metadata)
        if texts:
            meta.pop("has_text", None)
        if folder is not None:
            meta["folder"] = folder
        language = next((d.language for _, d in present if d.language), None)
        annotated = next((d.annotated_labels for _, d in present if d.annotated_labels is not None), None)
        text = base.text if texts else ""
        out.append(
            Document(
                base.id,
                text,
                [s if s.text or not text else s.with_text(text) for s in spans],
                language,
                annotated,
                meta,
            )
        )
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


@dataclass
class EnsembleResult:
    """What ``clinicalner ensemble`` made: the voted documents, the weights used (None: equal
    votes) and, with a dev set, each member's strict F1 on it (the weights' source)."""

    documents: list[Document]
    output: Path
    strategy: str
    weights: list[float] | None = None
    dev_f1: list[float] | None = None


def dev_weights(
    dev: str | Path,
    dev_predictions: Sequence[str | Path],
    *,
    input_format: str | None = None,
    lenient: bool = False,
) -> list[float]:
    """Each member's strict F1 on a dev set: "weights from dev F1" for weighted voting.

    ``dev_predictions`` holds one prediction file per member, in the members' order. A bare
    TSV borrows the gold texts by id, as ``clinicalner evaluate`` does.
    """
    from clinicalner.evaluate import score
    from clinicalner.io import attach_texts, read_corpus

    gold = read_corpus(dev, lenient=lenient).documents
    f1 = []
    for path in dev_predictions:
        pred = attach_texts(read_corpus(path, input_format, lenient=lenient).documents, gold)
        f1.append(float(score(gold, pred, metrics=["strict"], breakdowns=()).metric("strict").f1))
    if not any(f > 0 for f in f1):
        raise ValueError(f"{dev}: every member scores strict F1 = 0 on this dev set; no weights to take")
    return f1


def ensemble_files(
    pred_paths: Sequence[str | Path],
    output: str | Path,
    strategy: str | None = None,
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
    dev: str | Path | None = None,
    dev_predictions: Sequence[str | Path] | None = None,
) -> EnsembleResult:
    """Vote over prediction files and write the result: what ``clinicalner ensemble`` runs.

    ``input_format`` is detected per file when None; ``output_format`` follows the output path
    as ``clinicalner predict`` does (``.tsv``, ``.jsonl``, ``.conll``, ``.pubtator``; a path
    without a suffix is a BRAT folder), never the inputs' format: ``--output ens.jsonl`` must
    not become a folder because the first input was a TSV. ``strategy`` defaults to
    ``weighted`` when weights are given or taken from ``dev``, else ``majority``.

    With ``dev`` (a gold corpus), each member's weight is its strict F1 on it: scored from
    ``dev_predictions`` (one file per member, same order: dev predictions, while
    ``pred_paths`` are, say, test predictions), or, without them, from ``pred_paths`` themselves
    (they are then dev predictions).
    """
    from clinicalner.io import FORMATS, read_corpus, write_corpus
    from clinicalner.io.destination import check_output, writes_folder
    from clinicalner.io.formats import format_from_path

    if len(pred_paths) < 2:
        raise ValueError("ensemble needs at least two prediction sets")
    if output_format is not None and output_format not in FORMATS:
        raise ValueError(f"unknown output format {output_format!r}; expected one of {', '.join(FORMATS)}")
    fmt = output_format or format_from_path(output)  # a bad suffix fails before any reading
    check_output(
        output, folder=writes_folder(output, fmt), inputs=[*pred_paths, dev, *(dev_predictions or [])]
    )
    dev_f1 = None
    if dev_predictions and dev is None:
        raise ValueError("dev predictions need the dev gold corpus to be scored against (--dev)")
    if dev is not None:
        if strategy not in (None, "weighted"):
            raise ValueError(f"weights from a dev set are for strategy 'weighted', not {strategy!r}")
        if weights:
            raise ValueError("give weights or a dev set to take them from, not both")
        members = list(dev_predictions) if dev_predictions else list(pred_paths)
        if len(members) != len(pred_paths):
            raise ValueError(
                f"{len(members)} dev prediction sets for {len(pred_paths)} members: give one per member, "
                "in the same order"
            )
        dev_f1 = dev_weights(dev, members, input_format=input_format, lenient=lenient)
        weights = dev_f1
    if strategy is None:
        strategy = "weighted" if weights else "majority"
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
    write_corpus(docs, output, fmt)
    log.info(
        "ensemble: %d sets, %d documents, %d spans written (%s)",
        len(corpora),
        len(docs),
        sum(len(d.spans) for d in docs),
        strategy,
    )
    return EnsembleResult(docs, Path(output), strategy, list(weights) if weights else None, dev_f1)
