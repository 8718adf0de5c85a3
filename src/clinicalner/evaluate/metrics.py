"""The registry of metrics: names, where each comes from, and how it is computed.

A metric is a *family* (a function producing a per-(document, label) count table, shared
by the metrics that read the same counts), the columns of that table it reads, and a
summariser turning summed counts into precision, recall and F1.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from . import summaries
from .multicardioner import multicardioner_family
from .multiclinai import char_family, exact_family, overlap_v0_family
from .nervaluate_compat import FIELDS as SCHEME_FIELDS
from .nervaluate_compat import SCHEMES, columns, nervaluate_family
from .prepare import Prepared
from .relaxed import relaxed_family, strict_family
from .semeval import semeval_family
from .tokens import TokenSpans, token_family

Array = np.ndarray
Family = Callable[[Prepared, TokenSpans], Array]

PRF_FIELDS = ("tp", "fp", "fn")
CHAR_FIELDS = ("gold_score_sum", "n_gold", "pred_score_sum", "n_pred")


@dataclass(frozen=True)
class MetricSpec:
    name: str
    family: str
    columns: tuple[int, ...]
    fields: tuple[str, ...]
    summarise: summaries.Summariser
    macro: bool
    description: str


FAMILIES: dict[str, Family] = {
    "strict": lambda prep, tok: strict_family(prep),
    "exact": lambda prep, tok: exact_family(prep),
    "char": lambda prep, tok: char_family(prep),
    "overlap_v0": lambda prep, tok: overlap_v0_family(prep),
    "relaxed": lambda prep, tok: relaxed_family(prep),
    "nervaluate": lambda prep, tok: nervaluate_family(prep),
    "semeval": lambda prep, tok: semeval_family(prep),
    "tokens": token_family,
    "multicardioner": lambda prep, tok: multicardioner_family(prep),
}

# The families reading the clean view of the spans (Prepared.gold_clean / pred_clean).
CLEAN_FAMILIES = frozenset({"strict", "relaxed", "semeval"})

_PARTIAL_WEIGHT = {"strict": 0.0, "exact": 0.0, "partial": 0.5, "ent_type": 0.5}


def _specs() -> dict[str, MetricSpec]:
    prf = (0, 1, 2)
    specs = [
        MetricSpec(
            "strict",
            "strict",
            prf,
            PRF_FIELDS,
            summaries.prf,
            True,
            "Exact document, label and offsets (a discontinuous span: the same fragments), one-to-one, "
            "an exactly repeated span counted once on either side (the clean default; the same numbers "
            "as multiclinai_strict unless gold repeats a span or has discontinuous spans).",
        ),
        MetricSpec(
            "multiclinai_strict",
            "exact",
            prf,
            PRF_FIELDS,
            summaries.prf,
            True,
            "Official MultiClinAI strict metric (nlp4bia-bsc/MultiClinAIEval @ 34393077).",
        ),
        MetricSpec(
            "multiclinai_char",
            "char",
            (0, 1, 2, 3),
            CHAR_FIELDS,
            summaries.char_overlap,
            True,
            "Official MultiClinAI character-overlap F1: each gold span scored by its best same-label "
            "prediction (Dice), each prediction by its best gold span, averaged; not one-to-one.",
        ),
        MetricSpec(
            "multiclinai_overlap_v0",
            "overlap_v0",
            prf,
            PRF_FIELDS,
            summaries.prf,
            True,
            "Older MultiClinAI 'partial' metric (@ 4516ada6): each gold, in file order, takes the first "
            "unmatched same-label prediction that overlaps it.",
        ),
        MetricSpec(
            "relaxed",
            "relaxed",
            prf,
            PRF_FIELDS,
            summaries.prf,
            True,
            "Relaxed (overlap) F1 as in DT4H, one-to-one: maximum bipartite matching on same-label "
            "half-open overlap, no double credit.",
        ),
    ]
    for family, prefix, what in (
        ("nervaluate", "nervaluate_0.1.8_", "nervaluate 0.1.8 as the M42 benchmark runs it (bug-compatible)"),
        ("semeval", "semeval_", "SemEval-2013 classes, one-to-one, half-open, no double credit"),
    ):
        for scheme in SCHEMES:
            specs.append(
                MetricSpec(
                    f"{prefix}{scheme}",
                    family,
                    tuple(columns(scheme)),
                    SCHEME_FIELDS,
                    summaries.scheme(_PARTIAL_WEIGHT[scheme]),
                    True,
                    f"{what}, '{scheme}' scheme.",
                )
            )
    for avg, fn in (
        ("micro", summaries.token_micro),
        ("macro", summaries.token_macro),
        ("weighted", summaries.token_weighted),
    ):
        specs.append(
            MetricSpec(
                f"m42_token_{avg}",
                "tokens",
                prf,
                PRF_FIELDS,
                fn,
                False,
                f"M42 token-level {avg} average over words (majority-character label per token, "
                "scikit-learn classification_report with O excluded).",
            )
        )
    specs.append(
        MetricSpec(
            "multicardioner",
            "multicardioner",
            prf,
            PRF_FIELDS,
            summaries.prf,
            True,
            "MultiCardioNER evaluator: span text must match too; predictions in documents without "
            "gold spans are ignored.",
        )
    )
    return {s.name: s for s in specs}


METRICS: dict[str, MetricSpec] = _specs()
