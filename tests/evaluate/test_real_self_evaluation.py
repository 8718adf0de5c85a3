"""Every real corpus scored against itself: every clean metric is 1.0.

The official variants keep their peers' rules; on Chia (duplicated annotation lines, distinct
discontinuous spans with one outer bound) they stay below 1.0, as README's Evaluation says.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from clinicalner.evaluate import METRICS, score
from clinicalner.io import read_corpus

CORPORA = ["chia", "bc5cdr", "biored", "ncbi-disease", "spaccc-es", "multiclinai-en-es"]
CLEAN = [
    "strict",
    "relaxed",
    "semeval_strict",
    "semeval_exact",
    "semeval_partial",
    "semeval_ent_type",
    "m42_token_micro",
    "m42_token_macro",
    "m42_token_weighted",
]


@pytest.mark.parametrize("name", CORPORA)
def test_a_corpus_against_itself(corpora_dir: Path, name: str) -> None:
    path = corpora_dir / name
    if not path.exists():
        pytest.skip(f"{name} not in the shared corpora")
    docs = read_corpus(path, lenient=True).documents  # Chia has a few stray lines
    r = score(docs, docs, breakdowns=())
    for metric in CLEAN:
        assert r.metric(metric).f1 == 1.0, metric
    official = [m for m in METRICS if m not in CLEAN]
    for metric in official:
        assert r.metric(metric).f1 > 0.99, metric
    if name == "chia":
        # 29 repeated annotation lines + 85 distinct discontinuous spans sharing outer bounds
        assert r.stats["gold_span_repeats"] == 29
        assert r.metric("multiclinai_strict").counts["fn"] == 114
    if name == "bc5cdr":
        # the training file repeats the development abstracts: counted once, and said so
        assert r.stats["gold_spans_repeated_in_copies"] > 0 and r.warnings
