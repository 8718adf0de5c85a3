"""The ``classify`` commands end to end: train, predict, evaluate, ensemble (TF-IDF and a tiny encoder)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from classify.fixtures import dev_texts, tiny_classify_encoder, train_texts, write_jsonl
from clinicalner.cli import app

pytest.importorskip("sklearn")
runner = CliRunner()


def run(*args: str) -> str:
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


def test_tfidf_and_encoder_through_the_cli(tmp_path: Path) -> None:
    train = write_jsonl(tmp_path / "train.jsonl", train_texts())
    dev = write_jsonl(tmp_path / "dev.jsonl", dev_texts())
    out = run("classify", "train", train, "--base-model", "tfidf", "--dev", dev, "-o", tmp_path / "tfidf")
    assert "best epoch" in out and "validation: dev" in out
    run("classify", "predict", tmp_path / "tfidf", dev, "-o", tmp_path / "tfidf.tsv")
    enc = tiny_classify_encoder(tmp_path)
    out = run(
        "classify", "train", train, "--base-model", enc, "--dev", dev, "-o", tmp_path / "cls",
        "--epochs", "3", "--batch-size", "4", "--learning-rate", "3e-3", "--max-length", "32",
        "--upsample", "ADE=2", "--threads", "1", "--no-progress",
    )  # fmt: skip
    assert "threshold chosen on validation" in out
    out = run("classify", "predict", tmp_path / "cls", dev, "-o", tmp_path / "enc.jsonl", "--device", "cpu")
    assert "6 texts" in out
    run("classify", "ensemble", tmp_path / "tfidf.tsv", tmp_path / "enc.jsonl", "-o", tmp_path / "soft.tsv")
    run(
        "classify", "ensemble", tmp_path / "tfidf.tsv", tmp_path / "enc.jsonl", "-o", tmp_path / "w.tsv",
        "--method", "weighted", "--weights", "0.3,0.7",
    )  # fmt: skip
    out = run(
        "classify", "evaluate", dev, tmp_path / "soft.tsv", "-o", tmp_path / "r.json", "--bootstrap", "20"
    )
    assert "macro" in out and "UNSEEN" in out  # Italian is in dev only
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["n"] == 6 and report["languages"]["it"]["seen"] is False


def test_bad_input_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "1", "text": "x", "label": "A"}\n{"id": "1", "text": "y", "label": "B"}\n')
    result = runner.invoke(
        app, ["classify", "train", str(bad), "--base-model", "tfidf", "-o", str(tmp_path / "m")]
    )
    assert result.exit_code == 2
    assert f"{bad}:2: id '1' repeats line 1" in result.output
    result = runner.invoke(app, ["classify", "ensemble", str(bad), str(bad), "-o", str(tmp_path / "e.tsv")])
    assert result.exit_code == 2


def test_llm_classifier_through_the_cli(tmp_path: Path) -> None:
    from fake_llm import FakeServer

    dev = write_jsonl(tmp_path / "dev.jsonl", dev_texts())
    fake = FakeServer()

    def respond(body: dict) -> tuple[int, dict, dict]:
        text = body["messages"][-1]["content"].split("Text: ", 1)[1]
        yes = any(w in text for w in ("caus", "induc"))
        top = [
            {"token": "1", "logprob": -0.1 if yes else -3.0},
            {"token": "0", "logprob": -3.0 if yes else -0.1},
        ]
        content = [{"token": "1" if yes else "0", "logprob": -0.1, "top_logprobs": top}]
        choice = {"index": 0, "message": {"role": "assistant", "content": "1" if yes else "0"}}
        return 200, {"choices": [{**choice, "logprobs": {"content": content}}]}, {}

    fake.respond = respond
    try:
        out = run(
            "classify", "predict", "fake-model", dev, "--base-url", fake.url, "-o", tmp_path / "llm.tsv",
            "--labels", "NO_ADE,ADE", "--concurrency", "2",
        )  # fmt: skip
    finally:
        fake.close()
    assert "ADE 3, NO_ADE 3" in out
    report = json.loads(
        (
            run("classify", "evaluate", dev, tmp_path / "llm.tsv", "-o", tmp_path / "r.json")
            and tmp_path / "r.json"
        ).read_text()
    )
    assert report["macro"]["f1"] == 1.0 and report["flags"] == {}


def test_span_predict_refuses_a_classifier(tmp_path: Path) -> None:
    train = write_jsonl(tmp_path / "train.jsonl", train_texts())
    run("classify", "train", train, "--base-model", "tfidf", "-o", tmp_path / "m")
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "a.txt").write_text("Rash after amoxicillin.")
    result = runner.invoke(app, ["predict", str(tmp_path / "m"), str(notes), "-o", str(tmp_path / "p.tsv")])
    assert result.exit_code == 2 and "use `clinicalner classify predict`" in result.output
