"""`clinicalner self-train` and `clinicalner lexicon --target`: options, help, errors."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from clinicalner.cli import app
from clinicalner.document import Document, Span
from clinicalner.io import write_corpus
from clinicalner.predict.lexicon import LexiconTagger

runner = CliRunner()


def test_self_train_help_names_every_option() -> None:
    r = runner.invoke(app, ["self-train", "--help"], terminal_width=80, env={"COLUMNS": "80"})
    assert r.exit_code == 0, r.output
    for option in ("--output", "--source", "--threshold", "--source-documents", "--max-steps"):
        assert option in r.output


def test_self_train_without_a_trained_model_is_one_line(tmp_path: Path) -> None:
    target = tmp_path / "t.jsonl"
    write_corpus([Document("a", "Febbre.", [], language="it")], target, "jsonl")
    r = runner.invoke(app, ["self-train", str(tmp_path), str(target), "-o", str(tmp_path / "o")])
    assert r.exit_code != 0
    assert "train_config.toml" in r.output


def test_lexicon_target_builds_a_crosslingual_lexicon(tmp_path: Path) -> None:
    from tiny_training import tiny_encoder

    text = "Fiebre y dolor abdominal."
    src = tmp_path / "src.jsonl"
    spans = [Span(0, 6, "SYMPTOM", "Fiebre"), Span(9, 24, "SYMPTOM", "dolor abdominal")]
    write_corpus([Document("s", text, spans, language="es")], src, "jsonl")
    tgt = tmp_path / "tgt.jsonl"
    write_corpus([Document("t", "Febbre e dolore addominale.", [], language="it")], tgt, "jsonl")
    enc = tiny_encoder(tmp_path, "unigram")
    out = tmp_path / "xl"
    args = ["lexicon", str(src), "--target", str(tgt), "--encoder", str(enc), "--min-count", "1"]
    r = runner.invoke(app, [*args, "--min-similarity", "0.01", "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert "lexicon:" in r.output
    lexicon = LexiconTagger.load(out)
    assert len(lexicon) > 0 and set(lexicon.labels) == {"SYMPTOM"}
    r = runner.invoke(app, ["lexicon", str(src), "--source", str(src), "-o", str(tmp_path / "x2")])
    assert r.exit_code != 0 and "target" in r.output
