"""Predicted spans with end <= start: an error by default, false positives on request (MultiCardioNER)."""

from __future__ import annotations

import json

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


def test_prediction_past_the_end_of_the_text_is_invalid_too():
    """13-99 on a 17-character text used to be scored silently (and could overlap a gold span)."""
    gold = [Document("d", TEXT, [Span(14, 17, "S")])]
    pred = [Document("d", TEXT, [Span(13, 99, "S")])]
    with pytest.raises(
        CorpusError, match=r"span 13-99 \(S\) of document 'd' ends past the end of its text \(length 17\)"
    ):
        score(gold, pred, metrics=["strict"])
    r = score(gold, pred, metrics=["strict", "relaxed"], invalid_predictions="false_positive")
    assert r.metric("relaxed").precision == 0.0  # counted as a false positive: it overlaps nothing
    assert r.stats["invalid_predictions_counted_as_false_positives"] == 1
    # without a known text (a bare TSV that found no gold text) there is nothing to check against
    bare = [Document("x", "", [Span(13, 99, "S")])]
    assert score(gold, bare, metrics=["strict"]).metric("strict").recall == 0.0


def test_cli_names_file_and_line_of_a_span_past_the_end(tmp_path):
    from typer.testing import CliRunner

    from clinicalner.cli import app

    gold = tmp_path / "gold.jsonl"
    doc = {"id": "d", "text": TEXT, "spans": [{"start": 14, "end": 17, "label": "S"}]}
    gold.write_text(json.dumps(doc) + "\n")
    pred = tmp_path / "p.tsv"
    pred.write_text("filename\tlabel\tstart_span\tend_span\ttext\nd\tS\t13\t99\tx\n")
    r = CliRunner().invoke(app, ["evaluate", str(gold), str(pred), "-m", "strict"])
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert f"{pred}:2: predicted span 13-99 (S)" in r.output and "past the end" in r.output
    r = CliRunner().invoke(
        app, ["evaluate", str(gold), str(pred), "-m", "strict", "--invalid-predictions", "false_positive"]
    )
    assert r.exit_code == 0, r.output


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
