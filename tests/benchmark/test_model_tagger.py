"""A trained-model tagger in the benchmark: a tiny random model, loaded once, scored on its own tokens."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from clinicalner.benchmark import BenchmarkConfig, TaggerSpec, benchmark  # noqa: E402
from clinicalner.encoders.tiny import build_tiny_encoder  # noqa: E402
from clinicalner.evaluate import score  # noqa: E402
from clinicalner.io import read_corpus  # noqa: E402
from clinicalner.model.config import ModelConfig  # noqa: E402
from clinicalner.model.store import build_model, save_model  # noqa: E402
from clinicalner.predict.engine import TransformerTagger  # noqa: E402

from .conftest import FIXTURES  # noqa: E402

LABELS = ["condition", "drug", "procedure"]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bench-model")
    texts = [d.text for d in read_corpus(FIXTURES / "notes" / "dev.jsonl").documents]
    enc = build_tiny_encoder(root / "enc", "unigram", vocab_from=texts)
    torch.manual_seed(0)
    model, tok = build_model(ModelConfig(labels=["DISEASE", "DRUG"], max_length=24, stride=8), str(enc))
    with torch.no_grad():  # random heads that do predict some entities
        for head in model.heads:
            head[-1].bias.copy_(torch.tensor([0.0, 0.4, 0.3]))
    return save_model(model, tok, root / "model")


def _config(model_dir: Path) -> BenchmarkConfig:
    config = BenchmarkConfig.load(FIXTURES / "bench.toml")
    config.datasets = [d for d in config.datasets if d.name == "notes"]
    config.taggers = [
        TaggerSpec(
            "tiny",
            "model",
            path=model_dir,
            label_map={"DISEASE": "condition", "DRUG": "drug"},
            options={"device": "cpu"},
        )
    ]
    config.html = False
    return config


def test_model_runs_once_and_token_scores_use_its_tokenizer(
    model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import clinicalner.predict.loading

    loads = []
    original = clinicalner.predict.loading.load_tagger

    def counting_load(*args, **kwargs):  # type: ignore[no-untyped-def]
        loads.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(clinicalner.predict.loading, "load_tagger", counting_load)
    board = benchmark(_config(model_dir), output=tmp_path, progress=False)
    assert len(loads) == 1
    run = board.run("tiny", "notes")
    assert run.info["tokenize"] == "model" and run.timing["load_seconds"] > 0

    gold = read_corpus(FIXTURES / "notes" / "dev.jsonl").documents
    tagger = TransformerTagger(model_dir, device="cpu")
    pred = list(tagger.tag(d.with_spans([]) for d in gold))
    mapping = {"DISEASE": "condition", "DRUG": "drug"}
    pred = [
        d.with_spans(s.__class__(s.start, s.end, mapping[s.label], s.text, s.score) for s in d.spans)
        for d in pred
    ]
    tokenizer = transformers.AutoTokenizer.from_pretrained(model_dir)

    def subwords(text: str) -> list[tuple[int, int]]:
        enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        return [tuple(o) for o in enc["offset_mapping"]]

    expected = score(gold, pred, labels=LABELS, tokenize=subwords)
    words = score(gold, pred, labels=LABELS)
    assert sum(len(d.spans) for d in pred) > 0
    for m in ("strict", "nervaluate_0.1.8_ent_type", "m42_token_macro", "m42_token_micro"):
        assert run.f1(m) == pytest.approx(expected.metric(m).f1, abs=1e-12)
    # The sub-word tokens are not the words: the token scores really come from the model's tokenizer.
    counts = run.report["metrics"]["m42_token_micro"]["counts"]
    assert counts == expected.metric("m42_token_micro").to_dict()["counts"]
    assert counts != words.metric("m42_token_micro").to_dict()["counts"]

    # Cached: the model is not loaded again; a rescore with other metrics needs its tokenizer only.
    again = benchmark(_config(model_dir), output=tmp_path, progress=False)
    assert len(loads) == 1 and again.run("tiny", "notes").cached
    config = _config(model_dir)
    config.metrics = ["m42_token_micro"]
    rescored = benchmark(config, output=tmp_path, progress=False)
    assert len(loads) == 1
    run = rescored.run("tiny", "notes")
    assert not run.cached and not run.retagged
    assert run.f1("m42_token_micro") == pytest.approx(expected.metric("m42_token_micro").f1, abs=1e-12)


def _tiny(root: Path, name: str, seed: int, bias: tuple[float, float, float]) -> Path:
    enc = root / "enc"
    if not enc.exists():
        texts = [d.text for d in read_corpus(FIXTURES / "notes" / "dev.jsonl").documents]
        build_tiny_encoder(enc, "unigram", vocab_from=texts)
    torch.manual_seed(seed)
    model, tok = build_model(ModelConfig(labels=["DISEASE", "DRUG"], max_length=24, stride=8), str(enc))
    with torch.no_grad():
        for head in model.heads:
            head[-1].bias.copy_(torch.tensor(bias))
    return save_model(model, tok, root / name)


def test_logit_ensemble_in_the_benchmark(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A logit-ensemble folder (members beside it): scored on the members' tokenizer, cached
    under the members' weights, rescored without loading, and reproducible by evaluate."""
    import json

    from clinicalner.predict.logit_ensemble import LogitEnsembleTagger

    from .test_benchmark import assert_evaluate_reproduces

    _tiny(tmp_path, "m1", 1, (0.0, 0.4, 0.3))
    _tiny(tmp_path, "m2", 2, (0.0, 0.4, 0.3))
    (tmp_path / "ens").mkdir()
    (tmp_path / "ens" / "ensemble.json").write_text(json.dumps({"models": ["../m1", "../m2"]}), "utf-8")
    config = _config(tmp_path / "ens")
    config.taggers[0].options.update({"max_length": 32, "stride": 16, "windows": "sliding"})
    out = tmp_path / "out"
    board = benchmark(config, output=out, progress=False)
    run = board.run("tiny", "notes")
    assert run.info["tokenize"] == "model"

    gold = read_corpus(FIXTURES / "notes" / "dev.jsonl").documents
    ens = LogitEnsembleTagger(
        [tmp_path / "m1", tmp_path / "m2"], device="cpu", max_length=32, stride=16, windows="sliding"
    )
    assert ens.tokenizer is ens.members[0].tokenizer
    mapping = {"DISEASE": "condition", "DRUG": "drug"}
    pred = [
        d.with_spans(s.__class__(s.start, s.end, mapping[s.label], s.text, s.score) for s in d.spans)
        for d in ens.tag(d.with_spans([]) for d in gold)
    ]
    subwords = transformers.AutoTokenizer.from_pretrained(tmp_path / "m1")

    def tokens(text: str) -> list[tuple[int, int]]:
        return [
            tuple(o)
            for o in subwords(text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
        ]

    expected = score(gold, pred, labels=LABELS, tokenize=tokens)
    for m in ("strict", "m42_token_macro", "m42_token_micro"):
        assert run.f1(m) == pytest.approx(expected.metric(m).f1, abs=1e-12)
    assert f"--tokenizer {tmp_path / 'ens'}" in run.info["evaluate_command"]
    assert assert_evaluate_reproduces(board, out, monkeypatch) > 10

    # Other metrics: rescored from the kept predictions, the tokenizer found through the members.
    config.metrics = ["m42_token_micro", "strict"]
    rescored = benchmark(config, output=out, progress=False).run("tiny", "notes")
    assert not rescored.cached and not rescored.retagged
    assert rescored.f1("m42_token_micro") == pytest.approx(expected.metric("m42_token_micro").f1, abs=1e-12)

    # A member retrained: the ensemble folder is unchanged, but the run is not reused.
    _tiny(tmp_path, "m2", 99, (0.0, 2.0, -2.0))
    again = benchmark(config, output=out, progress=False).run("tiny", "notes")
    assert again.retagged


def test_evaluate_tokenizer_option_matches_the_model_run(
    model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from .test_benchmark import assert_evaluate_reproduces

    board = benchmark(_config(model_dir), output=tmp_path, progress=False)
    command = board.run("tiny", "notes").info["evaluate_command"]
    assert f"--tokenizer {model_dir}" in command
    assert assert_evaluate_reproduces(board, tmp_path, monkeypatch) > 10
    # Without the tokenizer the token metrics differ: the option is what makes them equal.
    from clinicalner import api

    words = api.evaluate(
        tmp_path / "runs/_gold/notes.jsonl", tmp_path / "runs/tiny/notes.pred.jsonl", labels=LABELS
    )
    sub = api.evaluate(
        tmp_path / "runs/_gold/notes.jsonl",
        tmp_path / "runs/tiny/notes.pred.jsonl",
        labels=LABELS,
        tokenizer=str(model_dir),
    )
    assert (
        words.metric("m42_token_micro").to_dict()["counts"]
        != sub.metric("m42_token_micro").to_dict()["counts"]
    )
