"""Relaxed (overlap) F1, as the DT4H paper reports it, made one-to-one.

A predicted span is a true positive when it shares at least one character (half-open
offsets: touching spans do not overlap) with a gold span of the same document and label.
To give no double credit the pairs are chosen by a **maximum bipartite matching** on that
overlap relation: one prediction covering two gold mentions earns one true positive and one
miss, two predictions inside one gold mention earn one true positive and one false
positive. Like ``strict`` it reads the clean view of the spans (:attr:`Prepared.gold_clean`):
an exactly repeated span is one mention, and a discontinuous span overlaps only through its
fragments. TP = matched pairs, FP = predictions - TP, FN = gold - TP.

This module also holds the clean exact match (``strict``): same document, label and fragments.
"""

from __future__ import annotations

import numpy as np

from .multiclinai import tp_fp_fn
from .prepare import Prepared, SpanArrays
from .spans import exact_matching, max_overlap_matching, overlap_pairs, piece_overlap_pairs

Array = np.ndarray


def clean_overlap_pairs(g: SpanArrays, g_group: Array, p: SpanArrays, p_group: Array) -> tuple[Array, Array]:
    """(gold, prediction) rows of one group sharing a character; fragments when there are any."""
    if not (g.irregular.any() or p.irregular.any()):
        return overlap_pairs(g_group, g.start, g.end, p_group, p.start, p.end)
    return piece_overlap_pairs(g_group, g.pieces(), p_group, p.pieces())


def clean_overlap_matching(
    g: SpanArrays, g_group: Array, p: SpanArrays, p_group: Array
) -> tuple[Array, Array]:
    """Maximum one-to-one matching on same-group overlap (fragment-aware); partner index or -1."""
    pairs = clean_overlap_pairs(g, g_group, p, p_group)
    return max_overlap_matching(
        g_group, g.start, g.end, p_group, p.start, p.end, pairs=pairs, irregular=(g.irregular, p.irregular)
    )


def same_label_matching(prep: Prepared) -> tuple[Array, Array]:
    """Maximum matching of clean gold and predictions on same-label overlap, cached."""
    if "same_label_matching" not in prep.cache:
        g, p, n = prep.gold_clean, prep.pred_clean, prep.n_labels
        prep.cache["same_label_matching"] = clean_overlap_matching(g, g.group(n), p, p.group(n))
    return prep.cache["same_label_matching"]


def strict_family(prep: Prepared) -> Array:
    """Clean exact match: document, label, start, end and fragments; one-to-one; repeats once."""
    g, p = prep.gold_clean, prep.pred_clean
    mg, mp = exact_matching(
        (g.doc, g.label, g.start, g.end, g.shape), (p.doc, p.label, p.start, p.end, p.shape)
    )
    return tp_fp_fn(prep, g, p, mg, mp)


def relaxed_family(prep: Prepared) -> Array:
    match_g, match_p = same_label_matching(prep)
    return tp_fp_fn(prep, prep.gold_clean, prep.pred_clean, match_g >= 0, match_p >= 0)
