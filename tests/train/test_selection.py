"""Selection discipline: validation chooses the epoch, dev is only reported, overlap is excluded."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from clinicalner.sample_notes import load_examples
from clinicalner.train import loop
from clinicalner.train.loop import train_model
from tiny_training import THREE, tiny_config, tiny_encoder


@pytest.fixture(scope="module")
def encoder(tmp_path_factory) -> Path:
    return tiny_encoder(tmp_path_factory.mktemp("enc"), "wordpiece")


def test_validation_chooses_dev_is_reported_and_overlap_is_excluded(encoder, tmp_path):
    train = load_examples()  # 30 notes in seven languages
    dev = [*train[:2], *THREE]  # two training notes are also dev notes
    cfg = tiny_config(tmp_path / "m", encoder, epochs=2, validation=0.2, exclude_dev_overlap=True)
    result = train_model(cfg, train_docs=[train], dev_docs=dev, progress=False)
    assert result.selected_on == "val"
    assert all("val_strict_f1" in h and "dev_strict_f1" in h for h in result.history)
    best = next(h for h in result.history if h["epoch"] == result.best_epoch)
    assert result.best_f1 == best["val_strict_f1"]
    run = tomllib.loads((tmp_path / "m" / "train_config.toml").read_text())["run"]
    assert run["selected_on"] == "val" and run["excluded_dev_overlap"] == 2
    assert run["validation_documents"] == round(0.2 * 28)
    provenance = json.loads((tmp_path / "m" / "provenance.json").read_text())
    assert sorted(provenance["excluded_dev_overlap_documents"]) == sorted(d.id for d in train[:2])
    held = set(provenance["validation_documents"])
    assert len(held) == run["validation_documents"] and not held & {d.id for d in train[:2]}


def test_without_a_validation_split_dev_chooses_and_says_so(encoder, tmp_path):
    cfg = tiny_config(tmp_path / "m", encoder, epochs=1, validation=0.0)
    result = train_model(cfg, train_docs=[THREE], dev_docs=THREE, progress=False)
    assert result.selected_on == "dev"
    assert tomllib.loads((tmp_path / "m" / "train_config.toml").read_text())["run"]["selected_on"] == "dev"


def test_patience_stops_when_validation_stops_improving(encoder, tmp_path, monkeypatch):
    scores = iter([0.5, 0.4, 0.45, 0.9, 0.9])

    def fake_score(tagger, docs, labels, prefix="dev"):  # type: ignore[no-untyped-def]
        return {f"{prefix}_strict_f1": next(scores)}

    monkeypatch.setattr(loop, "_score_dev", fake_score)
    cfg = tiny_config(tmp_path / "m", encoder, epochs=5, validation=0.2, patience=2)
    result = train_model(cfg, train_docs=[load_examples()], progress=False)
    assert [h["epoch"] for h in result.history] == [1, 2, 3]
    assert result.best_epoch == 1 and result.best_f1 == 0.5
    assert json.loads((tmp_path / "m" / "metrics.json").read_text())["best_epoch"] == 1


def test_all_training_documents_in_dev_is_an_error_naming_the_way_out(encoder, tmp_path):
    cfg = tiny_config(tmp_path / "m", encoder, epochs=1, exclude_dev_overlap=True)
    with pytest.raises(ValueError, match="keep-dev-overlap"):
        train_model(cfg, train_docs=[THREE], dev_docs=THREE, progress=False)


def test_a_finished_run_gives_back_its_held_out_documents(encoder, tmp_path):
    from clinicalner.io import write_corpus
    from clinicalner.train.loop import held_out_documents

    train, dev = load_examples(), [*load_examples()[:3], *THREE]
    write_corpus(train, tmp_path / "train.jsonl", "jsonl")
    write_corpus(dev, tmp_path / "dev.jsonl", "jsonl")
    cfg = tiny_config(
        tmp_path / "m",
        encoder,
        epochs=1,
        corpora=[str(tmp_path / "train.jsonl")],
        dev=[str(tmp_path / "dev.jsonl")],
        validation=0.2,
        exclude_dev_overlap=True,
    )
    train_model(cfg, progress=False)
    held = held_out_documents(tmp_path / "m")
    provenance = json.loads((tmp_path / "m" / "provenance.json").read_text())
    assert [d.id for d in held.validation] == provenance["validation_documents"]
    assert sorted(d.id for d in held.excluded) == sorted(d.id for d in train[:3])
    assert len(held.train) + len(held.validation) + len(held.excluded) == len(train)
