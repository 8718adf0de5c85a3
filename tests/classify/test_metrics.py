"""Classification metrics against scikit-learn's, on random labels and scores."""

from __future__ import annotations

import numpy as np
import pytest

from clinicalner.classify import metrics as M

sk = pytest.importorskip("sklearn.metrics")


def _data(seed: int = 0) -> tuple[list[str], list[str], np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    gold = rng.choice(["A", "B", "C"], size=300, p=[0.2, 0.5, 0.3]).tolist()
    pred = [g if rng.random() < 0.7 else rng.choice(["A", "B", "C"]) for g in gold]
    y = rng.random(400) < 0.25
    s = np.clip(y * 0.3 + rng.random(400) * 0.7, 0, 1).round(2)  # ties on purpose
    return gold, pred, y, s


def test_per_class_macro_accuracy_match_sklearn() -> None:
    gold, pred, _, _ = _data()
    classes = ["A", "B", "C"]
    m = M.confusion(gold, pred, classes)
    assert np.array_equal(m, sk.confusion_matrix(gold, pred, labels=classes))
    p, r, f, _ = sk.precision_recall_fscore_support(gold, pred, labels=classes, zero_division=0)
    pc = M.per_class(m)
    assert np.allclose(pc["precision"], p) and np.allclose(pc["recall"], r) and np.allclose(pc["f1"], f)
    assert float(M.macro_f1(m)) == pytest.approx(sk.f1_score(gold, pred, average="macro"))
    assert float(M.accuracy(m)) == pytest.approx(sk.accuracy_score(gold, pred))


def test_pr_curve_and_sweep_match_sklearn() -> None:
    _, _, y, s = _data(1)
    curve = M.pr_curve(y, s)
    assert curve["average_precision"][0] == pytest.approx(sk.average_precision_score(y, s), abs=1e-6)
    p, r, _ = sk.precision_recall_curve(y, s)
    # sklearn lists thresholds ascending with a final (1, 0) point; ours descend.
    assert np.allclose(curve["precision"][::-1], p[:-1]) and np.allclose(curve["recall"][::-1], r[:-1])
    row = next(x for x in M.threshold_sweep(y, s) if x["threshold"] == 0.5)
    assert row["f1"] == pytest.approx(sk.f1_score(y, s >= 0.5))
    assert row["macro_f1"] == pytest.approx(sk.f1_score(y, s >= 0.5, average="macro"))


def test_best_threshold_beats_the_default() -> None:
    _, _, y, s = _data(2)
    t, f1 = M.best_threshold(y, s)
    assert f1 >= sk.f1_score(y, s >= 0.5, average="macro") - 1e-12
    assert f1 == pytest.approx(sk.f1_score(y, s >= t, average="macro"))


def test_threshold_labels() -> None:
    probs = np.array([[0.3, 0.7], [0.6, 0.4], [0.75, 0.25]])
    assert M.threshold_labels(probs, ["ADE", "NO"], None, None) == ["NO", "ADE", "ADE"]
    assert M.threshold_labels(probs, ["ADE", "NO"], "ADE", 0.65) == ["NO", "NO", "ADE"]


def test_bootstrap_interval_brackets_the_estimate() -> None:
    gold, pred, _, _ = _data(3)
    ci = M.bootstrap_ci(gold, pred, ["A", "B", "C"], n=300, seed=1)
    macro = sk.f1_score(gold, pred, average="macro")
    assert ci["macro_f1"][0] < macro < ci["macro_f1"][1]
    assert ci == M.bootstrap_ci(gold, pred, ["A", "B", "C"], n=300, seed=1)


def test_unknown_label_is_an_error() -> None:
    with pytest.raises(ValueError, match="'D' is not one of"):
        M.confusion(["A"], ["D"], ["A", "B"])
