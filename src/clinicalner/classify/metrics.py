"""Classification metrics as small pure functions over arrays (no sklearn needed to score).

Macro F1 over all classes is DNT's (and SMM4H's) headline; per-class P/R/F1, accuracy and
the confusion matrix explain it. A threshold sweep and a precision-recall curve show what
the positive class's threshold trades. Bootstrap intervals resample texts through
:mod:`clinicalner.evaluate.bootstrap`, the same machinery the span scores use.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from clinicalner.evaluate.bootstrap import interval, multiplicities, resample_indices

Array = np.ndarray


def confusion(gold: Sequence[str], pred: Sequence[str], classes: Sequence[str]) -> Array:
    """``m[i, j]``: texts of gold class i predicted as class j (a label outside ``classes`` is an error)."""
    index = {c: k for k, c in enumerate(classes)}
    m = np.zeros((len(classes), len(classes)), dtype=np.int64)
    for g, p in zip(gold, pred, strict=True):
        if g not in index or p not in index:
            raise ValueError(f"label {g if g not in index else p!r} is not one of {list(classes)}")
        m[index[g], index[p]] += 1
    return m


def _safe(num: Array, den: Array) -> Array:
    return np.divide(num, den, out=np.zeros(np.broadcast(num, den).shape, dtype=np.float64), where=den > 0)


def per_class(m: Array) -> dict[str, Array]:
    """Precision, recall, F1 and support of every class from a confusion matrix (last two axes)."""
    tp = np.diagonal(m, axis1=-2, axis2=-1).astype(np.float64)
    predicted = m.sum(axis=-2).astype(np.float64)
    support = m.sum(axis=-1).astype(np.float64)
    p = _safe(tp, predicted)
    r = _safe(tp, support)
    return {"precision": p, "recall": r, "f1": _safe(2 * p * r, p + r), "support": support}


def macro_f1(m: Array) -> Array:
    """Mean F1 over classes (a class absent from gold and predictions scores 0, as sklearn's default)."""
    return per_class(m)["f1"].mean(axis=-1)


def accuracy(m: Array) -> Array:
    return _safe(np.diagonal(m, axis1=-2, axis2=-1).sum(axis=-1).astype(np.float64), m.sum(axis=(-2, -1)))


def threshold_labels(
    probs: Array, classes: Sequence[str], positive: str | None, threshold: float | None
) -> list[str]:
    """Labels from probabilities: argmax, or for a binary task the positive class when P >= threshold."""
    probs = np.asarray(probs, dtype=np.float64)
    if positive is None or threshold is None or len(classes) != 2:
        return [classes[k] for k in probs.argmax(axis=1)]
    k = list(classes).index(positive)
    other = classes[1 - k]
    return [positive if p >= threshold else other for p in probs[:, k]]


def threshold_sweep(
    gold_positive: Array, p_positive: Array, thresholds: Sequence[float] | None = None
) -> list[dict[str, float]]:
    """For each threshold: the positive class's P/R/F1 and the binary macro F1."""
    y = np.asarray(gold_positive, dtype=bool)
    s = np.asarray(p_positive, dtype=np.float64)
    ts = np.round(np.arange(0.05, 1.0, 0.05), 2) if thresholds is None else np.asarray(thresholds)
    rows = []
    for t in ts:
        pred = s >= t
        tp, fp, fn = float((pred & y).sum()), float((pred & ~y).sum()), float((~pred & y).sum())
        tn = float((~pred & ~y).sum())
        m = np.array([[tn, fp], [fn, tp]])
        f = per_class(m)
        rows.append(
            {
                "threshold": float(t),
                "precision": float(f["precision"][1]),
                "recall": float(f["recall"][1]),
                "f1": float(f["f1"][1]),
                "macro_f1": float(f["f1"].mean()),
            }
        )
    return rows


def best_threshold(gold_positive: Array, p_positive: Array) -> tuple[float, float]:
    """The threshold with the highest macro F1 over a fine grid (ties: the one nearest 0.5)."""
    grid = np.round(np.arange(0.02, 0.99, 0.01), 2)
    rows = threshold_sweep(gold_positive, p_positive, grid)
    best = max(rows, key=lambda r: (round(r["macro_f1"], 10), -abs(r["threshold"] - 0.5)))
    return best["threshold"], best["macro_f1"]


def pr_curve(gold_positive: Array, p_positive: Array) -> dict[str, list[float]]:
    """Precision and recall at every distinct score (highest first), and the average precision."""
    y = np.asarray(gold_positive, dtype=bool)
    s = np.asarray(p_positive, dtype=np.float64)
    order = np.argsort(-s, kind="stable")
    s, y = s[order], y[order]
    last = np.r_[np.nonzero(np.diff(s))[0], len(s) - 1] if len(s) else np.zeros(0, dtype=np.int64)
    tp = np.cumsum(y)[last].astype(np.float64)
    fp = (last + 1 - tp).astype(np.float64)
    positives = float(y.sum())
    precision = _safe(tp, tp + fp)
    recall = tp / positives if positives else np.zeros_like(tp)
    ap = float(np.sum(np.diff(np.r_[0.0, recall]) * precision))
    return {
        "threshold": s[last].round(6).tolist(),
        "precision": precision.round(6).tolist(),
        "recall": recall.round(6).tolist(),
        "average_precision": [round(ap, 6)],
    }


def bootstrap_ci(
    gold: Sequence[str], pred: Sequence[str], classes: Sequence[str], n: int, seed: int = 0
) -> dict[str, tuple[float, float]]:
    """95% intervals of macro F1, accuracy and each class's F1, resampling texts."""
    index = {c: k for k, c in enumerate(classes)}
    k = len(classes)
    cell = np.asarray([index[g] * k + index[p] for g, p in zip(gold, pred, strict=True)], dtype=np.int64)
    table = np.zeros((len(cell), k * k))
    table[np.arange(len(cell)), cell] = 1.0
    samples = []
    for block in resample_indices(len(cell), n, seed):
        w = multiplicities(block, len(cell))
        samples.append((w @ table).reshape(-1, k, k))
    m = np.concatenate(samples) if samples else np.zeros((0, k, k))
    f1 = per_class(m)["f1"]
    out = {}
    for name, values in (("macro_f1", f1.mean(axis=-1)), ("accuracy", accuracy(m))):
        lo, hi = interval(values)
        out[name] = (round(float(lo), 4), round(float(hi), 4))
    lo, hi = interval(f1)
    for c, a, b in zip(classes, lo, hi, strict=True):
        out[f"f1_{c}"] = (round(float(a), 4), round(float(b), 4))
    return out
