"""Training a tiny encoder classifier and the TF-IDF baseline: learning, saving, threshold, resume."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from classify.fixtures import dev_texts, tiny_classify_encoder, train_texts
from clinicalner.classify.config import ClassifierConfig, ClassifyConfig, is_classifier_folder
from clinicalner.classify.predict import load_classifier, to_predictions
from clinicalner.classify.train import train_classifier
from clinicalner.train.checkpoint import checkpoint_dir

pytest.importorskip("torch")


@pytest.fixture(scope="module")
def encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_classify_encoder(tmp_path_factory.mktemp("cls-enc"))


def config(out: Path, encoder: Path, **kw: Any) -> ClassifyConfig:
    base: dict[str, Any] = dict(
        output=str(out),
        base_model=str(encoder),
        epochs=4,
        batch_size=4,
        learning_rate=3e-3,
        head_learning_rate=1e-2,
        dropout=0.0,
        freeze_embeddings=False,
        warmup=0.0,
        threads=1,
        max_length=32,
    )
    base.update(kw)
    return ClassifyConfig(**base)


def test_encoder_learns_saves_and_predicts(tmp_path: Path, encoder: Path) -> None:
    out = tmp_path / "m"
    result = train_classifier(
        config(out, encoder, upsample=["ADE=2"]),
        train_texts=[train_texts()],
        dev_texts=dev_texts(),
        progress=False,
    )
    assert result.validation == "dev"
    assert result.best_macro_f1 is not None and result.best_macro_f1 >= 0.8
    assert result.history[-1]["loss"] < result.history[0]["loss"]
    assert is_classifier_folder(out)
    saved = ClassifierConfig.load(out / "clinicalner.json")
    assert saved.labels == ["ADE", "NO_ADE"] and saved.positive == "ADE" and saved.kind == "encoder"
    assert saved.train_languages == ["en", "es"]
    assert saved.threshold == result.threshold is not None
    toml = tomllib.loads((out / "train_config.toml").read_text(encoding="utf-8"))
    assert toml["upsample"] == ["ADE=2"] and toml["run"]["best_epoch"] == result.best_epoch
    assert not checkpoint_dir(out).exists()
    clf = load_classifier(out, device="cpu")
    probs = clf.probabilities([t.text for t in dev_texts()])
    assert probs.shape == (6, 2) and np.allclose(probs.sum(axis=1), 1.0)
    preds = to_predictions(dev_texts(), probs, clf.config)
    assert [p.seen_language for p in preds] == [True, True, True, True, False, False]
    # The saved model predicts what the validation saw.
    history = json.loads((out / "metrics.json").read_text())["history"]
    best = next(h for h in history if h["epoch"] == result.best_epoch)
    assert best["valid_macro_f1"] == result.best_macro_f1


def test_validation_split_without_dev(tmp_path: Path, encoder: Path) -> None:
    result = train_classifier(
        config(tmp_path / "m", encoder, epochs=1, validation_fraction=0.25),
        train_texts=[train_texts()],
        progress=False,
    )
    assert result.validation.startswith("25% of train, stratified by label x language")
    run = tomllib.loads((tmp_path / "m" / "train_config.toml").read_text())["run"]
    assert run["valid_texts"] == 6 and run["train_texts"] == 15


class Crash(RuntimeError):
    pass


def test_resume_retraces_an_uninterrupted_run(tmp_path: Path, encoder: Path) -> None:
    def crash(epoch: int, metrics: dict) -> None:
        if epoch == 2:
            raise Crash

    kw = dict(train_texts=[train_texts()], dev_texts=dev_texts(), progress=False)
    whole = train_classifier(config(tmp_path / "whole", encoder, epochs=3), **kw)
    with pytest.raises(Crash):
        train_classifier(config(tmp_path / "cut", encoder, epochs=3), on_epoch=crash, **kw)
    assert checkpoint_dir(tmp_path / "cut").is_dir()
    with pytest.raises(ValueError, match="these settings differ: learning_rate"):
        train_classifier(config(tmp_path / "cut", encoder, epochs=3, learning_rate=1e-3), resume=True, **kw)
    resumed = train_classifier(config(tmp_path / "cut", encoder, epochs=3), resume=True, **kw)
    assert [h["epoch"] for h in resumed.history] == [1, 2, 3]
    assert [h["loss"] for h in resumed.history] == pytest.approx([h["loss"] for h in whole.history])


def test_refuses_an_output_that_is_not_a_model(tmp_path: Path, encoder: Path) -> None:
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="holds no clinicalner model"):
        train_classifier(config(tmp_path / "m", encoder), train_texts=[train_texts()], progress=False)
    assert (tmp_path / "m" / "notes.txt").read_text() == "keep me"


def test_bad_settings_fail_early(tmp_path: Path, encoder: Path) -> None:
    with pytest.raises(ValueError, match=r"upsample names label\(s\) \['ADR'\]"):
        train_classifier(config(tmp_path / "m", encoder, upsample=["ADR=3"]), train_texts=[train_texts()])
    with pytest.raises(ValueError, match="pooling"):
        config(tmp_path / "m", encoder, pooling="max")


def test_tfidf_baseline(tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    out = tmp_path / "t"
    result = train_classifier(
        ClassifyConfig(output=str(out), base_model="tfidf", tfidf_c=[1.0, 10.0]),
        train_texts=[train_texts()],
        dev_texts=dev_texts(),
        progress=False,
    )
    assert [h["C"] for h in result.history] == [1.0, 10.0]
    assert result.best_macro_f1 is not None and result.best_macro_f1 >= 0.6
    assert "model.safetensors" not in {p.name for p in out.iterdir()}
    clf = load_classifier(out)
    probs = clf.probabilities([t.text for t in dev_texts()])
    assert np.allclose(probs.sum(axis=1), 1.0)
    # Our numpy re-implementation of the fitted pipeline agrees with scikit-learn's own.
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    best_c = result.history[result.best_epoch - 1]["C"]
    texts = [t.text for t in train_texts()]
    vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
    lr = LogisticRegression(C=best_c, max_iter=3000).fit(
        vec.fit_transform(texts), [t.label for t in train_texts()]
    )
    expected = lr.predict_proba(vec.transform([t.text for t in dev_texts()]))
    assert np.allclose(probs, expected, atol=1e-5)
