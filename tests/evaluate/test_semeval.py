"""Clean SemEval classes (semeval_*) and relaxed F1: one-to-one, half-open, order-independent."""

from __future__ import annotations

import random

import pytest

from clinicalner.document import Document, Span
from clinicalner.evaluate import score

C, DR = "C", "Dr"
SCHEMES = ("strict", "exact", "partial", "ent_type")
NAMES = [f"semeval_{s}" for s in SCHEMES] + ["relaxed"]


def _doc(spans, doc_id="d1") -> Document:
    return Document(doc_id, "x" * 60, [Span(s, e, lab) for s, e, lab in spans])


def _run(gold, pred, labels=(C, DR)):
    return score([_doc(gold)], [_doc(pred)], metrics=NAMES, labels=list(labels), breakdowns=("label",))


def _classes(report, scheme):
    c = report.metric(f"semeval_{scheme}").counts
    return (c["correct"], c["incorrect"], c["partial"], c["missed"], c["spurious"])


# gold, pred, {scheme: (cor, inc, par, mis, spu)}
CASES = [
    ("duplicate pred is dropped", [(0, 5, C)], [(0, 5, C), (0, 5, C)], {s: (1, 0, 0, 0, 0) for s in SCHEMES}),
    (
        "touching spans do not overlap",
        [(0, 5, C)],
        [(5, 10, C)],
        {s: (0, 0, 0, 1, 1) for s in SCHEMES},
    ),
    (
        "overlap same type",
        [(0, 10, C)],
        [(5, 15, C)],
        {
            "strict": (0, 1, 0, 0, 0),
            "exact": (0, 1, 0, 0, 0),
            "partial": (0, 0, 1, 0, 0),
            "ent_type": (1, 0, 0, 0, 0),
        },
    ),
    (
        "overlap then exact: no double credit",
        [(0, 10, C)],
        [(0, 5, C), (0, 10, C)],
        {s: (1, 0, 0, 0, 1) for s in SCHEMES},
    ),
    (
        "one pred, two golds",
        [(0, 5, C), (6, 10, C)],
        [(0, 10, C)],
        {
            "strict": (0, 1, 0, 1, 0),
            "exact": (0, 1, 0, 1, 0),
            "partial": (0, 0, 1, 1, 0),
            "ent_type": (1, 0, 0, 1, 0),
        },
    ),
    (
        "same offsets, other label",
        [(0, 5, C)],
        [(0, 5, DR)],
        {
            "strict": (0, 1, 0, 0, 0),
            "exact": (1, 0, 0, 0, 0),
            "partial": (1, 0, 0, 0, 0),
            "ent_type": (0, 1, 0, 0, 0),
        },
    ),
    (
        "each scheme picks its own correct pair",
        [(0, 10, C)],
        [(0, 10, DR), (2, 8, C)],
        {
            "strict": (0, 1, 0, 0, 1),
            "exact": (1, 0, 0, 0, 1),
            "partial": (1, 0, 0, 0, 1),
            "ent_type": (1, 0, 0, 0, 1),
        },
    ),
    (
        "duplicate gold is one mention",
        [(0, 5, C), (0, 5, C)],
        [(0, 5, C)],
        {s: (1, 0, 0, 0, 0) for s in SCHEMES},
    ),
]


@pytest.mark.parametrize("case,gold,pred,expected", CASES, ids=[c[0] for c in CASES])
def test_cases(case, gold, pred, expected):
    r = _run(gold, pred)
    for scheme, classes in expected.items():
        assert _classes(r, scheme) == classes, scheme


def test_order_of_predictions_does_not_matter():
    a = _run([(0, 10, C)], [(0, 5, C), (0, 10, C)])
    b = _run([(0, 10, C)], [(0, 10, C), (0, 5, C)])
    for name in NAMES:
        assert a.metric(name).counts == b.metric(name).counts


def test_partial_credit_and_type_scores():
    r = _run([(0, 10, C)], [(5, 15, C)])
    m = r.metric("semeval_partial")
    assert (m.precision, m.recall, m.f1) == (0.5, 0.5, 0.5)
    assert r.metric("semeval_ent_type").f1 == 1.0
    assert r.metric("semeval_strict").f1 == 0.0


def test_per_label_attribution():
    r = _run([(0, 10, C)], [(5, 15, DR), (30, 35, DR)])
    assert r.breakdown("label", C, "semeval_strict").counts["incorrect"] == 1
    assert r.breakdown("label", DR, "semeval_strict").counts["spurious"] == 1
    assert r.breakdown("label", DR, "semeval_strict").counts["incorrect"] == 0


def test_relaxed_is_maximum_matching_not_greedy():
    # gold A=[0,10) B=[8,12); predictions [8,9) then [0,3): greedy would give 1 TP, matching gives 2
    r = score(
        [_doc([(0, 10, C), (8, 12, C)])],
        [_doc([(8, 9, C), (0, 3, C)])],
        metrics=["relaxed", "multiclinai_overlap_v0"],
        breakdowns=(),
    )
    assert r.metric("relaxed").counts == {"tp": 2, "fp": 0, "fn": 0}
    assert r.metric("multiclinai_overlap_v0").counts == {"tp": 1, "fp": 1, "fn": 1}


@pytest.mark.parametrize(
    "gold,pred,counts",
    [
        ([(0, 10, C)], [(0, 5, C), (6, 10, C)], {"tp": 1, "fp": 1, "fn": 0}),
        ([(0, 5, C), (6, 10, C)], [(0, 10, C)], {"tp": 1, "fp": 0, "fn": 1}),
        ([(0, 5, C)], [(5, 10, C)], {"tp": 0, "fp": 1, "fn": 1}),
        ([(0, 10, C)], [(5, 15, DR)], {"tp": 0, "fp": 1, "fn": 1}),
    ],
)
def test_relaxed_no_double_credit(gold, pred, counts):
    assert _run(gold, pred).metric("relaxed").counts == counts


@pytest.mark.parametrize("seed", range(30))
def test_random_invariants(seed):
    rng = random.Random(seed)
    gold = []
    for _ in range(rng.randint(0, 10)):
        s = rng.randint(0, 40)
        gold.append((s, s + rng.randint(1, 8), rng.choice((C, DR))))
    pred = []
    for _ in range(rng.randint(0, 10)):
        s = rng.randint(0, 40)
        pred.append((s, s + rng.randint(1, 8), rng.choice((C, DR))))
    pred += rng.sample(gold, k=len(gold) // 2)
    a = _run(gold, pred)
    shuffled = pred[:]
    rng.shuffle(shuffled)
    b = _run(gold, shuffled)
    n_gold = len(set(gold))
    n_pred = len(set(pred))
    strict = score([_doc(gold)], [_doc(pred)], metrics=["strict"], breakdowns=()).metric("strict")
    for scheme in SCHEMES:
        ca, cb = _classes(a, scheme), _classes(b, scheme)
        assert ca == cb
        cor, inc, par, mis, spu = ca
        assert cor + inc + par + mis == n_gold
        assert cor + inc + par + spu == n_pred
    assert _classes(a, "strict")[0] == strict.counts["tp"]
    assert _classes(a, "ent_type")[0] == a.metric("relaxed").counts["tp"]
    # more lenient schemes never have fewer correct
    assert _classes(a, "strict")[0] <= _classes(a, "exact")[0]
    assert _classes(a, "strict")[0] <= _classes(a, "ent_type")[0]
    assert a.metric("relaxed").counts == b.metric("relaxed").counts
