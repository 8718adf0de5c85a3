"""The training config: settings that would silently do nothing are named."""

from __future__ import annotations

import pytest

from clinicalner.train.config import TrainConfig


def test_a_crf_is_the_default():
    """+12 strict points on SpaCCC dev at equal epochs (BENCHMARKS.md): a default worth keeping."""
    assert TrainConfig().crf is True
    assert TrainConfig().ignored_settings() == []


def test_crf_names_the_settings_it_ignores(tmp_path):
    assert TrainConfig(crf=True).ignored_settings() == []  # default class weights: not named
    assert TrainConfig(crf=False, label_strategy="all", class_weights="inverse").ignored_settings() == []
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


def test_relative_paths_in_a_config_file_are_read_from_its_folder(tmp_path, monkeypatch):
    """A config works from any current folder: its relative paths belong to the file."""
    project = tmp_path / "project"
    (project / "data").mkdir(parents=True)
    (project / "data" / "train.jsonl").write_text("")
    (project / "enc").mkdir()
    (project / "conf").mkdir()
    path = project / "conf" / "run.toml"
    path.write_text('corpora = ["../data/train.jsonl"]\ndev = ["../data/dev.jsonl"]\nbase_model = "../enc"\n')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    cfg = TrainConfig.load(path)
    assert cfg.corpora == [str(project / "data" / "train.jsonl")]
    # not there at all: named where it was looked for, beside the config
    assert cfg.dev == [str(project / "data" / "dev.jsonl")]
    assert cfg.base_model == str(project / "enc")
    # an encoder name is not a path
    path.write_text('corpora = ["../data/train.jsonl"]\nbase_model = "multilingual-e5-small"\n')
    assert TrainConfig.load(path).base_model == "multilingual-e5-small"


def test_a_path_found_only_from_the_current_folder_still_works(tmp_path, monkeypatch):
    """Configs saved by earlier versions hold paths as typed, relative to where train ran."""
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "c.jsonl").write_text("")
    (tmp_path / "m").mkdir()
    path = tmp_path / "m" / "train_config.toml"
    path.write_text('corpora = ["shared/c.jsonl"]\n')
    monkeypatch.chdir(tmp_path)
    assert TrainConfig.load(path).corpora == [str(tmp_path / "shared" / "c.jsonl")]


def test_from_dict_reads_paths_from_the_file_it_names(tmp_path):
    """What tune calls: ``where`` is the config file, so its relative paths resolve the same way."""
    path = tmp_path / "conf" / "search.toml"
    path.parent.mkdir()
    path.write_text("")
    cfg = TrainConfig.from_dict({"corpora": ["../train.jsonl"]}, str(path))
    assert cfg.corpora == [str(tmp_path / "train.jsonl")]


def test_saved_paths_are_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "enc").mkdir()
    cfg = TrainConfig(corpora=["a.jsonl"], dev=["d.jsonl"], output="m", base_model="enc")
    saved = cfg.with_absolute_paths()
    assert saved.corpora == [str(tmp_path / "a.jsonl")] and saved.dev == [str(tmp_path / "d.jsonl")]
    assert saved.output == str(tmp_path / "m") and saved.base_model == str(tmp_path / "enc")
    assert TrainConfig(base_model="multilingual-e5-small").with_absolute_paths().base_model == (
        "multilingual-e5-small"
    )


def test_stride_follows_the_window_unless_given(tmp_path):
    """max_length alone used to fail: the fixed default stride 192 does not fit 128."""
    assert TrainConfig().stride == 192
    assert TrainConfig(max_length=128).stride == 96
    assert TrainConfig().replace(max_length=128).stride == 96
    assert TrainConfig(max_length=512).stride == 384
    # a stride that was given stays, through replace too; an impossible one is still an error
    assert TrainConfig(max_length=128, stride=64).replace(epochs=2).stride == 64
    assert TrainConfig(max_length=128, stride=64).replace(max_length=256).stride == 64
    with pytest.raises(ValueError, match="stride must be between 1 and max_length - 2 \\(126\\)"):
        TrainConfig(max_length=128, stride=192)
    with pytest.raises(ValueError, match="stride"):
        TrainConfig().replace(max_length=128, stride=192)
    path = tmp_path / "c.toml"
    path.write_text("max_length = 128\n")
    assert TrainConfig.load(path).stride == 96
