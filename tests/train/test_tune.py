"""Hyper-parameter search end to end on the built-in notes with a tiny encoder."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")
pytest.importorskip("optuna")

from typer.testing import CliRunner

from clinicalner.cli import app
from clinicalner.encoders.tiny import build_tiny_encoder
from clinicalner.errors import CorpusError
from clinicalner.io import write_corpus
from clinicalner.sample_notes import load_examples
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


class FakeTraining:
    """Stands in for ``train_model``: records each trial's config and scores it at once, so the
    search logic is tested without training."""

    def __init__(self) -> None:
        self.configs: list[TrainConfig] = []

    def __call__(self, cfg, progress=True, on_epoch=None, train_docs=None, dev_docs=None, **kw):  # type: ignore[no-untyped-def]
        from types import SimpleNamespace

        self.configs.append(cfg)
        value = cfg.learning_rate * 10 + (cfg.head == "mlp") * 0.01 + cfg.max_length / 1e4
        if on_epoch is not None:
            on_epoch(1, {"dev_strict_f1": value})
        return SimpleNamespace(best_f1=value, output=cfg.output, best_epoch=1, selected_on="dev")


def _corpora_only(tmp_path, search: str, train: str = ""):
    write_corpus(load_examples("train"), tmp_path / "train.jsonl", "jsonl")
    write_corpus(load_examples("dev"), tmp_path / "dev.jsonl", "jsonl")
    config = tmp_path / "search.toml"
    config.write_text(
        f'[train]\ncorpora = ["{tmp_path / "train.jsonl"}"]\ndev = ["{tmp_path / "dev.jsonl"}"]\n'
        f"epochs = 1\n{train}\n[search]\n{search}\n"
    )
    return config


@pytest.fixture
def fake_training(monkeypatch):
    import clinicalner.train.loop

    fake = FakeTraining()
    monkeypatch.setattr(clinicalner.train.loop, "train_model", fake)
    return fake


def test_searching_the_window_scales_the_stride(tmp_path, fake_training):
    config = _corpora_only(tmp_path, "max_length = [64, 128, 512]\nhead = ['linear', 'mlp']")
    result = tune(config, trials=6, output=tmp_path / "out", progress=False)
    assert result.trials == 6 and len(fake_training.configs) == 6
    for cfg in fake_training.configs:
        assert cfg.stride == round(cfg.max_length * 192 / 256)  # the default overlap ratio
    best = TrainConfig.load(result.best_config)
    assert best.max_length == 512 and best.stride == 384
    # A stride set in [train] gives the ratio.
    config = _corpora_only(tmp_path / "b", "max_length = [64, 128]", "max_length = 100\nstride = 50")
    fake_training.configs.clear()
    tune(config, trials=3, output=tmp_path / "b" / "out", progress=False)
    assert {(c.max_length, c.stride) for c in fake_training.configs} <= {(64, 32), (128, 64)}


def test_an_invalid_combination_prunes_its_trial_and_the_study_goes_on(tmp_path, fake_training):
    import optuna

    config = _corpora_only(tmp_path, "scheme = ['BIO', 'BIOES']\nlabel_strategy = ['first', 'all']")
    result = tune(config, trials=8, output=tmp_path / "out", progress=False)
    study = optuna.load_study(study_name="search", storage=result.storage)
    assert len(study.trials) == 8
    invalid = [t for t in study.trials if t.params == {"scheme": "BIOES", "label_strategy": "all"}]
    assert invalid, "the sampler never drew the invalid pair; draw more trials"
    for t in invalid:
        assert t.state == optuna.trial.TrialState.PRUNED
        assert "BIOES" in t.user_attrs["invalid"]
    assert len(fake_training.configs) == 8 - len(invalid)
    assert not (result.best_params["scheme"] == "BIOES" and result.best_params["label_strategy"] == "all")


def test_resuming_never_repeats_the_trials_already_run(tmp_path, fake_training):
    config = _corpora_only(
        tmp_path, "learning_rate = { low = 1e-5, high = 1e-3, log = true }\nhead = ['linear', 'mlp']"
    )
    tune(config, trials=2, output=tmp_path / "out", progress=False)
    tune(config, trials=4, output=tmp_path / "out", progress=False)
    rates = [c.learning_rate for c in fake_training.configs]
    assert len(rates) == 4 and len(set(rates)) == 4  # trials 2 and 3 are not trials 0 and 1 again
    # The same command from scratch proposes the same first trials (seeded).
    fake_training.configs.clear()
    tune(config, trials=2, output=tmp_path / "again", progress=False)
    assert [c.learning_rate for c in fake_training.configs] == rates[:2]


def test_sampler_seed_is_unseeded_for_a_shared_server_database():
    from clinicalner.train.tune import sampler_seed

    assert sampler_seed(0, "sqlite:///x/study.db", 0) == 0
    assert sampler_seed(5, "sqlite:///x/study.db", 3) == 8
    assert sampler_seed(0, "postgresql://db/optuna", 3) is None


def test_best_config_trains_without_naming_corpora_again(tmp_path, fake_training, monkeypatch):
    config = _corpora_only(tmp_path, "head = ['linear', 'mlp']")
    result = tune(config, trials=2, output=tmp_path / "out", progress=False)
    fake_training.configs.clear()
    r = CliRunner().invoke(
        app, ["train", "--config", str(result.best_config), "-o", str(tmp_path / "m"), "--no-progress"]
    )
    assert r.exit_code == 0, r.output
    (cfg,) = fake_training.configs
    assert cfg.corpora == [str(tmp_path / "train.jsonl")] and cfg.output == str(tmp_path / "m")
    # Neither CORPORA nor a config naming them: one clear error.
    r = CliRunner().invoke(app, ["train", "-o", str(tmp_path / "m2")])
    assert r.exit_code == 2 and "no training corpora" in r.output and "Traceback" not in r.output
