"""Bootstrap intervals: the vectorised resampling equals re-scoring resampled corpora."""

from __future__ import annotations

import random

import numpy as np
import pytest

from clinicalner.document import Document, Span
from clinicalner.evaluate import score
from clinicalner.evaluate.bootstrap import interval, multiplicities, resample_indices

METRICS = ["strict", "multiclinai_char", "relaxed", "nervaluate_0.1.8_ent_type", "m42_token_macro"]


def _corpus(seed: int) -> tuple[list[Document], list[Document]]:
    rng = random.Random(seed)
    golds, preds = [], []
    for d in range(7):
        text = " ".join(rng.choice(["dolor", "fiebre", "de", "HTA", "tos", "x"]) for _ in range(30))
        words = [(i, i + len(w)) for i, w in _words(text)]
        gold = [Span(s, e, rng.choice("AB")) for s, e in rng.sample(words, 6)]
        pred = [g for g in gold if rng.random() < 0.6]
        pred += [Span(s, e, rng.choice("AB")) for s, e in rng.sample(words, 2)]
        golds.append(Document(f"d{d}", text, gold, "es" if d % 2 else "en"))
        preds.append(Document(f"d{d}", text, pred))
    return golds, preds


def _words(text: str) -> list[tuple[int, str]]:
    out, i = [], 0
    for w in text.split(" "):
        out.append((i, w))
        i += len(w) + 1
    return out


def test_multiplicities():
    idx = np.array([[0, 0, 2], [1, 2, 2]])
    assert multiplicities(idx, 3).tolist() == [[2, 0, 1], [0, 1, 2]]


def test_intervals_equal_rescoring_resampled_documents():
    golds, preds = _corpus(1)
    n_boot = 40
    r = score(golds, preds, metrics=METRICS, breakdowns=("label",), bootstrap=n_boot, seed=7)
    draws = np.concatenate(list(resample_indices(len(golds), n_boot, seed=7)))
    naive: dict[str, list[float]] = {m: [] for m in METRICS}
    naive_label: list[float] = []
    for row in draws.tolist():
        g = [Document(f"{golds[i].id}#{k}", golds[i].text, golds[i].spans) for k, i in enumerate(row)]
        p = [Document(f"{preds[i].id}#{k}", preds[i].text, preds[i].spans) for k, i in enumerate(row)]
        res = score(g, p, metrics=METRICS, labels=list(r.labels), breakdowns=("label",))
        for m in METRICS:
            naive[m].append(res.metric(m).f1)
        naive_label.append(res.breakdown("label", "A", "strict").f1)
    for m in METRICS:
        lo, hi = interval(np.array(naive[m]))
        assert r.metric(m).ci["f1"] == pytest.approx((float(lo), float(hi)), abs=1e-12), m
    lo, hi = interval(np.array(naive_label))
    assert r.breakdown("label", "A", "strict").ci["f1"] == pytest.approx((float(lo), float(hi)), abs=1e-12)


def test_seeded_and_grouped():
    golds, preds = _corpus(2)
    a = score(golds, preds, metrics=["strict"], breakdowns=("language",), bootstrap=200, seed=3)
    b = score(golds, preds, metrics=["strict"], breakdowns=("language",), bootstrap=200, seed=3)
    c = score(golds, preds, metrics=["strict"], breakdowns=("language",), bootstrap=200, seed=4)
    assert a.metric("strict").ci == b.metric("strict").ci
    assert a.metric("strict").ci != c.metric("strict").ci
    lo, hi = a.metric("strict").ci["f1"]
    assert lo <= a.metric("strict").f1 <= hi and lo < hi
    for lang in ("en", "es"):
        g_lo, g_hi = a.breakdown("language", lang, "strict").ci["recall"]
        assert 0.0 <= g_lo <= g_hi <= 1.0
    assert score(golds, preds, metrics=["strict"], breakdowns=()).metric("strict").ci is None


def test_large_resample_counts_are_blocked():
    # more resamples than one block holds still give one interval per metric
    blocks = list(resample_indices(3, 5, seed=0))
    assert sum(len(b) for b in blocks) == 5
    golds, preds = _corpus(3)
    r = score(golds, preds, metrics=["strict"], breakdowns=(), bootstrap=2000, seed=0)
    lo, hi = r.metric("strict").ci["precision"]
    assert 0.0 <= lo <= r.metric("strict").precision <= hi <= 1.0
