"""nervaluate 0.1.8 as the M42 clinical NER benchmark runs it, bug for bug.

The M42 leaderboard passes character spans ``{start, end (exclusive), label}`` to
``nervaluate.Evaluator(true, pred, tags=labels).evaluate()``. Version 0.1.8, per document:

- every prediction, in list order, that equals a gold span (value equality) is correct in all
  four schemes, even if that gold span was already matched: duplicate predictions each count;
- otherwise the gold spans are scanned in list order for the first one that either has the
  same start and end but another label (strict/ent_type incorrect, exact/partial correct) or
  overlaps it and was not yet claimed. Overlap is tested on ``range(start, end + 1)``, so with
  exclusive ends touching spans overlap. A same-label overlap is strict/exact incorrect,
  ent_type correct and partial "partial"; another label is incorrect except partial "partial".
  Per-label counts go to the gold span's label;
- a prediction that finds nothing is spurious (charged to its own label); gold spans never
  claimed (value membership: duplicated gold spans share their fate) are missed.

``tags`` are the evaluation's labels (``score(labels=...)``; by default every type seen), and
documents are paired by id, a missing side counting as an empty list (nervaluate itself wants
two aligned lists and raises when their lengths differ).

The candidate gold spans of each prediction come from an interval index, not a scan of the
document, and the rest is one pass over the predictions.
"""

from __future__ import annotations

import numpy as np

from .prepare import Prepared
from .spans import overlap_pairs

Array = np.ndarray

SCHEMES = ("strict", "exact", "partial", "ent_type")
FIELDS = ("correct", "incorrect", "partial", "missed", "spurious")

# Outcome of one prediction or gold span -> field index per scheme (strict, exact, partial, ent_type).
_EXACT, _SAME_BOUNDS_OTHER_LABEL, _OVERLAP_SAME_LABEL, _OVERLAP_OTHER_LABEL, _SPURIOUS, _MISSED = range(6)
_COR, _INC, _PAR, _MIS, _SPU = range(5)
_OUTCOMES = {
    _EXACT: (_COR, _COR, _COR, _COR),
    _SAME_BOUNDS_OTHER_LABEL: (_INC, _COR, _COR, _INC),
    _OVERLAP_SAME_LABEL: (_INC, _INC, _PAR, _COR),
    _OVERLAP_OTHER_LABEL: (_INC, _INC, _PAR, _INC),
    _SPURIOUS: (_SPU, _SPU, _SPU, _SPU),
    _MISSED: (_MIS, _MIS, _MIS, _MIS),
}


def outcome_matrix() -> Array:
    """(6 outcomes, 4 schemes x 5 fields) 0/1 matrix turning outcome counts into scheme counts."""
    m = np.zeros((6, len(SCHEMES) * len(FIELDS)))
    for outcome, fields in _OUTCOMES.items():
        for s, f in enumerate(fields):
            m[outcome, s * len(FIELDS) + f] = 1
    return m


def nervaluate_family(prep: Prepared) -> Array:
    """(documents, labels, 20) table: for each scheme the five SemEval classes."""
    g, p = prep.gold, prep.pred
    n_labels = prep.n_labels
    outcomes: list[int] = []
    cells: list[int] = []
    if len(p):
        pi, gj = overlap_pairs(p.doc, p.start, p.end, g.doc, g.start, g.end, inclusive=True)
        order = np.lexsort((gj, pi))
        pi, gj = pi[order], gj[order]
        bounds = np.searchsorted(pi, np.arange(len(p) + 1)).tolist()
        gd, gl, gs, ge = g.doc.tolist(), g.label.tolist(), g.start.tolist(), g.end.tolist()
        gold_keys = set(zip(gd, gs, ge, gl, strict=True))
        claimed: set[tuple[int, int, int, int]] = set()
        cand = gj.tolist()
        pd_, pl, ps, pe = p.doc.tolist(), p.label.tolist(), p.start.tolist(), p.end.tolist()
        for j in range(len(p)):
            d, lab, s, e = pd_[j], pl[j], ps[j], pe[j]
            key = (d, s, e, lab)
            if key in gold_keys:
                claimed.add(key)
                outcomes.append(_EXACT)
                cells.append(d * n_labels + lab)
                continue
            hit = _SPURIOUS
            cell = d * n_labels + lab
            for i in cand[bounds[j] : bounds[j + 1]]:
                gkey = (gd[i], gs[i], ge[i], gl[i])
                if gs[i] == s and ge[i] == e and gl[i] != lab:
                    hit = _SAME_BOUNDS_OTHER_LABEL
                elif gkey not in claimed:
                    hit = _OVERLAP_SAME_LABEL if gl[i] == lab else _OVERLAP_OTHER_LABEL
                else:
                    continue
                claimed.add(gkey)
                cell = gd[i] * n_labels + gl[i]
                break
            outcomes.append(hit)
            cells.append(cell)
        for i in range(len(g)):
            if (gd[i], gs[i], ge[i], gl[i]) not in claimed:
                outcomes.append(_MISSED)
                cells.append(gd[i] * n_labels + gl[i])
    else:
        outcomes = [_MISSED] * len(g)
        cells = (g.doc * n_labels + g.label).tolist()
    n_cells = prep.n_docs * n_labels
    counts = np.zeros((n_cells, 6))
    if outcomes:
        np.add.at(counts, (np.asarray(cells, dtype=np.int64), np.asarray(outcomes, dtype=np.int64)), 1)
    return (counts @ outcome_matrix()).reshape(prep.n_docs, n_labels, len(SCHEMES) * len(FIELDS))


def columns(scheme: str) -> list[int]:
    """Columns of :func:`nervaluate_family` (and the semeval family) holding one scheme's classes."""
    s = SCHEMES.index(scheme)
    return [s * len(FIELDS) + f for f in range(len(FIELDS))]
