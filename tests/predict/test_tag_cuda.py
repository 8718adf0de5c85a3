"""Tagging on a GPU gives what tagging on the CPU gives: windows, pooling, decoding, ensembles.

Skipped where no CUDA device is present (CI); run on a GPU machine.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
if not torch.cuda.is_available():
    pytest.skip("no CUDA device", allow_module_level=True)

from clinicalner.document import Document  # noqa: E402
from clinicalner.encoders.tiny import build_tiny_encoder  # noqa: E402
from clinicalner.model.config import ModelConfig  # noqa: E402
from clinicalner.model.inputs import encode_documents  # noqa: E402
from clinicalner.model.store import build_model, save_model  # noqa: E402
from clinicalner.predict.engine import TransformerTagger  # noqa: E402
from clinicalner.predict.logit_ensemble import LogitEnsembleTagger  # noqa: E402

LONG = (
    "Paciente de 45 años con fiebre 🤒 y dolor torácico.\r\n"
    "Señora Ångström: diabetes mellitus tipo 2, HbA1c 7,5 %; p.ej. insulina i.v.\r\n\r\n"
    "Tras la ecografía\tabdominal se halló colecistitis aguda 𝒜𝒷𝒸. Café, naïve, Ž, Český.\r\n"
) * 6


def _model(root: Path, enc: Path, seed: int, windows: str, crf: bool = False) -> Path:
    torch.manual_seed(seed)
    config = ModelConfig(labels=["DISEASE", "SYMPTOM"], max_length=40, stride=24, windows=windows, crf=crf)
    model, tok = build_model(config, str(enc))
    with torch.no_grad():  # make the random heads predict some entities
        for head in model.heads:
            head[-1].bias.copy_(torch.tensor([0.0, 0.3, 0.2]))
    return save_model(model, tok, root / f"m{seed}-{windows}{'-crf' if crf else ''}")


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("cuda")
    return root, build_tiny_encoder(root / "enc", "unigram", vocab_from=[LONG])


@pytest.mark.parametrize(("windows", "crf"), [("sliding", False), ("sentence", False), ("sentence", True)])
def test_cuda_fp32_equals_cpu(root, windows, crf):
    model = _model(*root, seed=1, windows=windows, crf=crf)
    cpu = TransformerTagger(model, device="cpu", precision="fp32", postprocess=False)
    gpu = TransformerTagger(model, device="cuda", precision="fp32", postprocess=False)
    assert next(gpu.model.parameters()).is_cuda
    docs = [Document(f"d{i}", LONG[: 60 + 131 * i], language="es") for i in range(8)]
    encoded = encode_documents(docs, cpu.tokenizer)
    for a, b in zip(cpu.subword_logits(encoded), gpu.subword_logits(encoded), strict=True):
        assert isinstance(b, np.ndarray)
        np.testing.assert_allclose(a, b, atol=1e-3)
    for a, b in zip(cpu.tag(docs), gpu.tag(docs), strict=True):
        assert [s.key for s in a.spans] == [s.key for s in b.spans]
        assert all(s.text == b.text[s.start : s.end] for s in b.spans)


def test_cuda_auto_precision_is_bf16_and_close(root):
    model = _model(*root, seed=2, windows="sentence")
    gpu = TransformerTagger(model, device="cuda", postprocess=False)
    from clinicalner.model.precision import native_bf16

    assert gpu.precision == ("bf16" if native_bf16("cuda") else "fp32")
    cpu = TransformerTagger(model, device="cpu", precision="fp32", postprocess=False)
    (enc,) = encode_documents([Document("long", LONG)], cpu.tokenizer)
    a, b = cpu.subword_logits([enc])[0], gpu.subword_logits([enc])[0]
    assert b.dtype == np.float32
    assert np.abs(a - b).max() < 0.05 * max(1.0, np.abs(a).max())
    (out,) = list(gpu.tag([Document("long", LONG)]))
    assert out.spans and all(s.text == LONG[s.start : s.end] and 0 < s.score <= 1 for s in out.spans)


def test_quantize_is_refused_on_cuda(root):
    """int8 dynamic quantisation is a CPU feature: on CUDA it is an error, not a silent no-op."""
    model = _model(*root, seed=3, windows="sentence")
    with pytest.raises(ValueError, match="CPU"):
        TransformerTagger(model, device="cuda", quantize=True, postprocess=False)


def test_logit_ensemble_on_cuda_equals_cpu(root):
    paths = [_model(*root, seed=s, windows="sentence") for s in (4, 5)]
    gpu = LogitEnsembleTagger(paths, device="cuda", precision="fp32", postprocess=False)
    cpu = LogitEnsembleTagger(paths, device="cpu", precision="fp32", postprocess=False)
    doc = Document("d", LONG)
    assert [s.key for s in next(gpu.tag([doc])).spans] == [s.key for s in next(cpu.tag([doc])).spans]
