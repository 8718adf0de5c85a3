"""Model folders: frozen word embeddings left to the base encoder, loading unchanged."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from clinicalner.encoders.tiny import build_tiny_encoder  # noqa: E402
from clinicalner.model import store  # noqa: E402
from clinicalner.model.config import ModelConfig  # noqa: E402
from clinicalner.model.store import BASE_EMBEDDINGS, WEIGHTS, build_model, load_model, save_model  # noqa: E402

TEXT = "Paciente con fiebre y dolor torácico; diabetes mellitus tipo 2. " * 4


@pytest.fixture(scope="module")
def tiny_base(tmp_path_factory) -> Path:
    return build_tiny_encoder(tmp_path_factory.mktemp("store") / "enc", "unigram", vocab_from=[TEXT])


@pytest.fixture
def trained(tiny_base: Path, tmp_path: Path):
    enc = Path(shutil.copytree(tiny_base, tmp_path / "enc"))  # a copy: tests delete or change it
    torch.manual_seed(0)
    model, tok = build_model(ModelConfig(labels=["DISEASE", "SYMPTOM"], max_length=24, stride=10), str(enc))
    model.freeze_word_embeddings()
    with torch.no_grad():  # training moved everything but the frozen matrix
        for p in model.parameters():
            if p.requires_grad:
                p.add_(0.01 * torch.randn_like(p))
    return enc, model, tok


def _same_state(a: torch.nn.Module, b: torch.nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)


def test_frozen_embeddings_stay_in_the_base_and_load_back_identically(trained, tmp_path: Path) -> None:
    enc, model, tok = trained
    full = save_model(model, tok, tmp_path / "full")  # no base named: everything inside, as before
    lean = save_model(model, tok, tmp_path / "lean", base_model=str(enc), base_folder=enc)
    emb_bytes = model.encoder.get_input_embeddings().weight.numel() * 4
    assert (full / WEIGHTS).stat().st_size - (lean / WEIGHTS).stat().st_size >= emb_bytes
    assert not (full / BASE_EMBEDDINGS).exists()
    record = json.loads((lean / BASE_EMBEDDINGS).read_text(encoding="utf-8"))
    assert record["key"].endswith("word_embeddings.weight") and len(record["sha256"]) == 64
    store._VERIFIED.clear()
    _same_state(load_model(full)[0], model)
    _same_state(load_model(lean)[0], model)


def test_a_lean_model_without_its_base_says_what_is_missing(trained, tmp_path: Path) -> None:
    enc, model, tok = trained
    lean = save_model(model, tok, tmp_path / "lean", base_model=str(enc), base_folder=enc)
    store._VERIFIED.clear()
    shutil.rmtree(enc)
    with pytest.raises(FileNotFoundError, match=r"base encoder .*cannot be found.*encoders build"):
        load_model(lean)


def test_a_changed_base_is_refused_not_loaded(trained, tmp_path: Path) -> None:
    enc, model, tok = trained
    lean = save_model(model, tok, tmp_path / "lean", base_model=str(enc), base_folder=enc)
    store._VERIFIED.clear()
    from safetensors.torch import load_file, save_file

    weights = load_file(str(enc / WEIGHTS))
    for key in weights:
        if key.endswith("word_embeddings.weight"):
            weights[key] = weights[key] + 1e-3  # same place, other weights
    save_file(weights, str(enc / WEIGHTS))
    with pytest.raises(FileNotFoundError, match="no word-embedding matrix with the recorded SHA-256"):
        load_model(lean)


def test_trained_embeddings_are_always_stored(trained, tmp_path: Path) -> None:
    enc, model, tok = trained
    model.encoder.get_input_embeddings().weight.requires_grad_(True)
    out = save_model(model, tok, tmp_path / "m", base_model=str(enc), base_folder=enc)
    assert not (out / BASE_EMBEDDINGS).exists()
    shutil.rmtree(enc)
    _same_state(load_model(out)[0], model)


def test_a_base_matrix_is_hashed_once_and_not_kept(trained, tmp_path: Path, monkeypatch) -> None:
    """A second load of a lean model reads the unchanged base without hashing it again, and
    nothing in the process keeps the base matrix beside the model's own copy."""
    import weakref

    enc, model, tok = trained
    lean = save_model(model, tok, tmp_path / "lean", base_model=str(enc), base_folder=enc)
    store._VERIFIED.clear()
    hashed: list[int] = []
    real_hash, real_read = store._tensor_sha256, store.base_embeddings
    monkeypatch.setattr(store, "_tensor_sha256", lambda t: hashed.append(1) or real_hash(t))
    returned: list[weakref.ref] = []

    def spy(path: Path, record: dict) -> torch.Tensor:
        matrix = real_read(path, record)
        returned.append(weakref.ref(matrix))
        return matrix

    monkeypatch.setattr(store, "base_embeddings", spy)
    first, _ = load_model(lean)
    second, _ = load_model(lean)
    assert len(hashed) == 1
    _same_state(first, model)
    _same_state(second, model)
    assert len(returned) == 2 and all(ref() is None for ref in returned)
