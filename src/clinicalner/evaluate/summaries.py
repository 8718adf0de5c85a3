"""Turning count tables into precision, recall and F1.

Every metric is a function of per-(document, label) counts, so one summariser per metric,
vectorised over any leading axes, serves the overall score, every breakdown and every
bootstrap resample alike. A summariser takes an array of shape ``(..., labels, fields)``
and returns precision, recall and F1 of shape ``(...)``.

``skip_empty`` matters only to averages over labels: a label with no count at all (absent
from both sides of the slice) is left out of the mean instead of scoring 0. Breakdown groups
use it, so a folder annotated for one type is not averaged with types it cannot contain.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Array = np.ndarray
Summary = tuple[Array, Array, Array]
Summariser = Callable[..., Summary]


def _div(a: Array, b: Array) -> Array:
    """a / b, and 0 where b is 0 (every peer reports 0 for an empty denominator)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    out = np.zeros(np.broadcast(a, b).shape, dtype=np.float64)
    np.divide(a, b, out=out, where=b != 0)
    return out


def _f1(p: Array, r: Array) -> Array:
    # Same expression as the official scorers (2*p*r/(p+r)), so the floats agree bit for bit.
    return _div(2 * p * r, p + r)


def prf(x: Array, skip_empty: bool = False) -> Summary:
    """Micro P/R/F1 from (tp, fp, fn) summed over labels."""
    s = x.sum(axis=-2)
    tp, fp, fn = s[..., 0], s[..., 1], s[..., 2]
    p = _div(tp, tp + fp)
    r = _div(tp, tp + fn)
    return p, r, _f1(p, r)


def char_overlap(x: Array, skip_empty: bool = False) -> Summary:
    """MultiClinAI char F1 from (sum of best gold scores, gold count, sum of best pred scores, pred count)."""
    s = x.sum(axis=-2)
    r = _div(s[..., 0], s[..., 1])
    p = _div(s[..., 2], s[..., 3])
    return p, r, _f1(p, r)


def scheme(partial_weight: float) -> Summariser:
    """SemEval-2013 classes (correct, incorrect, partial, missed, spurious) to P/R/F1.

    ``partial_weight`` is 0.5 for the partial and type schemes, as nervaluate computes it
    (type never counts partials, so it reduces to correct/actual), and 0 for strict and exact.
    """

    def summarise(x: Array, skip_empty: bool = False) -> Summary:
        s = x.sum(axis=-2)
        cor, inc, par, mis, spu = (s[..., i] for i in range(5))
        actual = cor + inc + par + spu
        possible = cor + inc + par + mis
        credit = cor + partial_weight * par
        p = _div(credit, actual)
        r = _div(credit, possible)
        # nervaluate's expression: 2 * (precision * recall) / (precision + recall)
        return p, r, _div(2 * (p * r), p + r)

    return summarise


def _token_per_label(x: Array) -> tuple[Array, Array, Array, Array]:
    tp, fp, fn = x[..., 0], x[..., 1], x[..., 2]
    p = _div(tp, tp + fp)
    r = _div(tp, tp + fn)
    # scikit-learn's F1: 2tp / (2tp + fp + fn), 0 when that is 0/0.
    f = _div(2 * tp, 2 * tp + fp + fn)
    return p, r, f, tp + fn


def token_micro(x: Array, skip_empty: bool = False) -> Summary:
    s = x.sum(axis=-2)
    tp, fp, fn = s[..., 0], s[..., 1], s[..., 2]
    return _div(tp, tp + fp), _div(tp, tp + fn), _div(2 * tp, 2 * tp + fp + fn)


def _label_mean(values: tuple[Array, ...], x: Array, skip_empty: bool) -> Summary:
    """Mean over the label axis; with ``skip_empty`` only over labels having some count."""
    keep = (x != 0).any(axis=-1) if skip_empty else np.ones(x.shape[:-1], dtype=bool)
    n = keep.sum(axis=-1)
    return tuple(_div((v * keep).sum(axis=-1), n) for v in values)  # type: ignore[return-value]


def token_macro(x: Array, skip_empty: bool = False) -> Summary:
    """Unweighted mean over labels (a label absent from both sides scores 0 and counts)."""
    p, r, f, _ = _token_per_label(x)
    return _label_mean((p, r, f), x, skip_empty)


def token_weighted(x: Array, skip_empty: bool = False) -> Summary:
    """Mean over labels weighted by gold support; 0 when there is no gold token at all."""
    p, r, f, support = _token_per_label(x)
    total = support.sum(axis=-1)
    return (
        _div((p * support).sum(axis=-1), total),
        _div((r * support).sum(axis=-1), total),
        _div((f * support).sum(axis=-1), total),
    )


def macro_over_labels(summarise: Summariser, x: Array, skip_empty: bool = False) -> Summary:
    """The summariser applied to each label alone, then averaged over labels."""
    return _label_mean(summarise(x[..., :, None, :]), x, skip_empty)
