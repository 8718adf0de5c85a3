"""The whole path through the public API, on a tiny encoder built in the test (no network)."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")

from clinicalner import api
from clinicalner.encoders.tiny import build_tiny_encoder
from clinicalner.io import read_corpus, write_corpus
from clinicalner.sample_notes import load_examples


@pytest.fixture(scope="module")
def encoder(tmp_path_factory):
    return build_tiny_encoder(
        tmp_path_factory.mktemp("enc") / "enc", "unigram", vocab_from=[d.text for d in load_examples()]
    )


def test_demo_runs_the_whole_path(encoder, tmp_path):
    import json
    import tomllib

    result = api.demo(tmp_path / "demo", base_model=str(encoder), epochs=5, progress=False)
    assert (result.model / "model.safetensors").is_file()
    # Every epoch runs and the last is kept: no note is held out, none chooses (a 2-note
    # validation split once stopped the demo after epoch 4 with the untrained epoch 1 kept).
    assert json.loads((result.model / "metrics.json").read_text())["best_epoch"] == 5
    run = tomllib.loads((result.model / "train_config.toml").read_text())["run"]
    assert run["selected_on"] == "last" and run["validation_documents"] == 0
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


def test_predict_options_reach_the_model(encoder, tmp_path, monkeypatch):
    """quantize, max_length and stride must get to the tagger; lexicons refuse them."""
    from clinicalner.predict import engine

    docs = load_examples("train")
    write_corpus(docs, tmp_path / "train.jsonl", "jsonl")
    model = api.train(
        [tmp_path / "train.jsonl"], tmp_path / "m", base_model=str(encoder), epochs=1, progress=False
    ).output
    made: list[engine.TransformerTagger] = []
    real = engine.TransformerTagger.__init__

    def spy(self, *a, **kw):
        real(self, *a, **kw)
        made.append(self)

    monkeypatch.setattr(engine.TransformerTagger, "__init__", spy)
    api.predict(
        model,
        tmp_path / "train.jsonl",
        tmp_path / "p.jsonl",
        quantize=True,
        max_length=32,
        stride=20,
        device="cpu",
        progress=False,
    )
    (tagger,) = made
    assert (tagger.max_length, tagger.stride) == (32, 20)
    import torch

    assert any(isinstance(m, torch.ao.nn.quantized.dynamic.Linear) for m in tagger.model.encoder.modules())
    assert len(read_corpus(tmp_path / "p.jsonl").documents) == len(docs)
    with pytest.raises(ValueError, match="max_length 4096"):
        api.predict(model, tmp_path / "train.jsonl", tmp_path / "q.jsonl", max_length=4096, progress=False)
    (tmp_path / "terms.tsv").write_text("fiebre\tSYMPTOM\n", encoding="utf-8")
    with pytest.raises(ValueError, match="lexicon has no quantize"):
        api.predict(tmp_path / "terms.tsv", tmp_path / "train.jsonl", tmp_path / "q.jsonl", quantize=True)


def test_predict_output_format_from_path(tmp_path):
    docs = load_examples("dev")[:2]
    write_corpus(docs, tmp_path / "in.jsonl", "jsonl")
    (tmp_path / "terms.tsv").write_text("fiebre\tSYMPTOM\n", encoding="utf-8")
    api.predict(tmp_path / "terms.tsv", tmp_path / "in.jsonl", tmp_path / "brat", progress=False)
    assert sorted(p.suffix for p in (tmp_path / "brat").rglob("*.*")) == [".ann", ".ann", ".txt", ".txt"]
    with pytest.raises(ValueError, match="cannot tell the output format"):
        api.predict(tmp_path / "terms.tsv", tmp_path / "in.jsonl", tmp_path / "out.xyz", progress=False)
    assert not (tmp_path / "out.xyz").exists()


def test_predict_lenient_reports_what_it_skipped(tmp_path):
    docs = load_examples("dev")[:2]
    write_corpus(docs, tmp_path / "in.jsonl", "jsonl")
    with open(tmp_path / "in.jsonl", "a", encoding="utf-8") as f:
        f.write("{not json\n")
    (tmp_path / "terms.tsv").write_text("fiebre\tSYMPTOM\n", encoding="utf-8")
    summary = api.predict(
        tmp_path / "terms.tsv", tmp_path / "in.jsonl", tmp_path / "p.jsonl", lenient=True, progress=False
    )
    assert (summary.documents, summary.skipped) == (2, 1)
    assert summary.problems == [
        f"{tmp_path / 'in.jsonl'}:3: not valid JSON: Expecting property name "
        "enclosed in double quotes at column 2"
    ]


@pytest.mark.parametrize(
    ("option", "value"),
    [("postprocess", False), ("postprocess", True), ("device", "cpu"), ("batch_tokens", 4096)],
)
def test_predict_with_a_lexicon_refuses_model_options(tmp_path, option, value):
    """A lexicon used to ignore --postprocess/--no-postprocess, --device and --batch-tokens."""
    write_corpus(load_examples("dev")[:2], tmp_path / "in.jsonl", "jsonl")
    (tmp_path / "terms.tsv").write_text("fiebre\tSYMPTOM\n", encoding="utf-8")
    with pytest.raises(ValueError, match=f"lexicon has no {option}"):
        api.predict(tmp_path / "terms.tsv", tmp_path / "in.jsonl", tmp_path / "p.jsonl", **{option: value})
    assert not (tmp_path / "p.jsonl").exists()
    # Left at their defaults they are fine.
    api.predict(tmp_path / "terms.tsv", tmp_path / "in.jsonl", tmp_path / "p.jsonl", progress=False)
    assert (tmp_path / "p.jsonl").is_file()
