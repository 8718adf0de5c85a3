"""The whole path through the public API, on a tiny encoder built in the test (no network)."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")

from clinicalner import api
from clinicalner.encoders.tiny import build_tiny_encoder
from clinicalner.examples import load_examples
from clinicalner.io import read_corpus, write_corpus


@pytest.fixture(scope="module")
def encoder(tmp_path_factory):
    return build_tiny_encoder(
        tmp_path_factory.mktemp("enc") / "enc", "unigram", vocab_from=[d.text for d in load_examples()]
    )


def test_demo_runs_the_whole_path(encoder, tmp_path):
    result = api.demo(tmp_path / "demo", base_model=str(encoder), epochs=1, progress=False)
    assert (result.model / "model.safetensors").is_file()
    assert result.predictions.is_file() and result.html.is_file() and result.report.is_file()
    assert "strict" in result.report.read_text()
    assert 0.0 <= result.strict_f1 <= 1.0
    html = result.html.read_text()
    assert "<mark" in html and "es-007" in html


def test_train_predict_folder_of_txt_and_evaluate(encoder, tmp_path):
    train_docs, dev_docs = load_examples("train"), load_examples("dev")
    write_corpus(train_docs, tmp_path / "train.jsonl", "jsonl")
    write_corpus(dev_docs, tmp_path / "dev.jsonl", "jsonl")
    folder = tmp_path / "notes"
    folder.mkdir()
    for d in dev_docs:
        (folder / f"{d.id}.txt").write_text(d.text, encoding="utf-8")
    result = api.train(
        [tmp_path / "train.jsonl"],
        tmp_path / "m",
        base_model=str(encoder),
        dev=[tmp_path / "dev.jsonl"],
        epochs=2,
        batch_size=4,
        progress=False,
    )
    assert result.best_epoch in (1, 2)
    summary = api.predict(result.output, folder, tmp_path / "p.tsv", progress=False)
    assert summary.documents == len(dev_docs)
    pred = read_corpus(tmp_path / "p.tsv").documents
    assert sum(len(d.spans) for d in pred) == summary.spans
    report = api.evaluate(
        tmp_path / "dev.jsonl", tmp_path / "p.tsv", metrics=["strict"], output=tmp_path / "r.json"
    )
    assert 0.0 <= report.metric("strict").f1 <= 1.0
    assert (tmp_path / "r.json").is_file()
    # The gold scored against itself is perfect.
    assert (
        api.evaluate(tmp_path / "dev.jsonl", tmp_path / "dev.jsonl", metrics=["strict"]).metric("strict").f1
        == 1.0
    )
