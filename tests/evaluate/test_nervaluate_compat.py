"""nervaluate_0.1.8_*: the M42 vectors (evaluator-vectors.md §2.4) and random documents vs nervaluate."""

from __future__ import annotations

import random

import pytest

from clinicalner.document import Document, Span
from clinicalner.evaluate import score

nervaluate = pytest.importorskip("nervaluate")

C, DR = "C", "Dr"
TAGS = [C, DR]
SCHEMES = ("strict", "exact", "partial", "ent_type")
FIELDS = ("correct", "incorrect", "partial", "missed", "spurious")


def _doc(spans, doc_id="d1") -> Document:
    return Document(doc_id, "x" * 40, [Span(s, e, lab) for s, e, lab in spans])


def _score(gold_docs, pred_docs, labels=TAGS):
    return score(
        gold_docs,
        pred_docs,
        metrics=[f"nervaluate_0.1.8_{s}" for s in SCHEMES],
        labels=labels,
        breakdowns=("label",),
    )


def _cims(result) -> tuple[int, int, int, int]:
    c = result.counts
    return (c["correct"], c["incorrect"], c["missed"], c["spurious"])


# case, gold, pred, strict c/i/m/s, strict F, ent_type c/i/m/s, ent_type F
VECTORS = [
    ("duplicate pred", [(0, 5, C)], [(0, 5, C), (0, 5, C)], (2, 0, 0, 0), 1.0, (2, 0, 0, 0), 1.0),
    ("duplicate gold", [(0, 5, C), (0, 5, C)], [(0, 5, C)], (1, 0, 0, 0), 1.0, (1, 0, 0, 0), 1.0),
    ("overlap same type", [(0, 10, C)], [(5, 15, C)], (0, 1, 0, 0), 0.0, (1, 0, 0, 0), 1.0),
    ("touching", [(0, 5, C)], [(5, 10, C)], (0, 1, 0, 0), 0.0, (1, 0, 0, 0), 1.0),
    ("two preds, one gold", [(0, 10, C)], [(0, 5, C), (6, 10, C)], (0, 1, 0, 1), 0.0, (1, 0, 0, 1), 0.6667),
    ("overlap then exact", [(0, 10, C)], [(0, 5, C), (0, 10, C)], (1, 1, 0, 0), 0.5, (2, 0, 0, 0), 1.0),
    ("exact then overlap", [(0, 10, C)], [(0, 10, C), (0, 5, C)], (1, 0, 0, 1), 0.6667, (1, 0, 0, 1), 0.6667),
    ("one pred, two golds", [(0, 5, C), (6, 10, C)], [(0, 10, C)], (0, 1, 1, 0), 0.0, (1, 0, 1, 0), 0.6667),
    ("same offsets, other label", [(0, 5, C)], [(0, 5, DR)], (0, 1, 0, 0), 0.0, (0, 1, 0, 0), 0.0),
    ("overlap, other label", [(0, 10, C)], [(5, 15, DR)], (0, 1, 0, 0), 0.0, (0, 1, 0, 0), 0.0),
    ("label outside tags", [(0, 5, C)], [(0, 5, "gene")], (0, 0, 1, 0), 0.0, (0, 0, 1, 0), 0.0),
]


@pytest.mark.parametrize("case,gold,pred,strict,strict_f,ent,ent_f", VECTORS, ids=[v[0] for v in VECTORS])
def test_m42_vectors(case, gold, pred, strict, strict_f, ent, ent_f):
    r = _score([_doc(gold)], [_doc(pred)])
    assert _cims(r.metric("nervaluate_0.1.8_strict")) == strict
    assert round(r.metric("nervaluate_0.1.8_strict").f1, 4) == strict_f
    assert _cims(r.metric("nervaluate_0.1.8_ent_type")) == ent
    assert round(r.metric("nervaluate_0.1.8_ent_type").f1, 4) == ent_f


@pytest.mark.parametrize("gold,pred", [([(0, 5, C)], [(0, 5, DR)]), ([(0, 10, C)], [(5, 15, DR)])])
def test_other_label_is_charged_to_the_gold_label(gold, pred):
    r = _score([_doc(gold)], [_doc(pred)])
    for scheme in ("strict", "ent_type"):
        assert r.breakdown("label", C, f"nervaluate_0.1.8_{scheme}").counts["incorrect"] == 1
        assert all(v == 0 for v in r.breakdown("label", DR, f"nervaluate_0.1.8_{scheme}").counts.values())


def test_partial_scheme_gives_half_credit():
    r = _score([_doc([(0, 10, C)])], [_doc([(5, 15, C)])])
    m = r.metric("nervaluate_0.1.8_partial")
    assert m.counts["partial"] == 1
    assert (m.precision, m.recall, m.f1) == (0.5, 0.5, 0.5)


def _random_spans(rng: random.Random, labels: str, n: int) -> list[tuple[int, int, str]]:
    out = []
    for _ in range(n):
        s = rng.randint(0, 25)
        out.append((s, s + rng.randint(0, 6) + 1, rng.choice(labels)))
    return out


def _perturb(rng: random.Random, gold):
    pred = []
    for s, e, lab in gold:
        roll = rng.random()
        if roll < 0.35:
            pred.append((s, e, lab))
        elif roll < 0.55:
            ns = max(0, s + rng.randint(-2, 2))
            pred.append((ns, max(ns + 1, e + rng.randint(-1, 2)), lab))
        elif roll < 0.7:
            pred.append((s, e, rng.choice("ABC")))
        if rng.random() < 0.1:
            pred.append((s, e, lab))
    pred += _random_spans(rng, "ABC", rng.randint(0, 3))
    rng.shuffle(pred)
    return pred


@pytest.mark.parametrize("seed", range(100))
def test_random_documents_equal_nervaluate(seed):
    rng = random.Random(seed)
    tags = ["A", "B", "C"] if seed % 2 else ["A", "B"]
    golds, preds = [], []
    for _ in range(rng.randint(1, 6)):
        g = _random_spans(rng, "ABC", rng.randint(0, 7))
        golds.append(g)
        preds.append(_perturb(rng, g))
    true = [[{"start": s, "end": e, "label": lab} for s, e, lab in doc] for doc in golds]
    pred = [[{"start": s, "end": e, "label": lab} for s, e, lab in doc] for doc in preds]
    results, per_tag = nervaluate.Evaluator(true, pred, tags=tags).evaluate()
    ours = _score(
        [_doc(g, f"d{i}") for i, g in enumerate(golds)],
        [_doc(p, f"d{i}") for i, p in enumerate(preds)],
        labels=tags,
    )
    for scheme in SCHEMES:
        name = f"nervaluate_0.1.8_{scheme}"
        mine = ours.metric(name)
        theirs = results[scheme]
        assert {f: mine.counts[f] for f in FIELDS} == {f: theirs[f] for f in FIELDS}, scheme
        assert mine.precision == pytest.approx(theirs["precision"], abs=1e-12)
        assert mine.recall == pytest.approx(theirs["recall"], abs=1e-12)
        assert mine.f1 == pytest.approx(theirs["f1"], abs=1e-12)
        for tag in tags:
            mt = ours.breakdown("label", tag, name)
            tt = per_tag[tag][scheme]
            assert {f: mt.counts[f] for f in FIELDS} == {f: tt[f] for f in FIELDS}, (scheme, tag)
            assert mt.f1 == pytest.approx(tt["f1"], abs=1e-12)
