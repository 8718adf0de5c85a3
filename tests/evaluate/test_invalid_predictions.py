"""Predicted spans with end <= start: an error by default, false positives on request (MultiCardioNER)."""

from __future__ import annotations

import pytest

from clinicalner import api
from clinicalner.document import Document, Span
from clinicalner.errors import CorpusError
from clinicalner.evaluate import score

TEXT = "fiebre alta y tos"


def test_reversed_prediction_is_an_error_by_default():
    gold = [Document("d", TEXT, [Span(0, 6, "S")])]
    pred = [Document("d", TEXT, [Span(0, 6, "S"), Span(14, 11, "S")])]
    with pytest.raises(CorpusError, match="end <= start"):
        score(gold, pred, metrics=["strict"])


def test_reversed_prediction_counts_as_false_positive_everywhere():
    gold = [Document("d", TEXT, [Span(0, 6, "S"), Span(14, 17, "S")])]
    pred = [Document("d", TEXT, [Span(0, 6, "S"), Span(17, 14, "S")])]
    r = score(
        gold,
        pred,
        metrics=["strict", "relaxed", "multiclinai_char", "semeval_ent_type"],
        invalid_predictions="false_positive",
    )
    for name in ("strict", "relaxed", "semeval_ent_type"):
        assert r.metric(name).precision == pytest.approx(0.5), name
        assert r.metric(name).recall == pytest.approx(0.5), name
    # The reversed span overlaps nothing: it gets no character credit either.
    assert r.metric("multiclinai_char").precision == pytest.approx(0.5)


EXPECTED = {
    "all_correct": (1.0, 1.0, 1.0),
    "all_correct+repeated": (1.0, 1.0, 1.0),
    "all_correct+files_not_in_gs": (1.0, 1.0, 1.0),
    "all_incorrect": (0.0, 0.0, 0.0),
    "some_correct": (1.0, 0.5577, 0.716),
    "some_correct+incorrect_span": (0.8056, 0.5577, 0.6591),
    "some_correct+incorrect_text": (1.0, 0.5577, 0.716),
}


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_cli_reproduces_the_multicardioner_results(corpora_dir, case):
    root = corpora_dir / "evaluator-fixtures" / "multicardioner"
    report = api.evaluate(
        root / "ref" / "multicardioner_test_task1_toy.tsv",
        root / "pred" / f"multicardioner_test_task1_{case}.tsv",
        metrics=["multicardioner"],
        invalid_predictions="false_positive",
    )
    m = report.metric("multicardioner")
    assert (round(m.precision, 4), round(m.recall, 4), round(m.f1, 4)) == EXPECTED[case]


def test_the_error_names_the_prediction_file_its_line_and_the_option(corpora_dir):
    root = corpora_dir / "evaluator-fixtures" / "multicardioner"
    pred = root / "pred" / "multicardioner_test_task1_all_incorrect.tsv"
    if not pred.exists():
        pytest.skip("MultiCardioNER fixtures not available")
    with pytest.raises(CorpusError) as info:
        api.evaluate(root / "ref" / "multicardioner_test_task1_toy.tsv", pred)
    err = info.value
    assert err.file == str(pred) and err.line is not None and err.line > 1
    assert "--invalid-predictions false_positive" in str(err)
    # multicardioner alone follows its official scorer without being told
    m = api.evaluate(root / "ref" / "multicardioner_test_task1_toy.tsv", pred, metrics=["multicardioner"])
    assert m.settings["invalid_predictions"] == "false_positive"
    assert (m.metric("multicardioner").precision, m.metric("multicardioner").recall) == (0.0, 0.0)
    assert m.stats["invalid_predictions_counted_as_false_positives"] == 19


def test_the_line_is_found_in_a_bare_tsv(tmp_path):
    pred = tmp_path / "p.tsv"
    pred.write_text(
        "filename\tlabel\tstart_span\tend_span\ttext\nd\tS\t0\t6\tfiebre\nd\tS\t14\t11\tx\n", encoding="utf-8"
    )
    gold = [Document("d", TEXT, [Span(0, 6, "S")])]
    from clinicalner.io import attach_texts, read_corpus

    docs = attach_texts(read_corpus(pred).documents, gold)
    with pytest.raises(CorpusError) as info:
        score(gold, docs, metrics=["strict"])
    assert (info.value.file, info.value.line) == (str(pred), 3)
