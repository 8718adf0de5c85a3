"""Pairing gold and predicted documents and flattening their spans into arrays.

Every metric sees the same prepared data, so the policies live here, once:

- Documents are paired by ``Document.id``. Several documents with one id on one side are
  merged (spans concatenated, annotated types united): the official scorers key on the
  file name only.
- The documents scored are the union of both sides, gold order first. A predicted document
  with no gold counterpart keeps its predictions, which are false positives for the
  MultiClinAI-style metrics (the official evaluator does this); a gold document without
  predictions has all its spans missed.
- ``labels`` restricts both sides to those types (the official ``--entity`` filter and
  nervaluate's ``tags``). Without it the types are those of the gold spans, the gold
  documents' ``annotated_labels`` and the surviving predictions.
- With ``mask_unannotated`` a prediction whose type its gold document does not annotate
  (``Document.annotated_labels``) is ignored, not a false positive: a MultiClinAI SYMPTOM
  document says nothing about diseases.
- A span with ``end <= start`` is an error (the official MultiClinAI evaluator refuses the whole
  run). With ``invalid_predictions="false_positive"`` such *predicted* spans are instead counted
  as false positives by every metric, as the MultiCardioNER evaluator does: each is replaced by a
  unique one-character span beyond the end of any text, which matches and overlaps nothing.
- A discontinuous span is scored by its outer bounds (``start``, ``end``): the official TSV
  formats have no fragments either.
- Token metrics cut the gold document's text; a predicted document's text is used only when
  there is no gold one (``stats["documents_with_different_text"]`` counts disagreements).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from operator import attrgetter
from typing import Any

import numpy as np

from clinicalner.document import Document, Span
from clinicalner.errors import CorpusError

from .spans import first_occurrence

Array = np.ndarray

_START, _END, _LABEL = attrgetter("start"), attrgetter("end"), attrgetter("label")


@dataclass
class SpanArrays:
    """One side's spans as parallel arrays (document index, label index, start, end).

    Rows are in document order, and within a document in the order of ``Document.spans``:
    the order-dependent peers (nervaluate, the greedy official matchers) depend on it.
    ``rows`` points into ``source``, the side's flattened Span objects, which only the
    text-comparing metric needs.
    """

    doc: Array
    label: Array
    start: Array
    end: Array
    rows: Array
    source: list[Span]

    def __len__(self) -> int:
        return len(self.start)

    def take(self, mask: Array) -> SpanArrays:
        idx = np.flatnonzero(mask)
        return SpanArrays(
            self.doc[idx], self.label[idx], self.start[idx], self.end[idx], self.rows[idx], self.source
        )

    @property
    def spans(self) -> list[Span]:
        return [self.source[i] for i in self.rows.tolist()]

    def group(self, n_labels: int) -> Array:
        """The (document, label) cell of each span, as one integer."""
        return self.doc * n_labels + self.label


@dataclass
class Prepared:
    """Both sides of an evaluation, aligned on one document index and one label index."""

    doc_ids: list[str]
    gold_docs: list[Document | None]
    pred_docs: list[Document | None]
    labels: tuple[str, ...]
    gold: SpanArrays
    pred: SpanArrays
    stats: dict[str, int]
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def n_docs(self) -> int:
        return len(self.doc_ids)

    @property
    def n_labels(self) -> int:
        return len(self.labels)

    @property
    def pred_unique(self) -> SpanArrays:
        """Predictions with duplicates (same document, label, start, end) dropped, first kept."""
        if "pred_unique" not in self.cache:
            p = self.pred
            self.cache["pred_unique"] = p.take(first_occurrence(p.doc, p.label, p.start, p.end))
        return self.cache["pred_unique"]

    def text(self, d: int) -> str:
        """The text a document's tokens come from: the gold one, else the prediction's."""
        doc = self.gold_docs[d] or self.pred_docs[d]
        return doc.text if doc is not None else ""

    def cells(self, doc: Array, label: Array, weights: Array | None = None) -> Array:
        """Sum ``weights`` (or count rows) into a (documents, labels) table."""
        n = self.n_docs * self.n_labels
        flat = np.bincount(doc * self.n_labels + label, weights=weights, minlength=n)
        return flat.reshape(self.n_docs, self.n_labels)


def _merge(docs: Sequence[Document]) -> Document:
    if len(docs) == 1:
        return docs[0]
    spans = [s for d in docs for s in d.spans]
    annotated: frozenset[str] | None = frozenset()
    for d in docs:
        if d.annotated_labels is None:
            annotated = None
            break
        annotated = annotated | d.annotated_labels  # type: ignore[operator]
    return replace(docs[0], spans=spans, annotated_labels=annotated, metadata=dict(docs[0].metadata))


def _by_id(docs: Iterable[Document]) -> dict[str, Document]:
    groups: dict[str, list[Document]] = {}
    for d in docs:
        groups.setdefault(d.id, []).append(d)
    return {k: _merge(v) for k, v in groups.items()}


def _flatten(
    docs: list[Document | None], label_index: dict[str, int]
) -> tuple[Array, Array, Array, Array, list[Span]]:
    spans: list[Span] = []
    counts: list[int] = []
    for doc in docs:
        n = 0 if doc is None else len(doc.spans)
        if n:
            spans.extend(doc.spans)  # type: ignore[union-attr]
        counts.append(n)
    n = len(spans)
    doc = np.repeat(np.arange(len(docs), dtype=np.int64), counts)
    start = np.fromiter(map(_START, spans), dtype=np.int64, count=n)
    end = np.fromiter(map(_END, spans), dtype=np.int64, count=n)
    names = list(map(_LABEL, spans))
    for name in dict.fromkeys(names):
        label_index.setdefault(name, len(label_index))
    label = np.fromiter(map(label_index.__getitem__, names), dtype=np.int64, count=n)
    return doc, label, start, end, spans


def _check(side: str, doc_ids: list[str], doc: Array, start: Array, end: Array, spans: list[Span]) -> None:
    bad = np.flatnonzero(end <= start)
    if len(bad):
        i = int(bad[0])
        s = spans[i]
        raise CorpusError(
            f"{side} span {s.start}-{s.end} ({s.label}) of document {doc_ids[int(doc[i])]!r} has end <= start "
            f"({len(bad)} such spans)"
        )


def prepare(
    gold: Iterable[Document],
    pred: Iterable[Document],
    *,
    labels: Sequence[str] | None = None,
    mask_unannotated: bool = True,
    invalid_predictions: str = "error",
) -> Prepared:
    gold_map = _by_id(gold)
    pred_map = _by_id(pred)
    doc_ids = list(gold_map) + [i for i in pred_map if i not in gold_map]
    gold_docs: list[Document | None] = [gold_map.get(i) for i in doc_ids]
    pred_docs: list[Document | None] = [pred_map.get(i) for i in doc_ids]

    index: dict[str, int] = {}
    g_doc, g_lab, g_start, g_end, g_spans = _flatten(gold_docs, index)
    p_doc, p_lab, p_start, p_end, p_spans = _flatten(pred_docs, index)
    _check("gold", doc_ids, g_doc, g_start, g_end, g_spans)
    if invalid_predictions not in ("error", "false_positive"):
        raise ValueError(
            f"invalid_predictions must be 'error' or 'false_positive', not {invalid_predictions!r}"
        )
    invalid = np.flatnonzero(p_end <= p_start)
    if len(invalid) and invalid_predictions == "false_positive":
        far = 1 << 40  # beyond any text: overlaps nothing, equals nothing
        p_start = p_start.copy()
        p_end = p_end.copy()
        p_start[invalid] = far + 2 * np.arange(len(invalid))
        p_end[invalid] = p_start[invalid] + 1
        p_spans = list(p_spans)
        for k, i in enumerate(invalid.tolist()):
            p_spans[i] = replace(p_spans[i], start=int(p_start[i]), end=int(p_end[i]), text=f"\x00invalid{k}")
    _check("predicted", doc_ids, p_doc, p_start, p_end, p_spans)
    for d in gold_docs:
        if d is not None and d.annotated_labels:
            for lab in sorted(d.annotated_labels):
                index.setdefault(lab, len(index))
    names = list(index)
    n_all = len(names)

    keep_label = np.ones(n_all, dtype=bool)
    if labels is not None:
        wanted = set(labels)
        keep_label = np.array([n in wanted for n in names], dtype=bool)

    p_keep = keep_label[p_lab] if len(p_lab) else np.zeros(0, dtype=bool)
    masked = 0
    if mask_unannotated and len(p_lab):
        restricted = [d for d, g in enumerate(gold_docs) if g is not None and g.annotated_labels is not None]
        if restricted:
            allowed = np.ones((len(doc_ids), n_all), dtype=bool)
            for d in restricted:
                allowed[d] = False
                ann = gold_docs[d].annotated_labels  # type: ignore[union-attr]
                allowed[d, [index[lab] for lab in ann]] = True  # type: ignore[union-attr]
            ok = allowed[p_doc, p_lab]
            masked = int((p_keep & ~ok).sum())
            p_keep &= ok
    g_keep = keep_label[g_lab] if len(g_lab) else np.zeros(0, dtype=bool)

    if labels is not None:
        universe = list(dict.fromkeys(labels))
    else:
        present = set(np.unique(g_lab[g_keep]).tolist()) | set(np.unique(p_lab[p_keep]).tolist())
        for d in gold_docs:
            if d is not None and d.annotated_labels:
                present.update(index[lab] for lab in d.annotated_labels)
        universe = sorted(names[i] for i in present)
    remap = np.full(n_all + 1, -1, dtype=np.int64)
    for new, name in enumerate(universe):
        if name in index:
            remap[index[name]] = new

    def side(doc: Array, lab: Array, start: Array, end: Array, spans: list[Span], keep: Array) -> SpanArrays:
        idx = np.flatnonzero(keep)
        return SpanArrays(doc[idx], remap[lab[idx]], start[idx], end[idx], idx, spans)

    g = side(g_doc, g_lab, g_start, g_end, g_spans, g_keep)
    p = side(p_doc, p_lab, p_start, p_end, p_spans, p_keep)
    stats = {
        "invalid_predictions_counted_as_false_positives": len(invalid)
        if invalid_predictions == "false_positive"
        else 0,
        "gold_documents": len(gold_map),
        "predicted_documents": len(pred_map),
        "predicted_documents_without_gold": sum(1 for i in pred_map if i not in gold_map),
        "gold_documents_without_predictions": sum(1 for i in gold_map if i not in pred_map),
        "gold_spans": len(g),
        "predicted_spans": len(p),
        "gold_spans_other_labels": int((~g_keep).sum()),
        "predicted_spans_other_labels": int((~keep_label[p_lab]).sum()) if len(p_lab) else 0,
        "predicted_spans_unannotated_type": masked,
        "documents_with_different_text": sum(
            1
            for gd, pd_ in zip(gold_docs, pred_docs, strict=True)
            if gd is not None and pd_ is not None and pd_.text and pd_.text != gd.text
        ),
    }
    prepared = Prepared(doc_ids, gold_docs, pred_docs, tuple(universe), g, p, stats)
    prepared.stats["predicted_span_duplicates"] = len(p) - len(prepared.pred_unique)
    return prepared
