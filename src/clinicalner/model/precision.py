"""Which number format the encoder's matrix products run in: float32 or bfloat16.

An encoder forward pass is matrix products almost entirely, and a CPU with native bfloat16
instructions (AVX512-BF16, AMX) runs them about 2.5 times faster than float32; so does a GPU.
bfloat16 keeps float32's exponent range, so logits barely move (BENCHMARKS.md measures the
F1). Where bfloat16 would be emulated (an AVX2-only CPU, Apple MPS) it is slower than float32,
so ``auto`` picks it only where the hardware has it. Weights stay in float32; autocast casts
per operation, and softmax, layer norm and the loss stay in float32.
"""

from __future__ import annotations

import contextlib
from typing import Any

PRECISIONS = ("auto", "fp32", "bf16")


def native_bf16(device: str) -> bool:
    """Whether ``device`` ("cpu", "cuda", "cuda:1", "mps") multiplies bfloat16 natively."""
    import torch

    kind, _, index = device.partition(":")
    if kind == "cuda":
        if not torch.cuda.is_available():
            return False
        if torch.version.hip:
            return True  # every ROCm GPU torch supports has bfloat16 units
        # Not ``torch.cuda.is_bf16_supported()``: it asks about the current device, not the one
        # named, and by default also says True where bfloat16 is only emulated (T4, V100), where
        # it is slower than float32. Native bfloat16 matrix units start with Ampere (8.0).
        major, _ = torch.cuda.get_device_capability(int(index) if index else torch.cuda.current_device())
        return major >= 8
    if kind == "cpu":
        # oneDNN runs the bfloat16 matrix products; without it they fall back to slow loops.
        if not torch.backends.mkldnn.is_available():
            return False
        cpu = getattr(torch, "cpu", None)
        checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
        return any(bool(getattr(cpu, name, lambda: False)()) for name in checks)
    return False


def resolve_precision(precision: str, device: str) -> str:
    """``auto`` made concrete for ``device``; an explicit ``bf16`` where it cannot run is an error."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    kind = device.split(":", 1)[0]
    if precision == "auto":
        return "bf16" if native_bf16(device) else "fp32"
    if precision == "bf16" and kind not in ("cpu", "cuda"):
        raise ValueError(f"bf16 autocast is not supported on {device!r}; use fp32")
    return precision


def autocast(precision: str, device: str) -> Any:
    """The autocast context for a resolved ``precision`` (a no-op for fp32)."""
    if precision != "bf16":
        return contextlib.nullcontext()
    import torch

    return torch.autocast(device.split(":", 1)[0], dtype=torch.bfloat16)


def lower_linear_weights(model: Any, precision: str) -> int:
    """Store every linear layer's weight and bias in bfloat16 once, for tagging under autocast;
    returns how many layers were cast (none unless ``precision`` is ``bf16``).

    Autocast casts a float32 weight to bfloat16 on every call and caches the cast only inside
    one autocast context (one batch), so tagging paid for casting the whole encoder again for
    every batch: about 14 % of its CPU time on the e5-small model in a profile (BENCHMARKS.md).
    Autocast casts with the same rounding, so the results are bit-identical. For inference
    only: training keeps float32 master weights.
    """
    if precision != "bf16":
        return 0
    import torch

    n = 0
    for module in model.modules():
        if isinstance(module, torch.nn.Linear) and module.weight.dtype == torch.float32:
            module.to(torch.bfloat16)
            n += 1
    return n
