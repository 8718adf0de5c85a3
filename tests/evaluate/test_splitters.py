"""Tokenizer names shared by score(tokenize=), the benchmark's ``tokenize`` and ``clinicalner evaluate --tokenizer``."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from clinicalner.evaluate import splitters
from clinicalner.evaluate.splitters import (
    GLINER_WORDS,
    TokenizerError,
    model_tokenizer_path,
    token_splitter,
)

tokenizers = pytest.importorskip("tokenizers")


def _tokenizer_json(path: Path) -> Path:
    """A word-level tokenizer (splits on whitespace and punctuation), saved as tokenizer.json."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    tok = Tokenizer(models.WordLevel({"[UNK]": 0, "fiebre": 1}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.enable_truncation(2)  # a saved truncation must not cut the scored text
    path.parent.mkdir(parents=True, exist_ok=True)
    tok.save(str(path))
    return path


def test_names() -> None:
    assert token_splitter(None) is None and token_splitter("words") is None
    assert token_splitter("gliner").pattern == GLINER_WORDS  # type: ignore[union-attr]
    assert token_splitter(r"re:\S+").pattern == r"\S+"  # type: ignore[union-attr]
    assert re.findall(GLINER_WORDS, "non-small cell, T2") == ["non-small", "cell", ",", "T2"]


def test_tokenizer_files_folders_and_ensembles(tmp_path: Path) -> None:
    path = _tokenizer_json(tmp_path / "m1" / "tokenizer.json")
    text = "Fiebre, tos y más fiebre."
    expected = [(0, 6), (6, 7), (8, 11), (12, 13), (14, 17), (18, 24), (24, 25)]
    assert token_splitter(path)(text) == expected  # type: ignore[operator]
    assert token_splitter(path.parent)(text) == expected  # type: ignore[operator]
    # A logit ensemble: its members share one tokenizer, the first one's is used.
    (tmp_path / "ens").mkdir()
    (tmp_path / "ens" / "ensemble.json").write_text(json.dumps({"models": ["../m1", "../m2"]}), "utf-8")
    assert model_tokenizer_path(tmp_path / "ens") == tmp_path / "ens" / "../m1"
    assert token_splitter(tmp_path / "ens")(text) == expected  # type: ignore[operator]


def test_bad_names_are_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(TokenizerError, match="no such file"):
        token_splitter(str(tmp_path / "missing") + "/")
    (tmp_path / "empty").mkdir()
    with pytest.raises(TokenizerError, match="without a tokenizer"):
        token_splitter(tmp_path / "empty")
    (tmp_path / "bad.json").write_text("{}", "utf-8")
    with pytest.raises(TokenizerError, match=r"not a tokenizer\.json"):
        token_splitter(tmp_path / "bad.json")
    with pytest.raises(TokenizerError, match="needs a model"):
        token_splitter("model")
    with pytest.raises(TokenizerError, match="not a regular expression"):
        token_splitter("re:(")


def _no_loading(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("a tokenizer was looked up")

    monkeypatch.setattr(splitters, "load_hf_tokenizer", fail)


def test_a_typo_is_an_error_with_a_suggestion_not_a_hub_lookup(monkeypatch, tmp_path) -> None:
    _no_loading(monkeypatch)
    with pytest.raises(TokenizerError, match=r"unknown tokenizer 'word': did you mean 'words'\?.*org/name"):
        token_splitter("word")
    with pytest.raises(TokenizerError, match=r"unknown tokenizer 'xyzzy': a tokenizer is one of words"):
        token_splitter("xyzzy")
    # "models/ner" with a models folder here is a missing folder, not a hub id
    (tmp_path / "models").mkdir()
    monkeypatch.chdir(tmp_path)
    with pytest.raises(TokenizerError, match="no such file or folder"):
        token_splitter("models/ner")


def test_a_hub_id_is_tried_in_the_cache_first_then_online(monkeypatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)
    backend = tokenizers.Tokenizer.from_file(str(_tokenizer_json(tmp_path / "tok" / "tokenizer.json")))
    calls: list[tuple[str, bool]] = []
    cached: set[str] = {"org/cached"}

    class Loaded:
        backend_tokenizer = backend

    def load(name: str, *, local_files_only: bool = False) -> Loaded:
        calls.append((str(name), local_files_only))
        if local_files_only and name not in cached:
            raise TokenizerError("not in the cache")
        if name == "org/missing":
            raise TokenizerError("404")
        return Loaded()

    monkeypatch.setattr(splitters, "load_hf_tokenizer", load)
    assert token_splitter("org/cached")("fiebre alta") == [(0, 6), (7, 11)]  # type: ignore[operator]
    assert calls == [("org/cached", True)]
    calls.clear()
    assert callable(token_splitter("org/online"))
    assert calls == [("org/online", True), ("org/online", False)]
    with pytest.raises(TokenizerError, match=r"'org/missing'.*no Hugging Face tokenizer.*404"):
        token_splitter("org/missing")


def test_score_takes_the_same_names(monkeypatch) -> None:
    """score(tokenize=...) and the splitter are one resolver: a name means one thing everywhere."""
    from clinicalner.document import Document, Span
    from clinicalner.evaluate import score

    _no_loading(monkeypatch)
    text = "dolor-torácico leve"
    gold = [Document("d", text, [Span(0, 14, "S")])]
    pred = [Document("d", text, [Span(0, 5, "S")])]
    r = score(gold, pred, metrics=["m42_token_micro"], tokenize="gliner")
    assert r.settings["tokenizer"] == f"regex {GLINER_WORDS}"
    assert r.metric("m42_token_micro").counts == {"tp": 0, "fp": 0, "fn": 1}
    assert (
        score(gold, pred, metrics=["m42_token_micro"], tokenize="words").settings["tokenizer"]
        == (score(gold, pred, metrics=["m42_token_micro"]).settings["tokenizer"])
    )
    with pytest.raises(TokenizerError, match="did you mean 'gliner'"):
        score(gold, pred, metrics=["m42_token_micro"], tokenize="glinr")


def test_evaluating_imports_neither_torch_nor_the_benchmark(tmp_path: Path) -> None:
    from clinicalner.document import Document, Span
    from clinicalner.io import write_corpus

    write_corpus([Document("d", "fiebre alta", [Span(0, 6, "S")])], tmp_path / "g.jsonl", "jsonl")
    code = (
        "import sys\nfrom clinicalner import api\n"
        f"api.evaluate({str(tmp_path / 'g.jsonl')!r}, {str(tmp_path / 'g.jsonl')!r})\n"
        "print(sorted(m for m in ('torch', 'transformers', 'clinicalner.benchmark') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.strip() == "[]"


def test_evaluate_takes_the_tokenizer(tmp_path: Path) -> None:
    from clinicalner import api
    from clinicalner.document import Document, Span
    from clinicalner.io import write_corpus

    text = "dolor-torácico leve"
    gold = [Document("d", text, [Span(0, 14, "SYMPTOM", "dolor-torácico")])]
    pred = [Document("d", text, [Span(0, 5, "SYMPTOM", "dolor")])]
    write_corpus(gold, tmp_path / "g.jsonl", "jsonl")
    write_corpus(pred, tmp_path / "p.jsonl", "jsonl")

    def micro(tokenizer: str | None) -> dict:
        r = api.evaluate(
            tmp_path / "g.jsonl", tmp_path / "p.jsonl", metrics=["m42_token_micro"], tokenizer=tokenizer
        )
        return r.metric("m42_token_micro").to_dict()["counts"]

    # GLiNER's regex keeps "dolor-torácico" one token; a whitespace-and-punctuation one cuts it.
    tok = _tokenizer_json(tmp_path / "tok" / "tokenizer.json")
    assert micro("gliner") != micro(str(tok))
    assert micro(r"re:\S+") == micro("gliner")
    with pytest.raises(ValueError, match="no such file"):
        api.evaluate(tmp_path / "g.jsonl", tmp_path / "p.jsonl", tokenizer="./nope/")
