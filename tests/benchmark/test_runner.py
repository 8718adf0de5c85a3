"""The runner's parts: fingerprints, label mapping of predictions, alignment, the span cache."""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path

import pytest

from clinicalner.benchmark.config import ConfigError, TaggerSpec
from clinicalner.benchmark.datasets import Dataset
from clinicalner.benchmark.fingerprints import HASH_LIMIT, public_options, slug
from clinicalner.benchmark.label_mapping import align_to_gold, map_predictions, map_predictions_counted
from clinicalner.benchmark.results import row_span, span_row
from clinicalner.benchmark.sources import MissingPredictions, TaggerSource
from clinicalner.document import Document, Span, make_span
from clinicalner.evaluate.splitters import GLINER_WORDS


def _dataset(name: str = "d", text: str = "abc def", labels: tuple[str, ...] = ("condition",)) -> Dataset:
    return Dataset(
        name,
        labels,
        [Document("1", text, [Span(0, 3, "condition", "abc")])],
        train_loader=lambda: [Document("t", "abc", [Span(0, 3, "condition", "abc")])],
    )


def test_model_fingerprint_follows_files_not_datasets(tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "clinicalner.json").write_text('{"labels": ["DISEASE"]}', "utf-8")
    weights = model / "model.safetensors"
    with weights.open("wb") as f:
        f.truncate(HASH_LIMIT + 10)  # big: signed by size and mtime, not read
    source = TaggerSource(TaggerSpec("m", "model", path=model, label_map={"DISEASE": "condition"}))
    fp = source.fingerprint(_dataset("a"))
    assert fp == source.fingerprint(_dataset("b", text="other text"))
    (model / "clinicalner.json").write_text('{"labels": ["SYMPTOM"]}', "utf-8")
    fp2 = source.fingerprint(_dataset("a"))
    assert fp2 != fp
    stat = weights.stat()
    os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert source.fingerprint(_dataset("a")) != fp2
    other_map = TaggerSource(TaggerSpec("m", "model", path=model, label_map={"DISEASE": "disease"}))
    assert other_map.fingerprint(_dataset("a")) != source.fingerprint(_dataset("a"))


def test_model_fingerprint_follows_the_post_processing_defaults(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Changed decoding defaults (same files, same version) must not reuse old predictions."""
    from clinicalner.predict import postprocess

    model = tmp_path / "model"
    model.mkdir()
    (model / "clinicalner.json").write_text('{"labels": ["DISEASE"]}', "utf-8")
    source = TaggerSource(TaggerSpec("m", "model", path=model))
    before = source.fingerprint(_dataset("a"))
    other_defaults = functools.partial(postprocess.PostprocessConfig, merge_min_ratio=0.1)
    monkeypatch.setattr(postprocess, "PostprocessConfig", other_defaults)
    assert source.fingerprint(_dataset("a")) != before


def test_lexicon_and_llm_fingerprints() -> None:
    d = _dataset()
    lex = TaggerSource(TaggerSpec("l", "lexicon"))
    lex2 = TaggerSource(TaggerSpec("l", "lexicon", options={"min_count": 2}))
    assert lex.fingerprint(d) != lex2.fingerprint(d)
    other_train = Dataset(
        "d", d.labels, d.eval, train_loader=lambda: [Document("t", "abd", [Span(0, 3, "condition")])]
    )
    assert lex.fingerprint(d) != lex.fingerprint(other_train)
    # A key never enters a fingerprint: changing it reuses the runs.
    a = TaggerSource(TaggerSpec("x", "llm", options={"model": "m", "api_key": "one"}))
    b = TaggerSource(TaggerSpec("x", "llm", options={"model": "m", "api_key": "two"}))
    c = TaggerSource(TaggerSpec("x", "llm", options={"model": "n", "api_key": "one"}))
    assert a.fingerprint(d) == b.fingerprint(d) != c.fingerprint(d)
    assert public_options({"api_key": "s", "api_key_env": "OPENAI_API_KEY", "token": "t", "model": "m"}) == {
        "api_key_env": "OPENAI_API_KEY",
        "model": "m",
    }
    assert TaggerSource(TaggerSpec("o", "object", tagger=object())).fingerprint(d) is None


def test_only_whole_secret_names_are_left_out_of_fingerprints() -> None:
    """max_tokens changes an LLM's answers: it is not a secret because it contains "token"."""
    d = _dataset()

    def fp(**options: object) -> str | None:
        return TaggerSource(TaggerSpec("x", "llm", options={"model": "m", **options})).fingerprint(d)

    assert fp(max_tokens=16) != fp(max_tokens=4096) != fp()
    assert fp(api_key="a") == fp(api_key="b") == fp(token="t") == fp(Authorization="Bearer x") == fp()
    assert public_options({"max_tokens": 8, "key": "k", "password": "p", "secret": "s", "apikey": "a"}) == {
        "max_tokens": 8
    }


@pytest.mark.parametrize(
    "name",
    ["hf_token", "access_token", "HF_TOKEN", "api-key", "x_api_key", "client_secret", "proxy_password"],
)
def test_a_secret_piece_of_a_name_hides_it(name: str) -> None:
    d = _dataset()

    def fp(**options: object) -> str | None:
        return TaggerSource(TaggerSpec("x", "llm", options={"model": "m", **options})).fingerprint(d)

    assert public_options({name: "s3cret", "model": "m"}) == {"model": "m"}
    assert fp(**{name: "a"}) == fp(**{name: "b"}) == fp()


@pytest.mark.parametrize("name", ["max_tokens", "max-new-tokens", "api_key_env", "tokenizer", "keyword"])
def test_names_that_only_contain_a_secret_word_stay(name: str) -> None:
    assert public_options({name: 1}) == {name: 1}


def test_predictions_paths(tmp_path: Path) -> None:
    preds = tmp_path / "preds"
    (preds / "ncbi-disease").mkdir(parents=True)
    (preds / "bc5cdr.jsonl").write_text("", "utf-8")
    (preds / "biored.tsv").write_text("", "utf-8")
    (preds / "biored.jsonl").write_text("", "utf-8")
    source = TaggerSource(TaggerSpec("p", "predictions", path=preds, files={"chia": tmp_path / "c.tsv"}))
    assert source.predictions_path(_dataset("ncbi-disease")) == preds / "ncbi-disease"
    assert source.predictions_path(_dataset("bc5cdr")) == preds / "bc5cdr.jsonl"
    with pytest.raises(ConfigError, match="several prediction files"):
        source.predictions_path(_dataset("biored"))
    with pytest.raises(MissingPredictions, match=r"c\.tsv"):
        source.predictions_path(_dataset("chia"))
    with pytest.raises(MissingPredictions, match="'spaccc-es'"):
        source.predictions_path(_dataset("spaccc-es"))
    single = TaggerSource(TaggerSpec("p", "predictions", path=preds / "bc5cdr.jsonl"))
    assert single.predictions_path(_dataset("anything")) == preds / "bc5cdr.jsonl"


def test_map_predictions() -> None:
    doc = Document(
        "1",
        "x" * 40,
        [Span(0, 2, "DISEASE"), Span(3, 5, "Condition"), Span(6, 8, "SPECIES"), Span(9, 11, "chem")],
    )
    [out], dropped = map_predictions([doc], {"DISEASE": "condition", "chem": "drug"}, ("condition", "drug"))
    assert [(s.start, s.label) for s in out.spans] == [(0, "condition"), (3, "condition"), (9, "drug")]
    assert dropped == 1
    [out], dropped = map_predictions([doc], None, ("condition",))
    assert [s.label for s in out.spans] == ["condition"] and dropped == 3
    # what was dropped, per predicted label (and what the map made of it): the leaderboard's notes
    _, counts = map_predictions_counted([doc], {"DISEASE": "disease", "chem": "drug"}, ("condition",))
    assert counts["spans_outside_labels"] == 3
    assert counts["labels_outside"] == {"DISEASE->disease": 1, "SPECIES": 1, "chem->drug": 1}
    # an empty map renames nothing (only case: Condition -> condition)
    [out], counts = map_predictions_counted([doc], {}, ("condition", "DISEASE", "chem"))
    assert [s.label for s in out.spans] == ["DISEASE", "condition", "chem"]
    assert counts["labels_outside"] == {"SPECIES": 1}


def test_many_to_one_label_map_merges_duplicates() -> None:
    """Two heads firing on one mention, both mapped to ``condition``: one prediction, not two
    (nervaluate 0.1.8 would count the copy as another correct span)."""
    doc = Document(
        "1",
        "x" * 40,
        [
            Span(0, 2, "DISEASE", score=0.4),
            Span(0, 2, "SYMPTOM", score=0.9),
            Span(3, 5, "SYMPTOM"),
            Span(3, 5, "DISEASE", score=0.2),
            Span(6, 8, "DISEASE"),
        ],
    )
    mapping = {"DISEASE": "condition", "SYMPTOM": "condition"}
    [out], counts = map_predictions_counted([doc], mapping, ("condition",))
    assert [(s.start, s.end, s.label, s.score) for s in out.spans] == [
        (0, 2, "condition", 0.9),
        (3, 5, "condition", 0.2),
        (6, 8, "condition", None),
    ]
    assert counts == {"spans_outside_labels": 0, "duplicate_spans_merged": 2}
    [out], dropped = map_predictions([doc], mapping, ("condition",))
    assert len(out.spans) == 3 and dropped == 0


def test_align_to_gold() -> None:
    gold = [Document("a", "aaaa"), Document("b", "bbbb"), Document("c", "cccc")]
    pred = [
        Document("c", "cccc", [Span(0, 1, "X")]),
        Document("z", "zz", [Span(0, 1, "X")]),
        Document("a", "aaaa", [Span(1, 2, "X")]),
        Document("a", "aaaa", [Span(2, 3, "X")]),
    ]
    out, counts = align_to_gold(pred, gold)
    assert [d.id for d in out] == ["a", "b", "c"]
    assert [[s.start for s in d.spans] for d in out] == [[1, 2], [], [0]]
    assert out[1].text == "bbbb"
    assert counts == {"prediction_documents_ignored": 1, "prediction_documents_missing": 1}


def test_span_rows_round_trip() -> None:
    text = "left\r\nknee pain, and ache"
    spans = [
        Span(0, 4, "A"),
        Span(6, 10, "B", score=0.25),
        make_span(0, 16, "C", fragments=[(0, 4), (11, 15)]),
    ]
    back = [row_span(span_row(s), text) for s in spans]
    assert [(s.start, s.end, s.label, s.score, s.fragments) for s in back] == [
        (0, 4, "A", None, None),
        (6, 10, "B", 0.25, None),
        (0, 15, "C", None, ((0, 4), (11, 15))),
    ]
    assert [s.text for s in back] == ["left", "knee", "left pain"]


def test_token_splitter_choice() -> None:
    assert TaggerSource(TaggerSpec("l", "lexicon")).tokenizer(None) is None
    gliner = TaggerSource(TaggerSpec("g", "predictions", tokenize="gliner")).tokenizer(None)
    assert gliner.pattern == GLINER_WORDS  # type: ignore[union-attr]
    assert re.findall(GLINER_WORDS, "non-small cell, T2") == ["non-small", "cell", ",", "T2"]
    regex = TaggerSource(TaggerSpec("r", "predictions", tokenize=r"re:\S+")).tokenizer(None)
    assert regex.pattern == r"\S+"  # type: ignore[union-attr]
    with pytest.raises(ConfigError, match="tokenize"):
        TaggerSource(TaggerSpec("x", "predictions", tokenize="/no/such/tokenizer")).tokenizer(None)
    with pytest.raises(ConfigError, match=r"tokenize = 'word'.*did you mean 'words'"):
        TaggerSource(TaggerSpec("w", "predictions", tokenize="word")).check_options()
    with pytest.raises(ConfigError, match=r"tokenize = 're:\('.*not a regular expression"):
        TaggerSource(TaggerSpec("b", "predictions", tokenize="re:(")).check_options()


def test_slug() -> None:
    assert slug("ncbi-disease") == "ncbi-disease"
    assert re.fullmatch(r"gene_variant_v1-[0-9a-f]{6}", slug("gene variant/v1"))
    assert slug("a/b") != slug("a_b") == "a_b"
    assert re.fullmatch(r"x-[0-9a-f]{6}", slug("../x"))
    assert re.fullmatch(r"_-[0-9a-f]{6}", slug(".."))


def test_speed_options_do_not_change_fingerprints(tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "clinicalner.json").write_text("{}", "utf-8")
    d = _dataset()
    cpu = TaggerSource(TaggerSpec("m", "model", path=model, options={"device": "cpu", "batch_tokens": 512}))
    gpu = TaggerSource(TaggerSpec("m", "model", path=model, options={"device": "cuda"}))
    strict = TaggerSource(TaggerSpec("m", "model", path=model, options={"device": "cuda", "threshold": 0.5}))
    assert cpu.fingerprint(d) == gpu.fingerprint(d) != strict.fingerprint(d)
