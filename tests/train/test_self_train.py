"""Self-training: pseudo-labels above a threshold, a fine-tuned copy that starts from the model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from clinicalner.document import Document, Span
from clinicalner.io import write_corpus
from clinicalner.predict.loading import load_tagger
from clinicalner.train.self_train import pseudo_label, self_train
from tiny_trained import NOTES, shared_tiny_model
from tiny_training import THREE


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: Any) -> Path:
    return shared_tiny_model(tmp_path_factory)


def test_pseudo_labels_keep_confident_spans_and_ignore_target_labels(tiny_model: Path) -> None:
    tagger = load_tagger(tiny_model, device="cpu")
    # a gold span in the target must not become a pseudo-label
    planted = Document(
        "x", "Paziente con febbre e tosse.", [Span(13, 19, "DISEASE", "febbre")], language="it"
    )
    docs = [*NOTES[:6], planted]
    all_spans, everything = pseudo_label(tagger, docs, 0.0)
    assert everything.dropped == 0 and everything.documents == len(docs)
    assert everything.kept == sum(len(d.spans) for d in all_spans) > 0
    high, strict = pseudo_label(tagger, docs, 0.99)
    assert strict.kept + strict.dropped == everything.kept
    assert strict.kept <= everything.kept
    for d, full in zip(high, all_spans, strict=True):
        assert d.annotated_labels is None  # every other word is a negative example
        assert {s.key for s in d.spans} <= {s.key for s in full.spans}
        assert all(s.score is None for s in d.spans)
    with pytest.raises(ValueError, match="threshold"):
        pseudo_label(tagger, docs, 1.5)


def test_pseudo_labels_do_not_read_target_spans(tiny_model: Path) -> None:
    tagger = load_tagger(tiny_model, device="cpu")
    text = "Paziente con febbre e tosse."
    bare, _ = pseudo_label(tagger, [Document("a", text, [], language="it")], 0.0)
    labelled, _ = pseudo_label(
        tagger, [Document("a", text, [Span(13, 19, "DISEASE", "febbre")], language="it")], 0.0
    )
    assert [s.key for s in bare[0].spans] == [s.key for s in labelled[0].spans]


def test_self_train_writes_a_model_that_starts_from_the_old_one(tiny_model: Path, tmp_path: Path) -> None:
    target = tmp_path / "target.jsonl"
    write_corpus([d.with_spans([]) for d in NOTES[:8]], target, "jsonl")
    source = tmp_path / "source.jsonl"
    write_corpus(THREE, source, "jsonl")
    out = tmp_path / "self"
    result = self_train(
        tiny_model,
        [target],
        out,
        source=[source],
        threshold=0.5,
        source_documents=2,
        max_steps=2,
        learning_rate=0.0,  # no update: the copy must tag exactly as the model it started from
        device="cpu",
        threads=1,
        progress=False,
    )
    assert result.source_documents == 2 and result.pseudo.documents == 8
    assert (out / "clinicalner.json").is_file()
    before = list(load_tagger(tiny_model, device="cpu").tag(NOTES[:4]))
    after = list(load_tagger(out, device="cpu").tag(NOTES[:4]))
    assert [[s.key for s in d.spans] for d in before] == [[s.key for s in d.spans] for d in after]
    saved = (out / "train_config.toml").read_text(encoding="utf-8")
    assert "init_from" in saved and str(tiny_model.resolve()) in saved


def test_self_train_refuses_bad_input(tiny_model: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no target"):
        self_train(tiny_model, [], tmp_path / "o", progress=False)
    with pytest.raises(FileNotFoundError, match="train_config"):
        self_train(tmp_path, [tmp_path], tmp_path / "o2", progress=False)
