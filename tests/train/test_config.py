"""The training config: settings that would silently do nothing are named."""

from __future__ import annotations

from clinicalner.train.config import TrainConfig


def test_crf_names_the_settings_it_ignores(tmp_path):
    assert TrainConfig(crf=True).ignored_settings() == []  # default class weights: not named
    assert TrainConfig(label_strategy="all", class_weights="inverse").ignored_settings() == []  # no CRF
    ignored = TrainConfig(crf=True, label_strategy="all", class_weights="inverse").ignored_settings()
    assert [s.split(" ")[0] for s in ignored] == ["label_strategy", "class_weights"]
    # The default value named explicitly (a config file, an option) is named too.
    assert (
        TrainConfig(crf=True)
        .replace(class_weights="sqrt_inverse")
        .ignored_settings()[0]
        .startswith("class_weights")
    )
    path = tmp_path / "c.toml"
    path.write_text('crf = true\nclass_weights = "sqrt_inverse"\n')
    assert len(TrainConfig.load(path).ignored_settings()) == 1
    assert TrainConfig.load(path).replace(class_weights="none").ignored_settings() == []
    # Named-ness is not a setting: it does not make two configs differ.
    assert TrainConfig.load(path) == TrainConfig(crf=True)
