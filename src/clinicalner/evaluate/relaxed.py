"""Relaxed (overlap) F1, as the DT4H paper reports it, made one-to-one.

A predicted span is a true positive when it shares at least one character (half-open
offsets: touching spans do not overlap) with a gold span of the same document and label.
To give no double credit the pairs are chosen by a **maximum bipartite matching** on that
overlap relation: one prediction covering two gold mentions earns one true positive and one
miss, two predictions inside one gold mention earn one true positive and one false
positive. Duplicate predictions are dropped first, as for strict.
TP = matched pairs, FP = predictions - TP, FN = gold - TP.
"""

from __future__ import annotations

import numpy as np

from .multiclinai import same_label_pairs, tp_fp_fn
from .prepare import Prepared
from .spans import max_overlap_matching

Array = np.ndarray


def same_label_matching(prep: Prepared) -> tuple[Array, Array]:
    """Maximum matching of gold and unique predictions on same-label overlap, cached."""
    if "same_label_matching" not in prep.cache:
        g, p, n = prep.gold, prep.pred_unique, prep.n_labels
        prep.cache["same_label_matching"] = max_overlap_matching(
            g.group(n), g.start, g.end, p.group(n), p.start, p.end, pairs=same_label_pairs(prep)
        )
    return prep.cache["same_label_matching"]


def relaxed_family(prep: Prepared) -> Array:
    match_g, match_p = same_label_matching(prep)
    return tp_fp_fn(prep, prep.gold, prep.pred_unique, match_g >= 0, match_p >= 0)
