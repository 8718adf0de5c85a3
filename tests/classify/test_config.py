"""Classification configs: TOML in, the saved train_config.toml works as --config again."""

from __future__ import annotations

from pathlib import Path

import pytest

from clinicalner.classify.config import ClassifierConfig, ClassifyConfig
from clinicalner.errors import CorpusError


def test_toml_round_trip_with_run_table(tmp_path: Path) -> None:
    (tmp_path / "c.toml").write_text(
        'corpora = ["data/train.jsonl"]\nupsample = ["ADE=3"]\npooling = "cls"\nepochs = 2\n',
        encoding="utf-8",
    )
    cfg = ClassifyConfig.load(tmp_path / "c.toml")
    assert cfg.corpora == [str((tmp_path / "data" / "train.jsonl").resolve())]
    assert (cfg.upsample, cfg.pooling, cfg.epochs) == (["ADE=3"], "cls", 2)
    (tmp_path / "saved.toml").write_text(cfg.to_toml(run={"best_epoch": 2}), encoding="utf-8")
    assert ClassifyConfig.load(tmp_path / "saved.toml") == cfg


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("epoch = 2\n", "unknown classification option"),
        ("epochs = [\n", "not valid TOML"),
    ],
)
def test_bad_config_files(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "c.toml").write_text(text, encoding="utf-8")
    with pytest.raises(CorpusError, match=message):
        ClassifyConfig.load(tmp_path / "c.toml")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"class_weights": "balanced"}, "class_weights"),
        ({"upsample": ["ADE:3"]}, "LABEL=FACTOR"),
        ({"validation_fraction": 1.0}, "validation_fraction"),
        ({"tfidf_c": []}, "tfidf_c"),
    ],
)
def test_bad_settings(changes: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ClassifyConfig(**changes)


def test_classifier_config_checks_its_positive_class() -> None:
    with pytest.raises(ValueError, match="positive class 'ADR'"):
        ClassifierConfig(labels=["ADE", "NO_ADE"], positive="ADR")
    with pytest.raises(ValueError, match="two labels"):
        ClassifierConfig(labels=["ADE"])
