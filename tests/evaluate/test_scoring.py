"""score(): policies, breakdowns, self-scoring, and the report's renderings."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from clinicalner.document import Document, Span
from clinicalner.errors import CorpusError
from clinicalner.evaluate import BREAKDOWNS, METRICS, POLICY, score

EXPECTED_NAMES = [
    "strict",
    "multiclinai_strict",
    "multiclinai_char",
    "multiclinai_overlap_v0",
    "relaxed",
    "nervaluate_0.1.8_strict",
    "nervaluate_0.1.8_exact",
    "nervaluate_0.1.8_partial",
    "nervaluate_0.1.8_ent_type",
    "semeval_strict",
    "semeval_exact",
    "semeval_partial",
    "semeval_ent_type",
    "m42_token_micro",
    "m42_token_macro",
    "m42_token_weighted",
    "multicardioner",
]


def _corpus() -> list[Document]:
    """Word-aligned spans of three types over two languages and two folders."""
    texts = {
        "es1": ("Paciente con fiebre alta y dolor torácico; HTA conocida.", "es", "es/dev/symptom"),
        "es2": ("Se realizó ecocardiograma. Diagnóstico: miocarditis aguda.", "es", "es/dev/disease"),
        "en1": (
            "Patient with chest pain; underwent coronary angiography for angina.",
            "en",
            "en/dev/disease",
        ),
    }
    words = {
        "es1": [("fiebre alta", "SYMPTOM"), ("dolor torácico", "SYMPTOM"), ("HTA", "DISEASE")],
        "es2": [("ecocardiograma", "PROCEDURE"), ("miocarditis aguda", "DISEASE")],
        "en1": [("chest pain", "SYMPTOM"), ("coronary angiography", "PROCEDURE"), ("angina", "DISEASE")],
    }
    docs = []
    for doc_id, (text, lang, folder) in texts.items():
        spans = []
        for w, lab in words[doc_id]:
            s = text.index(w)
            spans.append(Span(s, s + len(w), lab, w))
        docs.append(Document(doc_id, text, spans, lang, None, {"folder": folder}))
    return docs


def test_metric_names():
    assert list(METRICS) == EXPECTED_NAMES
    assert all(METRICS[n].description for n in METRICS)


def test_self_score_is_one_on_every_metric():
    docs = _corpus()
    r = score(docs, docs, breakdowns=BREAKDOWNS)
    for name in EXPECTED_NAMES:
        m = r.metric(name)
        assert (m.precision, m.recall, m.f1) == (1.0, 1.0, 1.0), name
        if m.macro_f1 is not None:
            assert m.macro_f1 == 1.0, name
    for kind in ("label", "language", "folder", "document"):
        for key, results in r.breakdowns[kind].items():
            assert all(res.f1 == 1.0 for res in results.values()), (kind, key)


def test_self_score_on_the_shared_corpus(corpora_dir):
    io = pytest.importorskip("clinicalner.io")
    path = corpora_dir / "multiclinai-en-es"
    if not path.is_dir():
        pytest.skip("multiclinai-en-es not available")
    docs = io.read_corpus(path).documents
    r = score(docs, docs, breakdowns=("label", "language", "folder"))
    for name in EXPECTED_NAMES:
        m = r.metric(name)
        assert (m.precision, m.recall, m.f1) == (1.0, 1.0, 1.0), name
    assert set(r.breakdowns["language"]) == {"en", "es"}
    assert len(r.breakdowns["folder"]) == 12


def test_report_access_and_counts():
    gold = _corpus()
    pred = [gold[0].with_spans(gold[0].spans[:2]), gold[1].with_spans([]), gold[2]]
    r = score(gold, pred, metrics=["strict", "relaxed"], breakdowns=BREAKDOWNS)
    s = r.metric("strict")
    assert s.counts == {"tp": 5, "fp": 0, "fn": 3}
    assert r["strict"] is s
    assert s.f1 == pytest.approx(2 * 1.0 * 5 / 8 / (1 + 5 / 8))
    assert r.breakdown("label", "DISEASE", "strict").counts == {"tp": 1, "fp": 0, "fn": 2}
    assert r.breakdown("document", "es2", "strict").counts == {"tp": 0, "fp": 0, "fn": 2}
    assert r.breakdown("language", "en", "strict").f1 == 1.0
    assert r.breakdown("folder", "es/dev/disease", "strict").recall == 0.0
    assert r.sizes["language"]["es"] == {"gold": 5, "predicted": 2}
    # macro over the three labels: DISEASE 1/3 recall, PROCEDURE 1/2, SYMPTOM 1
    dis, pro = 2 * (1 / 3) / (1 + 1 / 3), 2 * 0.5 / 1.5
    assert s.macro_f1 == pytest.approx((dis + pro + 1.0) / 3)
    with pytest.raises(KeyError, match="not computed"):
        r.metric("multiclinai_char")


def test_unannotated_types_are_masked_unless_disabled():
    text = "fiebre y diabetes"
    gold = Document("d", text, [Span(0, 6, "SYMPTOM")], annotated_labels=frozenset({"SYMPTOM"}))
    pred = Document("d", text, [Span(0, 6, "SYMPTOM"), Span(9, 17, "DISEASE")])
    masked = score([gold], [pred], metrics=["strict"], breakdowns=())
    assert masked.metric("strict").counts == {"tp": 1, "fp": 0, "fn": 0}
    assert masked.stats["predicted_spans_unannotated_type"] == 1
    plain = score([gold], [pred], metrics=["strict"], breakdowns=(), mask_unannotated=False)
    assert plain.metric("strict").counts == {"tp": 1, "fp": 1, "fn": 0}


def test_documents_absent_from_one_side():
    gold = [Document("a", "x" * 10, [Span(0, 5, "D")]), Document("b", "x" * 10, [Span(0, 5, "D")])]
    pred = [Document("a", "x" * 10, [Span(0, 5, "D")]), Document("z", "x" * 10, [Span(0, 5, "D")])]
    r = score(gold, pred, metrics=["strict", "multiclinai_char", "multicardioner"], breakdowns=("document",))
    assert r.metric("strict").counts == {"tp": 1, "fp": 1, "fn": 1}
    assert r.metric("multicardioner").counts == {"tp": 1, "fp": 0, "fn": 1}
    assert r.metric("multiclinai_char").counts["n_pred"] == 2
    assert list(r.breakdowns["document"]) == ["a", "b", "z"]
    assert r.stats["predicted_documents_without_gold"] == 1
    assert r.stats["gold_documents_without_predictions"] == 1


def test_same_id_twice_is_merged():
    text = "x" * 20
    gold = [
        Document("a", text, [Span(0, 5, "D")], annotated_labels=frozenset({"D"})),
        Document("a", text, [Span(6, 9, "S")], annotated_labels=frozenset({"S"})),
    ]
    pred = [Document("a", text, [Span(0, 5, "D"), Span(6, 9, "S"), Span(10, 12, "P")])]
    r = score(gold, pred, metrics=["strict"], breakdowns=())
    assert r.metric("strict").counts == {"tp": 2, "fp": 0, "fn": 0}


def test_labels_restrict_and_define_the_macro_set():
    text = "x" * 20
    gold = [Document("a", text, [Span(0, 5, "D"), Span(6, 9, "S")])]
    r = score(gold, gold, metrics=["strict"], labels=["D", "P"], breakdowns=("label",))
    assert r.labels == ("D", "P")
    assert r.metric("strict").counts == {"tp": 1, "fp": 0, "fn": 0}
    assert r.metric("strict").macro_f1 == 0.5
    assert r.stats["gold_spans_other_labels"] == 1


def test_group_macro_skips_types_absent_from_the_group_unless_labels_are_given():
    docs = _corpus()
    seen = score(docs, docs, metrics=["strict", "m42_token_macro"], breakdowns=("folder",))
    # es/dev/disease holds no SYMPTOM at all: it is left out of that folder's averages
    assert seen.breakdown("folder", "es/dev/disease", "m42_token_macro").f1 == 1.0
    assert seen.breakdown("folder", "es/dev/disease", "strict").macro_f1 == 1.0
    given = score(
        docs,
        docs,
        metrics=["strict", "m42_token_macro"],
        labels=["DISEASE", "PROCEDURE", "SYMPTOM"],
        breakdowns=("folder",),
    )
    assert given.breakdown("folder", "es/dev/disease", "m42_token_macro").f1 == pytest.approx(2 / 3)
    assert given.breakdown("folder", "es/dev/disease", "strict").macro_f1 == pytest.approx(2 / 3)


CLEAN = ["strict", "relaxed", "semeval_strict", "semeval_exact", "semeval_partial", "semeval_ent_type"]


def test_discontinuous_spans_are_scored_by_their_fragments_in_the_clean_metrics():
    from clinicalner.document import make_span

    text = "dolor en el pecho y brazo"
    gold = Document("d", text, [make_span(0, 0, "S", fragments=[(0, 5), (12, 17)])])
    outer = Document("d", text, [Span(0, 17, "S")])
    same = Document("d", text, [make_span(0, 0, "S", fragments=[(0, 5), (12, 17)])])
    other = Document("d", text, [make_span(0, 0, "S", fragments=[(0, 5), (9, 17)])])
    r = score([gold], [outer], metrics=["strict", "semeval_exact", "multiclinai_strict"], breakdowns=())
    assert r.metric("strict").f1 == 0.0
    assert r.metric("semeval_exact").f1 == 0.0
    # the official variants keep their peers' rule: outer bounds only
    assert r.metric("multiclinai_strict").f1 == 1.0
    assert score([gold], [same], metrics=["strict"], breakdowns=()).metric("strict").f1 == 1.0
    assert score([gold], [other], metrics=["strict"], breakdowns=()).metric("strict").f1 == 0.0
    # they overlap through their first fragments: relaxed credit
    assert score([gold], [other], metrics=["relaxed"], breakdowns=()).metric("relaxed").f1 == 1.0


def test_overlap_goes_through_fragments_not_the_gap():
    from clinicalner.document import make_span

    text = "dolor en el pecho y brazo"
    gold = Document("d", text, [make_span(0, 0, "S", fragments=[(0, 5), (12, 17)])])
    in_gap = Document("d", text, [Span(6, 11, "S")])
    r = score([gold], [in_gap], metrics=["relaxed", "semeval_ent_type", "multiclinai_char"], breakdowns=())
    assert r.metric("relaxed").counts == {"tp": 0, "fp": 1, "fn": 1}
    assert r.metric("semeval_ent_type").f1 == 0.0
    assert r.metric("multiclinai_char").f1 > 0  # official: outer bounds


def test_distinct_discontinuous_spans_with_one_outer_bound_stay_distinct():
    """Chia: 'A and B cancer' style spans share outer bounds; each is its own mention."""
    from clinicalner.document import make_span

    text = "breast and lung cancer"
    spans = [
        make_span(0, 0, "C", fragments=[(0, 6), (16, 22)]),
        make_span(0, 0, "C", fragments=[(0, 6), (11, 22)]),
        Span(0, 22, "C"),
        Span(0, 22, "C"),  # a duplicated annotation line: one mention
    ]
    doc = Document("d", text, spans)
    r = score([doc], [doc], metrics=[*CLEAN, "multiclinai_strict"], breakdowns=())
    for name in CLEAN:
        assert r.metric(name).f1 == 1.0, name
    assert r.metric("strict").counts == {"tp": 3, "fp": 0, "fn": 0}
    assert r.metric("multiclinai_strict").f1 < 1.0  # the official rule: outer bounds, gold not de-duplicated


def test_tangled_fragment_overlaps_get_a_maximum_matching():
    from clinicalner.document import make_span

    text = "x" * 40
    gold = Document(
        "d",
        text,
        [
            make_span(0, 0, "C", fragments=[(0, 2), (20, 22)]),
            make_span(0, 0, "C", fragments=[(3, 5), (10, 12)]),
        ],
    )
    # p1 overlaps both golds' fragments, p2 only the second gold's: the maximum matching pairs both
    pred = Document("d", text, [Span(0, 4, "C"), Span(10, 11, "C")])
    assert score([gold], [pred], metrics=["relaxed"], breakdowns=()).metric("relaxed").counts == {
        "tp": 2,
        "fp": 0,
        "fn": 0,
    }
    # a tangled cluster where outer bounds would invent a pair: (10, 12) sits in the first gold's gap
    gold = Document("d", text, [make_span(0, 0, "C", fragments=[(0, 2), (20, 22)]), Span(0, 8, "C")])
    pred = Document("d", text, [Span(1, 2, "C"), Span(10, 12, "C")])
    assert score([gold], [pred], metrics=["relaxed"], breakdowns=()).metric("relaxed").counts == {
        "tp": 1,
        "fp": 1,
        "fn": 1,
    }


def test_bad_input_is_reported():
    good = [Document("a", "x" * 10, [Span(0, 5, "D")])]
    bad = [Document("a", "x" * 10, [Span(5, 5, "D")])]
    with pytest.raises(CorpusError, match="'a'"):
        score(good, bad)
    with pytest.raises(ValueError, match="unknown metrics"):
        score(good, good, metrics=["f2"])
    with pytest.raises(ValueError, match="unknown breakdowns"):
        score(good, good, breakdowns=("hospital",))


def test_renderings(tmp_path):
    docs = _corpus()
    pred = [docs[0], docs[1].with_spans(docs[1].spans[:1])]
    r = score(
        docs, pred, metrics=["strict", "multiclinai_char"], breakdowns=("label", "language"), bootstrap=50
    )
    d = json.loads(r.to_json())
    assert d["metrics"]["strict"]["counts"] == {"tp": 4, "fp": 0, "fn": 4}
    assert (
        d["metrics"]["strict"]["ci95"]["f1"][0]
        <= d["metrics"]["strict"]["f1"]
        <= d["metrics"]["strict"]["ci95"]["f1"][1]
    )
    assert d["breakdowns"]["language"]["en"]["size"] == {"gold": 3, "predicted": 0}
    assert d["policy"] == list(POLICY)
    md = r.to_markdown()
    assert "| strict | 1.0000 | 0.5000 | 0.6667 |" in md
    assert "### By language" in md and "| es | 5 | 4 |" in md
    assert "fiebre" not in md and "fiebre" not in r.to_json()  # no note text in reports
    from rich.console import Console

    console = Console(record=True, width=200)
    console.print(r.to_rich())
    assert "multiclinai_char" in console.export_text()
    assert json.loads(r.save(tmp_path / "r.json").read_text(encoding="utf-8")) == d
    assert r.save(tmp_path / "r.md").read_text(encoding="utf-8") == md


def test_evaluation_does_not_import_torch():
    code = (
        "import sys\nfrom clinicalner.document import Document, Span\nfrom clinicalner.evaluate import score\n"
        "d=[Document('a','fiebre alta',[Span(0,6,'S')])]\nscore(d,d)\nassert 'torch' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_empty_inputs_score_zero_without_errors():
    r = score([], [], breakdowns=BREAKDOWNS, bootstrap=10)
    assert r.labels == ()
    assert all((m.precision, m.recall, m.f1) == (0.0, 0.0, 0.0) for m in r.metrics.values())
    only_gold = score(
        [Document("a", "abc def", [Span(0, 3, "X")])], [], metrics=["strict", "m42_token_micro"]
    )
    assert only_gold.metric("strict").counts == {"tp": 0, "fp": 0, "fn": 1}
    assert only_gold.metric("m42_token_micro").counts == {"tp": 0, "fp": 0, "fn": 1}


def test_official_metrics_alone_do_not_build_the_clean_views():
    """The clean views cost two extra sorts: built, and their repeat stats reported, only when
    a clean metric is asked for (the official-only hot path of the benchmark stays as fast)."""
    from clinicalner.evaluate.prepare import prepare

    gold = [Document("a", "fiebre alta", [Span(0, 6, "S"), Span(0, 6, "S")])]
    prep = prepare(gold, gold)
    assert "gold_clean" not in prep.cache and "pred_clean" not in prep.cache
    official = score(gold, gold, metrics=["multiclinai_strict", "multiclinai_char"], breakdowns=())
    assert "gold_span_repeats" not in official.stats
    clean = score(gold, gold, metrics=["multiclinai_strict", "strict"], breakdowns=())
    assert clean.stats["gold_span_repeats"] == 1 and clean.stats["predicted_span_repeats"] == 1
