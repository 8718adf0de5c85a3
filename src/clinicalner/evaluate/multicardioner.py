"""The MultiCardioNER evaluator (nlp4bia-bsc/multicardioner_evaluation_library @ 0e5820e3).

Semantics: predictions are de-duplicated on (file, label, start, end), first row kept; a
prediction matches a gold row when file, start, end, label **and text** are equal; gold is not
de-duplicated; only documents that have gold rows are scored, so predictions in any other
document are ignored (not false positives); micro P/R/F1, F1 = 0 when P or R is 0.

The official script compares rows as Python sets of their five values
(``set(gold_row) == set(pred_row)``), which ignores the order of the values; the
TSV entry point :func:`multicardioner_official` keeps that quirk, the Document metric
compares (start, end, label, text) in place.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from clinicalner.document import Span

from .multiclinai import tp_fp_fn
from .prepare import Prepared, SpanArrays
from .spans import exact_matching

Array = np.ndarray

HEADERS = {
    "track1": "MultiCardioNER Shared Task: Subtask 1 (Disease Named Entity Recognition) Results",
    "track2_es": "MultiCardioNER Shared Task: Subtask 2 (Multilingual Drug Named Entity Recognition) Spanish Results",
    "track2_en": "MultiCardioNER Shared Task: Subtask 2 (Multilingual Drug Named Entity Recognition) English Results",
    "track2_it": "MultiCardioNER Shared Task: Subtask 2 (Multilingual Drug Named Entity Recognition) Italian Results",
}
_RULE = "-" * 67


def _surface(prep: Prepared, side: SpanArrays, docs: list, texts: dict[str, int]) -> Array:
    out = np.empty(len(side), dtype=np.int64)
    for i, (span, d) in enumerate(zip(side.spans, side.doc.tolist(), strict=True)):
        s: Span = span
        text = s.text
        if not text:
            doc = docs[d] or prep.gold_docs[d]
            text = doc.text[s.start : s.end] if doc is not None else ""
        out[i] = texts.setdefault(text, len(texts))
    return out


def multicardioner_family(prep: Prepared) -> Array:
    g = prep.gold
    has_gold = np.zeros(prep.n_docs, dtype=bool)
    has_gold[g.doc] = True
    p = prep.pred_unique
    p = p.take(has_gold[p.doc])
    texts: dict[str, int] = {}
    g_text = _surface(prep, g, prep.gold_docs, texts)
    p_text = _surface(prep, p, prep.pred_docs, texts)
    mg, mp = exact_matching(
        (g.doc, g.label, g.start, g.end, g_text), (p.doc, p.label, p.start, p.end, p_text)
    )
    return tp_fp_fn(prep, g, p, mg, mp)


# --------------------------------------------------------------------------- official CLI


def _read_mapping(mapping: str | Path | Mapping[str, str]) -> dict[str, str]:
    if isinstance(mapping, Mapping):
        return dict(mapping)
    out: dict[str, str] = {}
    with open(mapping, encoding="utf-8", newline="") as f:
        for line in csv.reader(f, delimiter="\t"):
            out[line[1]] = line[0]
    return out


def _ratio(a: int, b: int) -> float | int:
    try:
        return a / b
    except ZeroDivisionError:
        return 0


def _prf(tp: int, fp: int, fn: int) -> dict[str, Any]:
    precision = _ratio(tp, tp + fp)
    recall = _ratio(tp, tp + fn)
    f = 0 if precision == 0 or recall == 0 else 2 * precision * recall / (precision + recall)
    return {"recall": round(recall, 4), "precision": round(precision, 4), "f_score": round(f, 4)}


def multicardioner_official(
    gold_tsv: str | Path, pred_tsv: str | Path, mapping: str | Path | Mapping[str, str] | None = None
) -> dict[str, dict[str, Any]]:
    """The scores dict of the official ``calculate_fscore``: one entry per gold document, plus "total".

    ``mapping`` is the masked→real file-name TSV of the official ``-m`` option (column 1 is the
    masked name, column 0 the real one; unmapped predictions are dropped) or a dict; ``None``
    keeps prediction file names as they are (the official script crashes without it).
    Needs pandas.
    """
    try:
        import pandas as pd
    except ImportError as exc:  # pragma: no cover
        raise ImportError("multicardioner_official needs pandas (pip install pandas)") from exc
    df_gs = pd.read_csv(gold_tsv, sep="\t")
    df_preds = pd.read_csv(pred_tsv, sep="\t")
    if mapping is not None:
        df_preds["filename"] = df_preds["filename"].map(_read_mapping(mapping))
    df_preds = df_preds.drop_duplicates(subset=["filename", "label", "start_span", "end_span"]).reset_index(
        drop=True
    )
    cols = ["filename", "start_span", "end_span", "text", "label"]

    def per_doc(df: Any) -> dict[Any, list[list[Any]]]:
        return {name: sub[cols].values.tolist() for name, sub in df.groupby("filename")}

    gold_docs = per_doc(df_gs)
    pred_docs = per_doc(df_preds)
    scores: dict[str, dict[str, Any]] = {}
    total_tp = total_fp = total_fn = 0
    for doc_id, gold_rows in gold_docs.items():
        pred_rows = pred_docs.get(doc_id, [])
        # Rows match when their value sets are equal; greedy matching on an equivalence
        # relation pairs min(#gold, #pred) rows of every class.
        g = Counter(frozenset(r) for r in gold_rows)
        p = Counter(frozenset(r) for r in pred_rows)
        tp = sum(min(n, p[k]) for k, n in g.items())
        fp, fn = len(pred_rows) - tp, len(gold_rows) - tp
        scores[doc_id] = _prf(tp, fp, fn)
        total_tp, total_fp, total_fn = total_tp + tp, total_fp + fp, total_fn + fn
    scores["total"] = _prf(total_tp, total_fp, total_fn)
    return scores


def format_multicardioner_results(
    scores: Mapping[str, Mapping[str, Any]], task: str = "track1", verbose: bool = False
) -> str:
    """The text of the official results file (``write_results``) for these scores."""
    out = [f"{_RULE}\n{HEADERS[task]}\n{_RULE}\n"]
    if verbose:
        for k, v in scores.items():
            if k != "total":
                out.append(
                    f"{_RULE}\nResults for document: {k}\n{_RULE}\n"
                    f"Precision: {v['precision']}\nRecall: {v['recall']}\nF-score: {v['f_score']}\n"
                )
    t = scores["total"]
    out.append(
        f"{_RULE}\nOverall results:\n{_RULE}\n"
        f"Micro-average precision: {t['precision']}\nMicro-average recall: {t['recall']}\n"
        f"Micro-average F-score: {t['f_score']}\n"
    )
    return "".join(out)
