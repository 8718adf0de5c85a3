"""Tokenizer names shared by the benchmark's ``tokenize`` and ``clinicalner evaluate --tokenizer``."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from clinicalner.benchmark.splitters import (
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
    assert token_splitter("gliner") == GLINER_WORDS
    assert token_splitter(r"re:\S+") == r"\S+"
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
