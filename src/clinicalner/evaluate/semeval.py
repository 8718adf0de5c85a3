"""SemEval-2013 span classes, defined cleanly: one-to-one, half-open, no double credit.

The M42 benchmark reports nervaluate 0.1.8's correct / incorrect / partial / missed /
spurious counts (see :mod:`.nervaluate_compat` for its order-dependent quirks). These are the
same four schemes computed without the quirks:

- they read the clean view of the spans, as ``strict`` does: an exactly repeated span (gold or
  predicted) is one mention, and a discontinuous span is its fragments (same bounds means same
  fragments; overlap is through the fragments);
- overlap means sharing at least one character (half-open offsets: touching spans do not);
- every gold and every prediction is in at most one pair. Pairs are chosen per scheme in two
  stages, each a maximum matching: first the pairs the scheme calls correct, then, among the
  spans still unpaired, overlapping pairs of any label, which the scheme calls incorrect
  (``partial`` for the partial scheme). Unpaired gold spans are missed, unpaired predictions
  spurious.

  ========  ===========================================  =================
  scheme    correct (stage 1)                            stage 2 class
  ========  ===========================================  =================
  strict    same start, end and label                    incorrect
  exact     same start and end (same label preferred)    incorrect
  partial   same start and end (same label preferred)    partial (½ credit)
  ent_type  same label, overlapping                      incorrect
  ========  ===========================================  =================

Per-label counts: correct, incorrect, partial and missed go to the gold span's label,
spurious to the prediction's label (as nervaluate does).
"""

from __future__ import annotations

import numpy as np

from .nervaluate_compat import FIELDS, SCHEMES
from .prepare import Prepared
from .relaxed import clean_overlap_matching, same_label_matching
from .spans import exact_matching

Array = np.ndarray


def _submatch(prep: Prepared, mask_g: Array, mask_p: Array, *, bounds_only: bool) -> tuple[Array, Array]:
    """Match only the rows in the masks; return full-length boolean masks of matched rows."""
    g, p = prep.gold_clean, prep.pred_clean
    gi, pi = np.flatnonzero(mask_g), np.flatnonzero(mask_p)
    out_g = np.zeros(len(g), dtype=bool)
    out_p = np.zeros(len(p), dtype=bool)
    if len(gi) == 0 or len(pi) == 0:
        return out_g, out_p
    sg, sp = g.take(mask_g), p.take(mask_p)
    if bounds_only:
        mg, mp = exact_matching((sg.doc, sg.start, sg.end, sg.shape), (sp.doc, sp.start, sp.end, sp.shape))
    else:
        a, b = clean_overlap_matching(sg, sg.doc, sp, sp.doc)
        mg, mp = a >= 0, b >= 0
    out_g[gi[mg]] = True
    out_p[pi[mp]] = True
    return out_g, out_p


def semeval_family(prep: Prepared) -> Array:
    """(documents, labels, 20) table: for each scheme the five SemEval classes."""
    g, p = prep.gold_clean, prep.pred_clean
    ex_g, ex_p = exact_matching(
        (g.doc, g.label, g.start, g.end, g.shape), (p.doc, p.label, p.start, p.end, p.shape)
    )
    sb_g, sb_p = _submatch(prep, ~ex_g, ~ex_p, bounds_only=True)
    bd_g, bd_p = ex_g | sb_g, ex_p | sb_p
    a, b = same_label_matching(prep)
    ov_g, ov_p = a >= 0, b >= 0
    second_strict = _submatch(prep, ~ex_g, ~ex_p, bounds_only=False)
    second_bounds = _submatch(prep, ~bd_g, ~bd_p, bounds_only=False)
    second_type = _submatch(prep, ~ov_g, ~ov_p, bounds_only=False)
    stages = {
        "strict": ((ex_g, ex_p), second_strict, 1),
        "exact": ((bd_g, bd_p), second_bounds, 1),
        "partial": ((bd_g, bd_p), second_bounds, 2),
        "ent_type": ((ov_g, ov_p), second_type, 1),
    }
    zeros = np.zeros((prep.n_docs, prep.n_labels))
    blocks: list[Array] = []
    for name in SCHEMES:
        (cg, cp), (sg, sp), field = stages[name]
        fields = [zeros] * len(FIELDS)
        fields[0] = prep.cells(g.doc, g.label, cg.astype(np.float64))
        fields[field] = prep.cells(g.doc, g.label, sg.astype(np.float64))
        fields[3] = prep.cells(g.doc, g.label, (~(cg | sg)).astype(np.float64))
        fields[4] = prep.cells(p.doc, p.label, (~(cp | sp)).astype(np.float64))
        blocks.extend(fields)
    return np.stack(blocks, axis=-1)
