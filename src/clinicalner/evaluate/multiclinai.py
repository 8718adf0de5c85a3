"""The official MultiClinAI evaluator (nlp4bia-bsc/MultiClinAIEval, src/evaluate.py).

Two entry points share one set of kernels:

- the count families used by :func:`clinicalner.evaluate.score` (``strict`` /
  ``multiclinai_strict``, ``multiclinai_char``, ``multiclinai_overlap_v0``);
- :func:`multiclinai_official`, which reads the two TSV files with the official loading
  semantics and returns the official CLI's JSON object, value for value and type for type.

Semantics (see the conformance document): predictions are de-duplicated on (file, label,
start, end), gold is not (a duplicated gold row costs recall). Strict is one-to-one on equal
(file, label, start, end). The character metric is not one-to-one: every gold span is scored
by its best same-label prediction of its document (Dice of the character ranges), every
prediction by its best gold span, and recall and precision are the means of those scores.
The older version (``v0``, commit 4516ada6) had instead a greedy one-to-one "partial" metric:
each gold, in file order, takes the first unmatched same-label prediction that shares a
character with it.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

import numpy as np

from .prepare import Prepared, SpanArrays
from .spans import dice_scores, exact_matching, greedy_first_overlap, overlap_pairs

Array = np.ndarray

REQUIRED_COLUMNS = ["filename", "label", "start_span", "end_span", "text"]


def tp_fp_fn(prep: Prepared, gold: SpanArrays, pred: SpanArrays, matched_g: Array, matched_p: Array) -> Array:
    """(documents, labels, 3) table of tp, fp, fn; tp is counted on the gold side."""
    tp = prep.cells(gold.doc, gold.label, matched_g.astype(np.float64))
    fn = prep.cells(gold.doc, gold.label) - tp
    fp = prep.cells(pred.doc, pred.label, (~matched_p).astype(np.float64))
    return np.stack([tp, fp, fn], axis=-1)


def exact_family(prep: Prepared) -> Array:
    g, p = prep.gold, prep.pred_unique
    mg, mp = exact_matching((g.doc, g.label, g.start, g.end), (p.doc, p.label, p.start, p.end))
    return tp_fp_fn(prep, g, p, mg, mp)


def same_label_pairs(prep: Prepared) -> tuple[Array, Array]:
    """Overlapping (gold, unique prediction) pairs of the same document and label, cached."""
    if "same_label_pairs" not in prep.cache:
        g, p, n = prep.gold, prep.pred_unique, prep.n_labels
        prep.cache["same_label_pairs"] = overlap_pairs(g.group(n), g.start, g.end, p.group(n), p.start, p.end)
    return prep.cache["same_label_pairs"]


def char_family(prep: Prepared) -> Array:
    g, p = prep.gold, prep.pred_unique
    best_g, best_p = dice_scores(g.start, g.end, p.start, p.end, same_label_pairs(prep))
    return np.stack(
        [
            prep.cells(g.doc, g.label, best_g),
            prep.cells(g.doc, g.label),
            prep.cells(p.doc, p.label, best_p),
            prep.cells(p.doc, p.label),
        ],
        axis=-1,
    )


def overlap_v0_family(prep: Prepared) -> Array:
    g, p = prep.gold, prep.pred_unique
    mg, mp = greedy_first_overlap(len(g), len(p), same_label_pairs(prep))
    return tp_fp_fn(prep, g, p, mg, mp)


# --------------------------------------------------------------------------- official CLI


def _load_tsv(path: str | Path) -> Any:
    """``load_and_validate_tsv`` of the official script: same pandas calls, same errors."""
    try:
        import pandas as pd
    except ImportError as exc:  # pragma: no cover - pandas is a test/extra dependency
        raise ImportError("multiclinai_official needs pandas (pip install pandas)") from exc
    df = pd.read_csv(path, sep="\t")
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"{path} is missing columns {missing}. Required: {REQUIRED_COLUMNS}")
    df = df[REQUIRED_COLUMNS].copy()
    df["start_span"] = pd.to_numeric(df["start_span"]).astype(int)
    df["end_span"] = pd.to_numeric(df["end_span"]).astype(int)
    if (df["end_span"] <= df["start_span"]).any():
        raise ValueError("Invalid spans detected (end_span <= start_span).")
    return df


class _Keys:
    """Python-equality ids for pandas values, as the official dict grouping sees them.

    ``123`` (an int column) and ``123.0`` (a float column with NaN) are one key, ``"123"`` is
    another; NaN never equals anything, so each NaN row gets a key of its own.
    """

    def __init__(self) -> None:
        self.ids: dict[Any, int] = {}
        self.n = 0

    def __call__(self, values: list[Any]) -> Array:
        out = np.empty(len(values), dtype=np.int64)
        for i, v in enumerate(values):
            if isinstance(v, float) and math.isnan(v):
                out[i] = self.n
                self.n += 1
                continue
            k = self.ids.get(v)
            if k is None:
                k = self.ids[v] = self.n
                self.n += 1
            out[i] = k
        return out


def _official_prf(tp: int, fp: int, fn: int) -> dict[str, Any]:
    # Mirrors safe_f1: integer 0 where a denominator is 0, rounding with round(x, 4).
    precision = tp / (tp + fp) if (tp + fp) else 0
    recall = tp / (tp + fn) if (tp + fn) else 0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "tp": tp,
        "fp": fp,
        "fn": fn,
    }


def _official_char(best_g: Array, best_p: Array) -> dict[str, Any]:
    recall = math.fsum(best_g.tolist()) / len(best_g) if len(best_g) else 0.0
    precision = math.fsum(best_p.tolist()) / len(best_p) if len(best_p) else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "n_gold": len(best_g),
        "n_pred": len(best_p),
    }


def multiclinai_official(
    reference_tsv: str | Path,
    pred_tsv: str | Path,
    entity: str | None = None,
    *,
    version: Literal["current", "v0"] = "current",
) -> dict[str, Any]:
    """The JSON object ``python src/evaluate.py --reference R --pred P [--entity E]`` prints.

    ``version="current"`` (34393077): ``{"entity", "strict", "char_f1"}``; ``version="v0"``
    (4516ada6): ``{"entity", "strict", "partial"}``. Loading reproduces the official quirks:
    offsets go through ``to_numeric(...).astype(int)`` ("5.9" is 5), any ``end <= start`` row
    raises ``ValueError``, file names that all look numeric are read as numbers (``0123``
    matches ``123``), ``NA``/``null`` file names never match, an unbalanced quote makes pandas
    raise ``ParserError``; only predictions are de-duplicated; ``entity`` filters both sides
    after that. Needs pandas.
    """
    df_gold = _load_tsv(reference_tsv)
    df_pred = _load_tsv(pred_tsv)
    df_pred = df_pred.drop_duplicates(subset=["filename", "label", "start_span", "end_span"])
    if entity:
        df_gold = df_gold[df_gold.label == entity]
        df_pred = df_pred[df_pred.label == entity]

    docs, labels = _Keys(), _Keys()

    def arrays(df: Any) -> tuple[Array, Array, Array, Array]:
        return (
            docs(df["filename"].tolist()),
            labels(df["label"].tolist()),
            df["start_span"].to_numpy(dtype=np.int64),
            df["end_span"].to_numpy(dtype=np.int64),
        )

    g_doc, g_lab, g_start, g_end = arrays(df_gold)
    p_doc, p_lab, p_start, p_end = arrays(df_pred)
    mg, mp = exact_matching((g_doc, g_lab, g_start, g_end), (p_doc, p_lab, p_start, p_end))
    strict = _official_prf(int(mg.sum()), int((~mp).sum()), int((~mg).sum()))

    n_lab = max(labels.n, 1)
    pairs = overlap_pairs(g_doc * n_lab + g_lab, g_start, g_end, p_doc * n_lab + p_lab, p_start, p_end)
    if version == "v0":
        vg, vp = greedy_first_overlap(len(g_start), len(p_start), pairs)
        partial = _official_prf(int(vg.sum()), int((~vp).sum()), int((~vg).sum()))
        return {"entity": entity, "strict": strict, "partial": partial}
    if version != "current":
        raise ValueError(f"unknown MultiClinAI evaluator version {version!r} (use 'current' or 'v0')")
    best_g, best_p = dice_scores(g_start, g_end, p_start, p_end, pairs)
    return {"entity": entity, "strict": strict, "char_f1": _official_char(best_g, best_p)}
