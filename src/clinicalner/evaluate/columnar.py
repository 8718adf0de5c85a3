"""Scoring two bare TSVs straight from their columns: no ``Span`` per row, the same report.

Why: ``clinicalner evaluate GOLD.tsv PRED.tsv`` on half a million spans a side spent most of
its time making a ``Span`` per row, a ``Document`` per name, and flattening them back into the
arrays the metrics read. When both sides are bare TSVs (one file each, no texts) and every
metric asked for reads only offsets and labels, :func:`score_bare_tsvs` reads both files with
:func:`clinicalner.io.tsv_columns.read_span_columns` and builds the :class:`Prepared` arrays
directly: one ``Document`` (without spans) per name, the pairing and policies of
:func:`clinicalner.evaluate.prepare.prepare` for this case (every document language-less and
annotating every type; one document per name, so no copies to merge), then
:func:`clinicalner.evaluate.scoring.score_prepared`. Anything else returns ``None`` and the
caller takes the general path: other formats or metrics (``multicardioner`` compares span
texts; the token metrics cut texts), ``errors``, a label map, and any span with end <= start
(the general path names its file and line).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from clinicalner.document import Document
from clinicalner.errors import CorpusError, Problems
from clinicalner.io.detect import detect_format
from clinicalner.io.tsv_columns import SpanColumns, read_span_columns

from .metrics import METRICS
from .prepare import Prepared, _Side, assemble
from .report import EvaluationReport
from .scoring import BREAKDOWNS, checked_settings, score_prepared

# Families that read nothing but documents, labels and offsets.
COLUMNAR_FAMILIES = frozenset({"exact", "char", "overlap_v0", "strict", "relaxed", "semeval", "nervaluate"})


def applies(
    gold: str | Path,
    pred: str | Path,
    metrics: Sequence[str] | None,
    gold_format: str | None = None,
    pred_format: str | None = None,
) -> bool:
    """Whether :func:`score_bare_tsvs` can score this: two bare TSV files, column-only metrics."""
    if not metrics or any(m not in METRICS or METRICS[m].family not in COLUMNAR_FAMILIES for m in metrics):
        return False
    for path, fmt in ((gold, gold_format), (pred, pred_format)):
        p = Path(path)
        if not p.is_file():
            return False
        try:
            if (fmt or detect_format(p)) not in ("multiclinai", "tsv"):
                return False
        except CorpusError:
            return False  # the general path raises it
    return True


def score_bare_tsvs(
    gold: str | Path,
    pred: str | Path,
    *,
    metrics: Sequence[str],
    labels: Sequence[str] | None = None,
    breakdowns: Sequence[str] = ("label",),
    bootstrap: int = 0,
    seed: int = 0,
    lenient: bool = False,
    mask_unannotated: bool = True,
    invalid_predictions: str | None = None,
) -> EvaluationReport | None:
    """What ``api.evaluate`` reports for two bare TSVs (see :func:`applies`), or None.

    None (nothing reported, nothing raised) when the general path must decide: a bad setting,
    or a span with end <= start. A bad row raises (or, ``lenient``, is skipped and counted)
    exactly as when the files are read row by row.
    """
    if any(b not in BREAKDOWNS for b in breakdowns) or bootstrap < 0:
        return None
    names, invalid_predictions = checked_settings(metrics, breakdowns, bootstrap, invalid_predictions)
    if invalid_predictions not in ("error", "false_positive"):
        return None
    gold_problems, pred_problems = Problems(lenient, []), Problems(lenient, [])
    g = read_span_columns(gold, gold_problems)
    p = read_span_columns(pred, pred_problems)
    prep = prepare_columns(g, p, labels=labels)
    if prep is None:
        return None
    report = score_prepared(
        prep,
        names,
        labels=labels,
        breakdowns=breakdowns,
        bootstrap=bootstrap,
        seed=seed,
        tokenize=None,
        mask_unannotated=mask_unannotated,
        invalid_predictions=invalid_predictions,
        errors=False,
    )
    report.note_skipped("gold", gold_problems.skipped)
    report.note_skipped("predicted", pred_problems.skipped)
    return report


def prepare_columns(gold: SpanColumns, pred: SpanColumns, *, labels: Sequence[str] | None) -> Prepared | None:
    """:func:`~clinicalner.evaluate.prepare.prepare` for two bare TSVs; None if a span has end <= start.

    Gold documents first, in file order, then the predicted names the gold lacks, in theirs;
    within a document the rows keep their file order. ``mask_unannotated`` changes nothing
    here: a bare TSV does not say which types a document annotates.
    """
    if bool((gold.end <= gold.start).any()) or bool((pred.end <= pred.start).any()):
        return None
    gold_pos = {name: i for i, name in enumerate(gold.doc_names)}
    n_gold = len(gold.doc_names)
    unpaired = [name for name in pred.doc_names if name not in gold_pos]
    # each predicted document's position: its gold document's, or after the gold ones
    pred_pos = np.array([gold_pos.get(name, -1) for name in pred.doc_names], dtype=np.int64)
    missing = np.flatnonzero(pred_pos < 0)
    pred_pos[missing] = n_gold + np.arange(len(missing))
    doc_ids = [*gold.doc_names, *unpaired]

    def document(name: str, source: Path) -> Document:
        return Document(name, "", [], None, None, {"has_text": False, "source": str(source)})

    gold_docs: list[Document | None] = [document(n, gold.path) for n in gold.doc_names]
    gold_docs += [None] * len(unpaired)
    pred_docs: list[Document | None] = [None] * len(doc_ids)
    for name, pos in zip(pred.doc_names, pred_pos.tolist(), strict=True):
        pred_docs[pos] = document(name, pred.path)

    index = {name: i for i, name in enumerate(gold.label_names)}
    for name in pred.label_names:
        index.setdefault(name, len(index))
    pred_labels = np.array([index[n] for n in pred.label_names] or [0], dtype=np.int64)

    g_order = np.argsort(gold.doc, kind="stable")
    p_doc = pred_pos[pred.doc] if len(pred) else pred.doc
    p_order = np.argsort(p_doc, kind="stable")
    empty: list = []  # no Span objects: no metric of COLUMNAR_FAMILIES reads them
    g = (
        gold.doc[g_order],
        gold.label[g_order],
        gold.start[g_order],
        gold.end[g_order],
        empty,
        _zeros(len(gold)),
    )
    p = (
        p_doc[p_order],
        pred_labels[pred.label[p_order]] if len(pred) else pred.label,
        pred.start[p_order],
        pred.end[p_order],
        empty,
        _zeros(len(pred)),
    )
    n_paired = len(pred.doc_names) - len(unpaired)
    counts = {
        "invalid_predictions_counted_as_false_positives": 0,
        "gold_documents": n_gold,
        "predicted_documents": len(pred.doc_names),
        "predicted_documents_without_gold": len(unpaired),
        "gold_documents_without_predictions": n_gold - n_paired,
    }
    no_copies = (_Side({}, 0, 0, None), _Side({}, 0, 0, None))
    return assemble(
        doc_ids,
        gold_docs,
        pred_docs,
        index,
        g,
        p,
        labels=labels,
        mask_unannotated=False,
        counts=counts,
        copies=no_copies,
    )


def _zeros(n: int) -> np.ndarray:
    return np.zeros(n, dtype=np.int64)
