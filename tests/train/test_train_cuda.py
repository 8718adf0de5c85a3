"""Training on a GPU: the same tiny encoders as ``test_loop.py``, on CUDA with bf16 mixed precision.

Why: the CPU suite never touches CUDA, so a tensor left on the wrong device, an autocast
context that does not exist on CUDA or a ``.numpy()`` on a GPU tensor would only surface on a
user's GPU. These tests skip where no CUDA device is present (CI) and run on a GPU machine.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
if not torch.cuda.is_available():
    pytest.skip("no CUDA device", allow_module_level=True)

from safetensors.numpy import load_file  # noqa: E402

from clinicalner.sample_notes import load_examples  # noqa: E402
from clinicalner.train.config import TrainConfig  # noqa: E402
from clinicalner.train.loop import train_model  # noqa: E402
from tiny_training import THREE, crash_then_resume, tiny_config, tiny_encoder  # noqa: E402


@pytest.fixture(scope="module", params=["wordpiece", "unigram"])
def encoder(request, tmp_path_factory) -> Path:
    return tiny_encoder(tmp_path_factory.mktemp(request.param), request.param)


def _config(out: Path, encoder: Path, **kw) -> TrainConfig:
    return tiny_config(out, encoder, **{"device": "cuda", "threads": 0, **kw})


@pytest.mark.parametrize("mixed", [True, False])
def test_loss_goes_down_on_cuda(encoder, tmp_path, mixed):
    from clinicalner.model import precision

    seen: set[str] = set()
    real = precision.autocast

    def spy(kind: str, device: str):
        seen.add(f"{kind}@{device}")
        return real(kind, device)

    precision.autocast = spy
    try:
        result = train_model(
            _config(tmp_path / "m", encoder, epochs=6, mixed_precision=mixed),
            train_docs=[load_examples("train")],
            dev_docs=load_examples("dev"),
            progress=False,
        )
    finally:
        precision.autocast = real
    expected = "bf16" if mixed and precision.native_bf16("cuda") else "fp32"
    assert seen == {f"{expected}@cuda"}
    losses = [h["loss"] for h in result.history]
    assert all(np.isfinite(losses))
    assert losses[-1] < losses[0] * 0.8
    # The weights are saved from the GPU and load on a machine without one.
    weights = load_file(str(result.output / "model.safetensors"))
    assert weights and all(np.isfinite(w).all() for w in weights.values())


@pytest.mark.parametrize("crf", [False, True])
def test_overfit_on_cuda_then_tag_on_cpu_and_cuda(encoder, tmp_path, crf):
    from clinicalner.predict.engine import TransformerTagger

    cfg = _config(
        tmp_path / "m", encoder, epochs=60, batch_size=3, crf=crf, class_weights="none", postprocess=False
    )
    result = train_model(cfg, train_docs=[THREE], dev_docs=THREE, progress=False)
    assert result.best_f1 == 1.0
    on_gpu = list(TransformerTagger(result.output, device="cuda", postprocess=False).tag(THREE))
    on_cpu = list(
        TransformerTagger(result.output, device="cpu", precision="fp32", postprocess=False).tag(THREE)
    )
    for gold, gpu, cpu in zip(THREE, on_gpu, on_cpu, strict=True):
        assert [s.key for s in gpu.sorted_spans()] == [s.key for s in gold.sorted_spans()]
        assert [s.key for s in cpu.sorted_spans()] == [s.key for s in gold.sorted_spans()]
        for a, b in zip(gpu.sorted_spans(), cpu.sorted_spans(), strict=True):
            assert abs(a.score - b.score) < 0.05  # bf16 on the GPU, fp32 on the CPU


def test_resume_on_cuda_continues_the_run(encoder, tmp_path):
    docs = [load_examples("train")]

    resumed = crash_then_resume(lambda out: _config(out, encoder, epochs=3), tmp_path / "resumed", docs)
    full = train_model(_config(tmp_path / "full", encoder, epochs=3), train_docs=docs, progress=False)
    a = load_file(str(full.output / "model.safetensors"))
    b = load_file(str(resumed.output / "model.safetensors"))
    assert a.keys() == b.keys()
    for key in a:  # GPU kernels are not bit-reproducible (atomics); the runs must still agree
        np.testing.assert_allclose(a[key], b[key], rtol=0, atol=1e-2, err_msg=key)
