from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from clinicalner.encoders import build_tiny_encoder

from .offsets import HARD_TEXTS, check_offsets

transformers = pytest.importorskip("transformers")
torch = pytest.importorskip("torch")

KINDS = ("wordpiece", "unigram")
MARKERS = {"wordpiece": "##", "unigram": "\u2581"}


@pytest.fixture(scope="module")
def tiny_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tiny")
    build_tiny_encoder(root / "warmup")  # first call pays for importing transformers' BERT
    dirs = {}
    for kind in KINDS:
        start = time.perf_counter()
        dirs[kind] = build_tiny_encoder(root / kind, kind=kind)
        elapsed = time.perf_counter() - start
        assert elapsed < 1.5, f"{kind} tiny encoder took {elapsed:.2f} s"
    return dirs


@pytest.mark.parametrize("kind", KINDS)
def test_loads_and_runs(tiny_dirs: dict[str, Path], kind: str) -> None:
    tokenizer = transformers.AutoTokenizer.from_pretrained(tiny_dirs[kind])
    model = transformers.AutoModel.from_pretrained(tiny_dirs[kind]).eval()
    assert model.config.hidden_size == 32 and model.config.num_hidden_layers == 2
    assert model.config.vocab_size == len(tokenizer)
    assert model.config.pad_token_id == tokenizer.pad_token_id
    batch = tokenizer(
        ["Dolor torácico.", "Fiebre alta y tos desde hace una semana."], padding=True, return_tensors="pt"
    )
    with torch.no_grad():
        out = model(**batch).last_hidden_state
    assert out.shape == (2, batch["input_ids"].shape[1], 32)
    assert torch.isfinite(out).all()
    config = json.loads((tiny_dirs[kind] / "tokenizer_config.json").read_text())
    assert config["tokenizer_class"] == "PreTrainedTokenizerFast"


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("text", HARD_TEXTS)
def test_offsets(tiny_dirs: dict[str, Path], kind: str, text: str) -> None:
    tokenizer = transformers.AutoTokenizer.from_pretrained(tiny_dirs[kind])
    check_offsets(tokenizer, text, tokenizer.backend_tokenizer.normalizer.normalize_str, MARKERS[kind])


def test_wordpiece_normalises_and_splits_words(tiny_dirs: dict[str, Path]) -> None:
    tokenizer = transformers.AutoTokenizer.from_pretrained(tiny_dirs["wordpiece"])
    text = "DOLOR torácico, paracetamol"
    enc = tokenizer(text, return_offsets_mapping=True, add_special_tokens=False)
    pieces = [(token, text[s:e]) for token, (s, e) in zip(enc.tokens(), enc["offset_mapping"], strict=True)]
    assert ("dol", "DOL") in pieces and ("##or", "OR") in pieces  # lowercased, one word in two pieces
    assert ("tor", "tor") in pieces and ("##acico", "ácico") in pieces  # accent stripped, offsets kept
    ids = tokenizer("hola")["input_ids"]
    assert ids[0] == tokenizer.cls_token_id and ids[-1] == tokenizer.sep_token_id


def test_unigram_marks_words(tiny_dirs: dict[str, Path]) -> None:
    tokenizer = transformers.AutoTokenizer.from_pretrained(tiny_dirs["unigram"])
    enc = tokenizer("Paciente con fiebre", add_special_tokens=False)
    tokens = enc.tokens()
    assert sum(token.startswith("\u2581") for token in tokens) == 3
    assert tokenizer.convert_tokens_to_string(tokens) == "Paciente con fiebre"
    ids = tokenizer("hola")["input_ids"]
    assert ids[0] == tokenizer.bos_token_id == tokenizer.cls_token_id and ids[-1] == tokenizer.eos_token_id


@pytest.mark.parametrize("kind", KINDS)
def test_deterministic_and_seeded(tmp_path: Path, kind: str) -> None:
    a = build_tiny_encoder(tmp_path / "a", kind=kind, seed=3)
    b = build_tiny_encoder(tmp_path / "b", kind=kind, seed=3)
    c = build_tiny_encoder(tmp_path / "c", kind=kind, seed=4)
    for name in ("tokenizer.json", "model.safetensors", "config.json"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert (a / "tokenizer.json").read_bytes() == (c / "tokenizer.json").read_bytes()
    assert (a / "model.safetensors").read_bytes() != (c / "model.safetensors").read_bytes()


def test_build_leaves_global_random_state_alone(tmp_path: Path) -> None:
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    build_tiny_encoder(tmp_path / "x")
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.parametrize("kind", KINDS)
def test_vocabulary_from_given_texts(tmp_path: Path, kind: str) -> None:
    texts = ["zyxomab qwertuv zyxomab qwertuv"] * 5 + ["kvrtl zyxomab"]
    folder = build_tiny_encoder(tmp_path / kind, kind=kind, vocab_from=texts, hidden=16, layers=1, heads=4)
    tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
    vocab = tokenizer.get_vocab()
    if kind == "wordpiece":
        assert "zyxomab" in vocab and tokenizer.tokenize("zyxomab") == ["zyxomab"]
        assert "dolor" not in vocab
    else:
        singles = {piece for piece in vocab if len(piece) == 1}
        assert singles == set("zyxomabqwertuvkl") | {"\u2581"}
        assert tokenizer.unk_token_id not in tokenizer("zyxomab kvrtl", add_special_tokens=False)["input_ids"]
        assert tokenizer("ñ", add_special_tokens=False)["input_ids"][-1] == tokenizer.unk_token_id
    config = transformers.AutoConfig.from_pretrained(folder)
    assert (config.hidden_size, config.num_hidden_layers, config.num_attention_heads) == (16, 1, 4)


def test_rejects_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="kind"):
        build_tiny_encoder(tmp_path / "x", kind="bpe")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="divisible"):
        build_tiny_encoder(tmp_path / "y", hidden=30, heads=4)
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()
