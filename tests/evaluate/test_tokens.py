"""m42_token_*: majority-character token labels scored like sklearn's classification_report."""

from __future__ import annotations

import random
import re
from collections import Counter

import pytest

from clinicalner.document import Document, Span
from clinicalner.evaluate import score
from clinicalner.evaluate.tokens import DEFAULT_PATTERN, resolve_tokenizer

TOKEN_METRICS = ["m42_token_micro", "m42_token_macro", "m42_token_weighted"]


def _words(n: int) -> tuple[str, list[tuple[int, int]]]:
    """A text of n two-letter words and their offsets."""
    text = " ".join("ab" for _ in range(n))
    return text, [(3 * i, 3 * i + 2) for i in range(n)]


def test_sklearn_vector():
    # gt [O, C, C, O, Dr], pred [C, C, O, O, O], labels [C, Dr]
    text, w = _words(5)
    gold = Document("d", text, [Span(w[1][0], w[2][1], "C"), Span(*w[4], "Dr")])
    pred = Document("d", text, [Span(w[0][0], w[1][1], "C")])
    r = score([gold], [pred], metrics=TOKEN_METRICS, labels=["C", "Dr"], tokenize=f"re:{DEFAULT_PATTERN}")
    assert round(r.metric("m42_token_micro").f1, 4) == 0.4
    assert round(r.metric("m42_token_macro").f1, 4) == 0.25
    assert round(r.metric("m42_token_weighted").f1, 4) == 0.3333
    assert r.breakdown("label", "C", "m42_token_micro").f1 == 0.5
    assert r.breakdown("label", "Dr", "m42_token_micro").f1 == 0.0


def test_absent_label_drags_macro_down():
    text, w = _words(3)
    doc = Document("d", text, [Span(*w[0], "C")])
    r = score([doc], [doc], metrics=TOKEN_METRICS, labels=["C", "Dr"], tokenize=f"re:{DEFAULT_PATTERN}")
    assert r.metric("m42_token_micro").f1 == 1.0
    assert r.metric("m42_token_macro").f1 == 0.5
    assert r.metric("m42_token_weighted").f1 == 1.0


# ---------------------------------------------------------------- hand-computed classification_report


def _labels_by_hand(text, spans, tokens, labels):
    char = {}
    for s in spans:  # later spans overwrite earlier ones
        for i in range(s.start, s.end):
            char[i] = s.label
    out = []
    for a, b in tokens:
        if a == b:
            out.append("O")
            continue
        counts = Counter(char.get(i, "O") for i in range(a, b))
        best = max(counts.values())
        # tie rule: entity types in label order before O
        out.append(next(lab for lab in [*labels, "O"] if counts.get(lab, 0) == best))
    return out


def _report_by_hand(gt, pr, labels):
    per = {}
    for lab in labels:
        tp = sum(g == p == lab for g, p in zip(gt, pr, strict=True))
        npred = sum(p == lab for p in pr)
        sup = sum(g == lab for g in gt)
        p = tp / npred if npred else 0.0
        r = tp / sup if sup else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        per[lab] = (p, r, f, sup, tp, npred)
    tp = sum(v[4] for v in per.values())
    npred = sum(v[5] for v in per.values())
    sup = sum(v[3] for v in per.values())
    mp, mr = (tp / npred if npred else 0.0), (tp / sup if sup else 0.0)
    micro = (mp, mr, 2 * mp * mr / (mp + mr) if mp + mr else 0.0)
    macro = tuple(sum(v[i] for v in per.values()) / len(labels) for i in range(3))
    weighted = tuple(sum(v[i] * v[3] for v in per.values()) / sup if sup else 0.0 for i in range(3))
    return micro, macro, weighted


@pytest.mark.parametrize("seed", range(25))
def test_random_documents_equal_hand_computed_report(seed):
    rng = random.Random(seed)
    labels = ["A", "B", "C"]
    words = ["fiebre", "alta", "de", "38,5", "ºC", "dolor", "torácico", "HTA", "-", "(", ")", "x"]
    golds, preds = [], []
    for i in range(rng.randint(1, 4)):
        text = " ".join(rng.choice(words) for _ in range(rng.randint(3, 20)))
        n = len(text)

        def spans(k, n=n):
            out = []
            for _ in range(k):
                s = rng.randint(0, n - 1)
                out.append(Span(s, rng.randint(s + 1, min(n, s + 15)), rng.choice(labels)))
            return out

        golds.append(Document(f"d{i}", text, spans(rng.randint(0, 5))))
        preds.append(Document(f"d{i}", text, spans(rng.randint(0, 5))))
    r = score(golds, preds, metrics=TOKEN_METRICS, labels=labels, tokenize=f"re:{DEFAULT_PATTERN}")
    gt, pr = [], []
    for g, p in zip(golds, preds, strict=True):
        toks = [m.span() for m in re.finditer(DEFAULT_PATTERN, g.text)]
        gt += _labels_by_hand(g.text, g.spans, toks, labels)
        pr += _labels_by_hand(p.text, p.spans, toks, labels)
    micro, macro, weighted = _report_by_hand(gt, pr, labels)
    for name, exp in (
        ("m42_token_micro", micro),
        ("m42_token_macro", macro),
        ("m42_token_weighted", weighted),
    ):
        m = r.metric(name)
        assert (m.precision, m.recall, m.f1) == pytest.approx(exp, abs=1e-12), name


def test_tokenizer_is_pluggable():
    text = "dolor torácico"
    gold = Document("d", text, [Span(0, 5, "S")])
    pred = Document("d", text, [Span(0, 14, "S")])
    # one token for the whole text: majority of its 14 characters is S in pred, O in gold
    whole = score([gold], [pred], metrics=["m42_token_micro"], tokenize=lambda t: [(0, len(t))])
    assert whole.metric("m42_token_micro").counts == {"tp": 0, "fp": 1, "fn": 0}
    words = score([gold], [pred], metrics=["m42_token_micro"], tokenize=r"re:\S+")
    assert words.metric("m42_token_micro").counts == {"tp": 1, "fp": 1, "fn": 0}
    assert words.settings["tokenizer"] == r"regex \S+"
    compiled = score([gold], [pred], metrics=["m42_token_micro"], tokenize=re.compile(r"\S+"))
    assert compiled.metric("m42_token_micro").counts == words.metric("m42_token_micro").counts
    with pytest.raises(TypeError):
        resolve_tokenizer(3)  # type: ignore[arg-type]


def test_default_tokenizer_splits_words_and_punctuation():
    fn, name = resolve_tokenizer(None)
    spans = list(fn("HTA, 38,5ºC.", "es"))
    assert all(0 <= a < b <= 12 for a, b in spans)
    if name.startswith("regex"):
        assert spans == [m.span() for m in re.finditer(DEFAULT_PATTERN, "HTA, 38,5ºC.")]


def test_zero_width_and_out_of_range_tokens_are_o():
    text = "abc def"
    doc = Document("d", text, [Span(0, 3, "A")])
    r = score([doc], [doc], metrics=["m42_token_micro"], tokenize=lambda t: [(0, 0), (0, 3), (4, 99)])
    assert r.metric("m42_token_micro").counts == {"tp": 1, "fp": 0, "fn": 0}
