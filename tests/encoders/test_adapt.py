"""Continued MLM pretraining: the loss falls, and span training takes the result as its base."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from clinicalner.cli import app
from clinicalner.encoders.adapt import adapt_encoder, pack, read_texts
from clinicalner.encoders.tiny import BUILTIN_TEXTS
from clinicalner.io import write_corpus
from clinicalner.sample_notes import load_examples
from clinicalner.train.loop import train_model
from tiny_training import THREE, tiny_config, tiny_encoder


@pytest.fixture(scope="module")
def encoder(tmp_path_factory) -> Path:
    return tiny_encoder(tmp_path_factory.mktemp("enc"), "unigram")


def test_texts_from_corpora_and_txt_files_are_read_once(tmp_path: Path) -> None:
    write_corpus(load_examples(), tmp_path / "notes.jsonl", "jsonl")
    (tmp_path / "extra.txt").write_text(BUILTIN_TEXTS[0], encoding="utf-8")
    texts = read_texts([tmp_path / "notes.jsonl", tmp_path / "extra.txt", tmp_path / "notes.jsonl"])
    assert len(texts) == len(load_examples()) + 1


def test_windows_are_full_and_framed(encoder: Path) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(encoder)
    windows = pack(list(BUILTIN_TEXTS) * 3, tok, 48)
    assert all(len(w) == 48 for w in windows[:-1]) and 32 <= len(windows[-1]) <= 48
    assert all(w[0] == tok.bos_token_id and w[-1] == tok.eos_token_id for w in windows)


def test_loss_falls_and_span_training_starts_from_the_adapted_encoder(encoder: Path, tmp_path: Path) -> None:
    corpus = tmp_path / "notes.jsonl"
    write_corpus(load_examples(), corpus, "jsonl")
    out = tmp_path / "adapted"
    result = adapt_encoder(
        encoder, [corpus], out, epochs=40, batch_size=8, learning_rate=3e-3, max_length=64, progress=False
    )
    assert result.steps > 20 and result.losses[-1] < result.losses[0]
    record = json.loads((out / "adapt_config.json").read_text())
    assert record["steps"] == result.steps and record["settings"]["freeze_embeddings"] is True
    trained = train_model(tiny_config(tmp_path / "m", out, epochs=1), train_docs=[THREE], progress=False)
    assert (trained.output / "clinicalner.json").is_file()


def test_cli_refuses_a_used_folder_and_stops_on_the_step_budget(encoder: Path, tmp_path: Path) -> None:
    corpus = tmp_path / "notes.jsonl"
    write_corpus(load_examples(), corpus, "jsonl")
    r = CliRunner().invoke(
        app,
        [
            "encoders",
            "adapt",
            str(encoder),
            str(corpus),
            "-o",
            str(tmp_path / "a"),
            "--max-steps",
            "3",
            "--max-length",
            "64",
            "--epochs",
            "5",
            "--no-progress",
        ],
    )
    assert r.exit_code == 0, r.output
    assert "3 steps" in r.output
    r = CliRunner().invoke(app, ["encoders", "adapt", str(encoder), str(corpus), "-o", str(tmp_path / "a")])
    assert r.exit_code == 2 and "not empty" in r.output
