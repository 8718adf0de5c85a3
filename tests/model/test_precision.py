"""bfloat16 where the hardware has it, float32 elsewhere, and errors where bf16 cannot run."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from clinicalner.document import Document  # noqa: E402
from clinicalner.encoders.tiny import build_tiny_encoder  # noqa: E402
from clinicalner.model.config import ModelConfig  # noqa: E402
from clinicalner.model.inputs import encode_documents  # noqa: E402
from clinicalner.model.precision import autocast, native_bf16, resolve_precision  # noqa: E402
from clinicalner.model.store import build_model, save_model  # noqa: E402
from clinicalner.predict.engine import TransformerTagger  # noqa: E402

TEXT = "Paciente con fiebre 🤒 y dolor torácico.\r\nDiabetes mellitus tipo 2; HbA1c 7,5 %. " * 4


@pytest.mark.parametrize("has_bf16", [True, False])
def test_auto_follows_the_cpu(monkeypatch, has_bf16):
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: has_bf16)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
    assert native_bf16("cpu") is has_bf16
    assert resolve_precision("auto", "cpu") == ("bf16" if has_bf16 else "fp32")
    # An explicit choice is kept: bf16 still runs (emulated, slower) on a CPU without it.
    assert resolve_precision("bf16", "cpu") == "bf16"
    assert resolve_precision("fp32", "cpu") == "fp32"


def _fake_gpus(monkeypatch, capabilities: list[tuple[int, int]], current: int = 0) -> None:
    """CUDA GPUs with these compute capabilities; ``is_bf16_supported`` says True for all of
    them, as torch's default (``including_emulation=True``) does on a T4 or V100."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.version, "hip", None)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: current)
    monkeypatch.setattr(
        torch.cuda, "get_device_capability", lambda i=None: capabilities[current if i is None else i]
    )
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: True)


@pytest.mark.parametrize(
    ("capability", "expected"), [((7, 5), "fp32"), ((7, 0), "fp32"), ((8, 0), "bf16"), ((9, 0), "bf16")]
)
def test_auto_on_cuda_needs_native_bf16(monkeypatch, capability, expected):
    """T4 (7.5) and V100 (7.0) emulate bfloat16, slower than float32; Ampere (8.0) and later have it."""
    _fake_gpus(monkeypatch, [capability])
    assert native_bf16("cuda") is (expected == "bf16")
    assert resolve_precision("auto", "cuda") == expected
    assert resolve_precision("auto", "cuda:0") == expected


def test_auto_on_cuda_asks_the_named_gpu(monkeypatch):
    _fake_gpus(monkeypatch, [(9, 0), (7, 5)], current=0)
    assert resolve_precision("auto", "cuda:0") == "bf16"
    assert resolve_precision("auto", "cuda:1") == "fp32"
    assert resolve_precision("auto", "cuda") == "bf16"  # the current device
    _fake_gpus(monkeypatch, [(9, 0), (7, 5)], current=1)
    assert resolve_precision("auto", "cuda") == "fp32"
    assert resolve_precision("auto", "cuda:0") == "bf16"


def test_devices_without_bf16_autocast():
    assert resolve_precision("auto", "mps") == "fp32"
    with pytest.raises(ValueError, match="not supported on 'mps'"):
        resolve_precision("bf16", "mps")
    with pytest.raises(ValueError, match="precision must be one of"):
        resolve_precision("fp16", "cpu")
    if not torch.cuda.is_available():
        assert not native_bf16("cuda") and resolve_precision("auto", "cuda:0") == "fp32"


def test_autocast_runs_matrix_products_in_bf16():
    a = torch.randn(4, 8)
    with autocast("bf16", "cpu"):
        assert (a @ a.T).dtype == torch.bfloat16
    with autocast("fp32", "cpu"):
        assert (a @ a.T).dtype == torch.float32


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("precision")
    enc = build_tiny_encoder(root / "enc", "unigram", vocab_from=[TEXT])
    torch.manual_seed(0)
    model, tok = build_model(ModelConfig(labels=["DISEASE", "SYMPTOM"], max_length=32, stride=16), str(enc))
    with torch.no_grad():
        for head in model.heads:
            head[-1].bias.copy_(torch.tensor([0.0, 0.3, 0.2]))
    return save_model(model, tok, root / "model")


def test_bf16_tagging_stays_close_to_fp32(model_dir):
    full = TransformerTagger(model_dir, device="cpu", precision="fp32", postprocess=False)
    half = TransformerTagger(model_dir, device="cpu", precision="bf16", postprocess=False)
    assert (full.precision, half.precision) == ("fp32", "bf16")
    (enc,) = encode_documents([Document("d", TEXT)], full.tokenizer)
    a, b = full.subword_logits([enc])[0], half.subword_logits([enc])[0]
    assert b.dtype == np.float32
    assert np.abs(a - b).max() < 0.05 * np.abs(a).max()
    (out,) = list(half.tag([Document("d", TEXT)]))
    assert out.spans and all(s.text == TEXT[s.start : s.end] for s in out.spans)


def test_quantize_means_fp32(model_dir):
    assert TransformerTagger(model_dir, device="cpu", quantize=True).precision == "fp32"
    with pytest.raises(ValueError, match="do not combine"):
        TransformerTagger(model_dir, device="cpu", quantize=True, precision="bf16")


def test_bf16_tagger_casts_its_linear_weights_once_with_identical_results(model_dir):
    """The tagger stores its linear layers in bf16 (autocast would cast them every batch); the
    logits are bit-identical to autocast over the float32 weights."""
    from clinicalner.model.precision import lower_linear_weights
    from clinicalner.model.store import load_model

    half = TransformerTagger(model_dir, device="cpu", precision="bf16", postprocess=False)
    linears = [m for m in half.model.modules() if isinstance(m, torch.nn.Linear)]
    assert linears and all(m.weight.dtype == torch.bfloat16 for m in linears)
    model, tok = load_model(model_dir, "cpu")
    assert lower_linear_weights(model, "fp32") == 0
    reference = TransformerTagger(model, tok, device="cpu", precision="bf16", postprocess=False)
    assert all(m.weight.dtype == torch.float32 for m in model.modules() if isinstance(m, torch.nn.Linear))
    (enc,) = encode_documents([Document("d", TEXT)], tok)
    a, b = half.subword_logits([enc])[0], reference.subword_logits([enc])[0]
    assert np.array_equal(a, b)
    assert lower_linear_weights(model, "bf16") == len(linears)
