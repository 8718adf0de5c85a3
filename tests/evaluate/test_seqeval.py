"""Strict span F1 on non-overlapping, word-aligned spans equals seqeval's entity F1 on their BIO tags."""

from __future__ import annotations

import random

import pytest

from clinicalner.document import Document, Span
from clinicalner.evaluate import score

seqeval_metrics = pytest.importorskip("seqeval.metrics")


def _random_entities(rng: random.Random, n_words: int, labels: str) -> list[tuple[int, int, str]]:
    """Non-overlapping word ranges [a, b) with labels; adjacent same-label entities allowed."""
    out, i = [], 0
    while i < n_words:
        if rng.random() < 0.35:
            j = min(n_words, i + rng.randint(1, 3))
            out.append((i, j, rng.choice(labels)))
            i = j
        else:
            i += 1
    return out


def _bio(n_words: int, ents: list[tuple[int, int, str]]) -> list[str]:
    tags = ["O"] * n_words
    for a, b, lab in ents:
        tags[a] = f"B-{lab}"
        for k in range(a + 1, b):
            tags[k] = f"I-{lab}"
    return tags


def _doc(doc_id: str, n_words: int, ents: list[tuple[int, int, str]]) -> Document:
    text = " ".join(f"w{k:02d}" for k in range(n_words))  # each word is 3 characters + a space
    return Document(doc_id, text, [Span(4 * a, 4 * b - 1, lab) for a, b, lab in ents])


@pytest.mark.parametrize("seed", range(30))
def test_strict_equals_seqeval(seed):
    rng = random.Random(seed)
    labels = "XYZ"
    y_true, y_pred, golds, preds = [], [], [], []
    for d in range(rng.randint(1, 5)):
        n = rng.randint(1, 25)
        g = _random_entities(rng, n, labels)
        p = [e for e in g if rng.random() < 0.6]
        # some boundary and label errors, kept non-overlapping by re-deriving from BIO
        p += _random_entities(rng, n, labels) if rng.random() < 0.5 else []
        p_tags = _bio(n, sorted(p))
        p = _spans_from_bio(p_tags)
        y_true.append(_bio(n, g))
        y_pred.append(p_tags)
        golds.append(_doc(f"d{d}", n, g))
        preds.append(_doc(f"d{d}", n, p))
    r = score(golds, preds, metrics=["strict", "semeval_strict"], breakdowns=("label",))
    s = r.metric("strict")
    assert s.precision == pytest.approx(seqeval_metrics.precision_score(y_true, y_pred), abs=1e-12)
    assert s.recall == pytest.approx(seqeval_metrics.recall_score(y_true, y_pred), abs=1e-12)
    assert s.f1 == pytest.approx(seqeval_metrics.f1_score(y_true, y_pred), abs=1e-12)
    assert r.metric("semeval_strict").f1 == pytest.approx(s.f1, abs=1e-12)
    report = seqeval_metrics.classification_report(y_true, y_pred, output_dict=True, zero_division=0)
    for lab in r.labels:
        if lab in report:
            mine = r.breakdown("label", lab, "strict")
            assert mine.f1 == pytest.approx(report[lab]["f1-score"], abs=1e-12)
            assert mine.counts["tp"] + mine.counts["fn"] == report[lab]["support"]


def _spans_from_bio(tags: list[str]) -> list[tuple[int, int, str]]:
    out, start, label = [], None, None
    for k, t in enumerate([*tags, "O"]):
        if start is not None and (t == "O" or t.startswith("B-") or t[2:] != label):
            out.append((start, k, label))
            start, label = None, None
        if t != "O" and start is None:
            start, label = k, t[2:]
    return out
