"""Hyper-parameter search end to end on the built-in notes with a tiny encoder."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")
pytest.importorskip("optuna")

from typer.testing import CliRunner

from clinicalner.cli import app
from clinicalner.encoders.tiny import build_tiny_encoder
from clinicalner.errors import CorpusError
from clinicalner.examples import load_examples
from clinicalner.io import write_corpus
from clinicalner.train.config import TrainConfig
from clinicalner.train.tune import tune


def _setup(tmp_path):
    enc = build_tiny_encoder(tmp_path / "enc", "wordpiece", vocab_from=[d.text for d in load_examples()])
    write_corpus(load_examples("train"), tmp_path / "train.jsonl", "jsonl")
    write_corpus(load_examples("dev"), tmp_path / "dev.jsonl", "jsonl")
    config = tmp_path / "search.toml"
    config.write_text(
        f"""
[train]
corpora = ["{tmp_path / "train.jsonl"}"]
dev = ["{tmp_path / "dev.jsonl"}"]
base_model = "{enc}"
epochs = 2
batch_size = 4
max_length = 64
stride = 48
threads = 1

[search]
learning_rate = {{ low = 1e-4, high = 1e-2, log = true }}
head = ["linear", "mlp"]
crf = [true, false]
"""
    )
    return config


def test_tune_runs_resumes_and_writes_a_trainable_config(tmp_path):
    config = _setup(tmp_path)
    runner = CliRunner()
    r = runner.invoke(
        app, ["tune", str(config), "--trials", "3", "--output", str(tmp_path / "out"), "--no-progress"]
    )
    assert r.exit_code == 0, r.output
    assert (tmp_path / "out" / "study.db").is_file()
    best = TrainConfig.load(tmp_path / "out" / "best_config.toml")
    assert best.head in ("linear", "mlp") and 1e-4 <= best.learning_rate <= 1e-2
    # Resuming: the study already has 3 trials, asking for 4 runs exactly one more.
    result = tune(config, trials=4, output=tmp_path / "out", progress=False)
    assert result.trials == 4
    assert not (tmp_path / "out" / "trials").exists() or not any((tmp_path / "out" / "trials").iterdir())


def test_search_space_typos_fail_before_training(tmp_path):
    config = _setup(tmp_path)
    config.write_text(config.read_text().replace("head = [", "haed = ["))
    with pytest.raises(CorpusError, match="haed"):
        tune(config, trials=1, output=tmp_path / "x", progress=False)
