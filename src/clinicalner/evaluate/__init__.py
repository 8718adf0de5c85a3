"""Evaluation exactly as the shared tasks and benchmarks score, plus clean defaults.

``score(gold_docs, pred_docs)`` computes any of :data:`METRICS` on Documents:

- ``strict`` (clean default; same numbers as ``multiclinai_strict``), ``multiclinai_char``,
  ``multiclinai_overlap_v0``: the MultiClinAI evaluator, current and older;
- ``relaxed``: one-to-one overlap F1 (maximum bipartite matching on same-label overlap);
- ``nervaluate_0.1.8_{strict,exact,partial,ent_type}``: the M42 benchmark's span classes,
  bug-compatible; ``semeval_{...}``: the same schemes without the bugs;
- ``m42_token_{micro,macro,weighted}``: the M42 token metrics over words;
- ``multicardioner``: the MultiCardioNER evaluator (text must match too).

``multiclinai_official`` and ``multicardioner_official`` take the TSV files themselves and
return what the official command-line tools print. Nothing here imports torch.
"""

from .metrics import METRICS, MetricSpec
from .multicardioner import format_multicardioner_results, multicardioner_official
from .multiclinai import multiclinai_official
from .report import POLICY, EvaluationReport, MetricResult
from .scoring import BREAKDOWNS, score

__all__ = [
    "BREAKDOWNS",
    "METRICS",
    "POLICY",
    "EvaluationReport",
    "MetricResult",
    "MetricSpec",
    "format_multicardioner_results",
    "multicardioner_official",
    "multiclinai_official",
    "score",
]
