"""The official MultiClinAI evaluator's conformance vectors (evaluator-vectors.md §2.1, §2.4).

Every row is checked twice: through ``multiclinai_official`` on TSV files written here, and
through ``score`` on Documents.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from clinicalner.document import Document, Span
from clinicalner.evaluate import multiclinai_official, score

pd = pytest.importorskip("pandas")

HEADER = "filename\tlabel\tstart_span\tend_span\ttext\n"
Row = tuple  # (start, end, label) or (doc, start, end, label)


def _norm(rows: list[Row]) -> list[tuple[str, int, int, str]]:
    return [r if len(r) == 4 else ("d1", *r) for r in rows]


def _tsv(path: Path, rows: list[Row]) -> Path:
    lines = [f"{d}\t{lab}\t{s}\t{e}\tmention{i}\n" for i, (d, s, e, lab) in enumerate(_norm(rows))]
    path.write_text(HEADER + "".join(lines), encoding="utf-8")
    return path


def _docs(rows: list[Row], ids: tuple[str, ...] = ()) -> list[Document]:
    by: dict[str, list[Span]] = {i: [] for i in ids}
    for d, s, e, lab in _norm(rows):
        by.setdefault(d, []).append(Span(s, e, lab))
    return [Document(d, "x" * 80, spans) for d, spans in by.items()]  # every span fits the text


D, S = "D", "S"
# case, gold, pred, entity, strict (tp, fp, fn), strict P/R/F, char P/R/F
CASES = [
    ("exact", [(0, 5, D)], [(0, 5, D)], None, (1, 0, 0), (1, 1, 1), (1, 1, 1)),
    ("duplicate pred", [(0, 5, D)], [(0, 5, D), (0, 5, D)], None, (1, 0, 0), (1, 1, 1), (1, 1, 1)),
    ("duplicate gold", [(0, 5, D), (0, 5, D)], [(0, 5, D)], None, (1, 0, 1), (1, 0.5, 0.6667), (1, 1, 1)),
    ("same offsets, other label", [(0, 5, D)], [(0, 5, S)], None, (0, 1, 1), (0, 0, 0), (0, 0, 0)),
    ("partial overlap", [(0, 10, D)], [(5, 15, D)], None, (0, 1, 1), (0, 0, 0), (0.5, 0.5, 0.5)),
    ("overlap, other label", [(0, 10, D)], [(5, 15, S)], None, (0, 1, 1), (0, 0, 0), (0, 0, 0)),
    (
        "other-label exact + same-label inside",
        [(0, 10, D)],
        [(0, 10, S), (2, 10, D)],
        None,
        (0, 2, 1),
        (0, 0, 0),
        (0.4444, 0.8889, 0.5926),
    ),
    ("pred inside gold", [(0, 10, D)], [(0, 5, D)], None, (0, 1, 1), (0, 0, 0), (0.6667, 0.6667, 0.6667)),
    (
        "two preds, one gold",
        [(0, 10, D)],
        [(0, 10, D), (0, 5, D)],
        None,
        (1, 1, 0),
        (0.5, 1, 0.6667),
        (0.8333, 1, 0.9091),
    ),
    (
        "one pred, two golds",
        [(0, 5, D), (6, 10, D)],
        [(0, 10, D)],
        None,
        (0, 1, 2),
        (0, 0, 0),
        (0.6667, 0.619, 0.642),
    ),
    (
        "pred in doc absent from gold",
        [(0, 5, D)],
        [(0, 5, D), ("dX", 0, 5, D)],
        None,
        (1, 1, 0),
        (0.5, 1, 0.6667),
        (0.5, 1, 0.6667),
    ),
    ("touching", [(0, 5, D)], [(5, 10, D)], None, (0, 1, 1), (0, 0, 0), (0, 0, 0)),
    ("empty prediction file", [(0, 5, D)], [], None, (0, 0, 1), (0, 0, 0), (0, 0, 0)),
    (
        "--entity SYMPTOM",
        [(0, 5, D), (6, 9, S)],
        [(0, 5, D), (6, 8, S)],
        S,
        (0, 1, 1),
        (0, 0, 0),
        (0.8, 0.8, 0.8),
    ),
]


@pytest.mark.parametrize("case,gold,pred,entity,counts,strict,char", CASES, ids=[c[0] for c in CASES])
def test_official_tsv(tmp_path, case, gold, pred, entity, counts, strict, char):
    out = multiclinai_official(_tsv(tmp_path / "g.tsv", gold), _tsv(tmp_path / "p.tsv", pred), entity)
    assert out["entity"] == entity
    assert (out["strict"]["tp"], out["strict"]["fp"], out["strict"]["fn"]) == counts
    assert (out["strict"]["precision"], out["strict"]["recall"], out["strict"]["f1"]) == strict
    assert (out["char_f1"]["precision"], out["char_f1"]["recall"], out["char_f1"]["f1"]) == char
    assert out["char_f1"]["n_pred"] == len({r for r in _norm(pred) if entity is None or r[3] == entity})


@pytest.mark.parametrize("case,gold,pred,entity,counts,strict,char", CASES, ids=[c[0] for c in CASES])
def test_documents(case, gold, pred, entity, counts, strict, char):
    report = score(
        _docs(gold),
        _docs(pred, ids=("d1",)),
        metrics=["strict", "multiclinai_strict", "multiclinai_char"],
        labels=None if entity is None else [entity],
    )
    # The clean strict agrees with the official one except where gold repeats a row: there a
    # duplicated annotation line is one mention (tested below).
    names = ("multiclinai_strict",) if case == "duplicate gold" else ("strict", "multiclinai_strict")
    for name in names:
        r = report.metric(name)
        assert (r.counts["tp"], r.counts["fp"], r.counts["fn"]) == counts
        assert tuple(round(v, 4) for v in (r.precision, r.recall, r.f1)) == strict
    c = report.metric("multiclinai_char")
    assert tuple(round(v, 4) for v in (c.precision, c.recall, c.f1)) == char


def test_clean_strict_counts_a_repeated_gold_row_once():
    report = score(
        _docs([(0, 5, D), (0, 5, D)]), _docs([(0, 5, D)]), metrics=["strict", "multiclinai_strict"]
    )
    assert report.metric("multiclinai_strict").counts == {"tp": 1, "fp": 0, "fn": 1}
    assert report.metric("strict").counts == {"tp": 1, "fp": 0, "fn": 0}
    assert report.stats["gold_span_repeats"] == 1


def test_official_json_types_are_byte_identical(tmp_path):
    out = multiclinai_official(_tsv(tmp_path / "g.tsv", [(0, 5, D)]), _tsv(tmp_path / "p.tsv", []))
    # integer 0 where the official divides by zero, floats elsewhere
    assert json.dumps(out) == (
        '{"entity": null, "strict": {"precision": 0, "recall": 0.0, "f1": 0, "tp": 0, "fp": 0, "fn": 1}, '
        '"char_f1": {"precision": 0.0, "recall": 0.0, "f1": 0.0, "n_gold": 1, "n_pred": 0}}'
    )
    out = multiclinai_official(_tsv(tmp_path / "g.tsv", [(0, 5, D)]), _tsv(tmp_path / "p.tsv", [(0, 5, D)]))
    assert (
        json.dumps(out["strict"]) == '{"precision": 1.0, "recall": 1.0, "f1": 1.0, "tp": 1, "fp": 0, "fn": 0}'
    )


def _raw(path: Path, body: str) -> Path:
    path.write_text(HEADER + body, encoding="utf-8")
    return path


def test_end_not_after_start_is_value_error(tmp_path):
    g = _tsv(tmp_path / "g.tsv", [(0, 5, D)])
    with pytest.raises(ValueError, match="end_span <= start_span"):
        multiclinai_official(g, _raw(tmp_path / "p.tsv", "d1\tD\t5\t5\tx\n"))
    with pytest.raises(ValueError, match="end_span <= start_span"):
        multiclinai_official(_raw(tmp_path / "g2.tsv", "d1\tD\t7\t3\tx\n"), g)


def test_fractional_offsets_truncate(tmp_path):
    out = multiclinai_official(
        _tsv(tmp_path / "g.tsv", [(0, 5, D)]), _raw(tmp_path / "p.tsv", "d1\tD\t0.0\t5.9\tx\n")
    )
    assert (out["strict"]["tp"], out["strict"]["fp"], out["strict"]["fn"]) == (1, 0, 0)
    assert out["char_f1"]["f1"] == 1.0


def test_negative_start_is_accepted(tmp_path):
    out = multiclinai_official(
        _raw(tmp_path / "g.tsv", "d1\tD\t-3\t5\tx\n"), _raw(tmp_path / "p.tsv", "d1\tD\t-3\t5\tx\n")
    )
    assert out["strict"]["tp"] == 1


def test_numeric_filenames_are_parsed_as_integers(tmp_path):
    out = multiclinai_official(
        _raw(tmp_path / "g.tsv", "0123\tD\t0\t5\tx\n"), _raw(tmp_path / "p.tsv", "123\tD\t0\t5\tx\n")
    )
    assert out["strict"]["tp"] == 1
    # once a non-numeric name appears on one side that side stays text: "123" != 123
    out = multiclinai_official(
        _raw(tmp_path / "g.tsv", "123\tD\t0\t5\tx\n"),
        _raw(tmp_path / "p.tsv", "123\tD\t0\t5\tx\nabc\tD\t0\t5\tx\n"),
    )
    assert (out["strict"]["tp"], out["strict"]["fp"], out["strict"]["fn"]) == (0, 2, 1)


def test_na_filenames_never_match(tmp_path):
    body = "NA\tD\t0\t5\tx\nnull\tD\t0\t5\tx\n"
    out = multiclinai_official(_raw(tmp_path / "g.tsv", body), _raw(tmp_path / "p.tsv", "NA\tD\t0\t5\tx\n"))
    assert (out["strict"]["tp"], out["strict"]["fp"], out["strict"]["fn"]) == (0, 1, 2)
    assert out["char_f1"]["f1"] == 0.0


def test_na_filename_predictions_are_still_deduplicated(tmp_path):
    body = "NA\tD\t0\t5\tx\nNA\tD\t0\t5\ty\n"
    out = multiclinai_official(_raw(tmp_path / "g.tsv", "d1\tD\t0\t5\tx\n"), _raw(tmp_path / "p.tsv", body))
    assert out["strict"]["fp"] == 1


def test_unbalanced_quote_is_parser_error(tmp_path):
    with pytest.raises(pd.errors.ParserError):
        multiclinai_official(
            _tsv(tmp_path / "g.tsv", [(0, 5, D)]), _raw(tmp_path / "p.tsv", 'd1\tD\t0\t5\t"abc\n')
        )


def test_missing_column_and_case_sensitive_labels(tmp_path):
    bad = tmp_path / "bad.tsv"
    bad.write_text("filename\tlabel\tstart_span\tend_span\nd1\tD\t0\t5\n", encoding="utf-8")
    with pytest.raises(ValueError, match="missing columns"):
        multiclinai_official(_tsv(tmp_path / "g.tsv", [(0, 5, D)]), bad)
    out = multiclinai_official(
        _tsv(tmp_path / "g.tsv", [(0, 5, "DISEASE")]), _tsv(tmp_path / "p.tsv", [(0, 5, "disease")])
    )
    assert out["strict"]["tp"] == 0
    out = multiclinai_official(
        _tsv(tmp_path / "g.tsv", [(0, 5, "DISEASE")]), _tsv(tmp_path / "p.tsv", []), "disease"
    )
    assert out["strict"]["fn"] == 0


def test_filename_must_match_exactly(tmp_path):
    out = multiclinai_official(
        _tsv(tmp_path / "g.tsv", [("doc1", 0, 5, D)]), _tsv(tmp_path / "p.tsv", [("doc1.txt", 0, 5, D)])
    )
    assert (out["strict"]["tp"], out["strict"]["fp"], out["strict"]["fn"]) == (0, 1, 1)


# --------------------------------------------------------------------------- v0 (4516ada6)

V0_CASES = [
    # gold, pred, partial (tp, fp, fn)
    ([(0, 10, D)], [(5, 15, D)], (1, 0, 0)),
    ([(0, 5, D)], [(5, 10, D)], (0, 1, 1)),  # touching: max(start) < min(end) fails
    ([(0, 10, D)], [(5, 15, S)], (0, 1, 1)),
    ([(0, 10, D)], [(0, 10, D), (0, 5, D)], (1, 1, 0)),
    ([(0, 5, D), (6, 10, D)], [(0, 10, D)], (1, 0, 1)),
    # greedy, order-dependent: gold A grabs P1, which B needed
    ([(0, 10, D), (8, 12, D)], [(8, 9, D), (0, 3, D)], (1, 1, 1)),
    ([(0, 10, D), (8, 12, D)], [(0, 3, D), (8, 9, D)], (2, 0, 0)),
]


@pytest.mark.parametrize("gold,pred,counts", V0_CASES)
def test_overlap_v0(tmp_path, gold, pred, counts):
    out = multiclinai_official(_tsv(tmp_path / "g.tsv", gold), _tsv(tmp_path / "p.tsv", pred), version="v0")
    assert set(out) == {"entity", "strict", "partial"}
    assert (out["partial"]["tp"], out["partial"]["fp"], out["partial"]["fn"]) == counts
    r = score(_docs(gold), _docs(pred, ids=("d1",)), metrics=["multiclinai_overlap_v0"], breakdowns=())
    m = r.metric("multiclinai_overlap_v0")
    assert (m.counts["tp"], m.counts["fp"], m.counts["fn"]) == counts


# --------------------------------------------------------------------------- random, against nested loops


def _reference(gold: list[tuple], pred: list[tuple]) -> tuple[tuple[int, int, int], float, float, tuple]:
    """The official algorithm written as plainly as possible (rows are (doc, start, end, label))."""
    v0 = [0, 0, 0]
    seen, dedup = set(), []
    for r in pred:
        if r not in seen:
            seen.add(r)
            dedup.append(r)
    tp = fp = fn = 0
    g_scores, p_scores = [], []
    for d in sorted({r[0] for r in gold} | {r[0] for r in dedup}):
        gd = [r for r in gold if r[0] == d]
        pdd = [r for r in dedup if r[0] == d]
        used: set[int] = set()
        for g in gd:
            for j, p in enumerate(pdd):
                if j not in used and p == g:
                    used.add(j)
                    tp += 1
                    break
        fp += len(pdd) - len(used)
        fn += len(gd) - len(used)
        used = set()
        for g in gd:
            for j, p in enumerate(pdd):
                if j not in used and p[3] == g[3] and max(g[1], p[1]) < min(g[2], p[2]):
                    used.add(j)
                    v0[0] += 1
                    break
        v0[1] += len(pdd) - len(used)
        v0[2] += len(gd) - len(used)

        def dice(g, p):
            if g[3] != p[3]:
                return 0.0
            inter = max(0, min(g[2], p[2]) - max(g[1], p[1]))
            if inter == 0:
                return 0.0
            r, pr = inter / (g[2] - g[1]), inter / (p[2] - p[1])
            return 2 * pr * r / (pr + r)

        g_scores += [max([dice(g, p) for p in pdd] + [0.0]) for g in gd]
        p_scores += [max([dice(g, p) for g in gd] + [0.0]) for p in pdd]
    rec = sum(g_scores) / len(g_scores) if g_scores else 0.0
    prec = sum(p_scores) / len(p_scores) if p_scores else 0.0
    return (tp, fp, fn), prec, rec, tuple(v0)


@pytest.mark.parametrize("seed", range(15))
def test_random_against_nested_loops(tmp_path, seed):
    rng = random.Random(seed)
    gold = []
    for _ in range(rng.randint(0, 40)):
        s = rng.randint(0, 60)
        gold.append((f"doc{rng.randint(0, 5)}", s, s + rng.randint(1, 10), rng.choice("DS")))
    pred = []
    for g in gold:
        roll = rng.random()
        if roll < 0.4:
            pred.append(g)
        elif roll < 0.7:
            pred.append((g[0], max(0, g[1] + rng.randint(-3, 3)), g[2] + rng.randint(1, 3), g[3]))
        if rng.random() < 0.1:
            pred.append(g)
    for _ in range(rng.randint(0, 8)):
        s = rng.randint(0, 60)
        pred.append((f"doc{rng.randint(0, 7)}", s, s + rng.randint(1, 10), rng.choice("DS")))
    rng.shuffle(pred)
    counts, prec, rec, v0 = _reference(gold, pred)
    out = multiclinai_official(_tsv(tmp_path / "g.tsv", gold), _tsv(tmp_path / "p.tsv", pred))
    assert (out["strict"]["tp"], out["strict"]["fp"], out["strict"]["fn"]) == counts
    assert out["char_f1"]["precision"] == round(prec, 4)
    assert out["char_f1"]["recall"] == round(rec, 4)
    old = multiclinai_official(tmp_path / "g.tsv", tmp_path / "p.tsv", version="v0")["partial"]
    assert (old["tp"], old["fp"], old["fn"]) == v0
    report = score(
        _docs(gold),
        _docs(pred),
        metrics=["strict", "multiclinai_char", "multiclinai_overlap_v0"],
        breakdowns=(),
    )
    o = report.metric("multiclinai_overlap_v0")
    assert (o.counts["tp"], o.counts["fp"], o.counts["fn"]) == v0
    s = report.metric("strict")
    assert (s.counts["tp"], s.counts["fp"], s.counts["fn"]) == counts
    c = report.metric("multiclinai_char")
    assert c.precision == pytest.approx(prec, abs=1e-12)
    assert c.recall == pytest.approx(rec, abs=1e-12)


def test_an_entity_on_neither_side_is_an_error_where_the_official_scorer_gives_zeros(tmp_path):
    """A deliberate difference (README, Evaluation): a misspelt --entity scores 0 silently in the
    official evaluator; ``score`` refuses it and names the labels there are."""
    from clinicalner.errors import CorpusError

    gold, pred = [(0, 5, D)], [(0, 5, D)]
    out = multiclinai_official(_tsv(tmp_path / "g.tsv", gold), _tsv(tmp_path / "p.tsv", pred), "DISEAS")
    assert (out["strict"]["tp"], out["strict"]["fp"], out["strict"]["fn"]) == (0, 0, 0)
    assert out["strict"]["f1"] == 0
    with pytest.raises(CorpusError, match=r"DISEAS are in neither.*the labels there are: D"):
        score(_docs(gold), _docs(pred), metrics=["multiclinai_strict"], labels=["DISEAS"])
