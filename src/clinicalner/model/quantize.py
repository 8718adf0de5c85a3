"""Which linear layers to quantise to int8, by kind, and how (torch dynamic quantisation).

Why kinds: quantising every linear layer of a BERT encoder costs 10 to 13 strict F1 points,
while most of that loss comes from a few kinds of layer whose inputs carry large outliers
(measured by ``benchmarks/bench_quantize.py``, table in BENCHMARKS.md). A layer's kind is read
from its module name, so the same choice applies to the torch path (:func:`quantize_layers`)
and to the ONNX path (:func:`clinicalner.export.onnx_model.quantize_onnx`, via node names).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

#: The kinds of linear layer in a BERT-family encoder plus our per-type heads.
LAYER_KINDS: tuple[str, ...] = ("qkv", "attn_out", "ffn_in", "ffn_out", "heads")

_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    # BERT, RoBERTa, XLM-R, e5 (the Hugging Face BERT layout) and DistilBERT.
    ("qkv", re.compile(r"(attention\.self\.(query|key|value)|attention\.(q_lin|k_lin|v_lin))$")),
    ("attn_out", re.compile(r"(attention\.output\.dense|attention\.out_lin)$")),
    ("ffn_in", re.compile(r"(intermediate\.dense|ffn\.lin1)$")),
    ("ffn_out", re.compile(r"((?<!attention\.)output\.dense|ffn\.lin2)$")),
    ("heads", re.compile(r"^heads\.\d+(\.\d+)*$")),
)

#: The kinds the int8 path leaves in float32 (the study's verdict: see BENCHMARKS.md).
DEFAULT_SKIP: tuple[str, ...] = ("ffn_out", "heads")


def layer_kind(name: str) -> str | None:
    """The kind of the linear layer called ``name`` (a module path such as
    ``encoder.encoder.layer.3.output.dense``), or None for one no kind names (a pooler)."""
    for kind, pattern in _PATTERNS:
        if pattern.search(name):
            return kind
    return None


def check_kinds(kinds: Iterable[str]) -> tuple[str, ...]:
    """``kinds`` as a tuple, or a ``ValueError`` naming the unknown ones and the known."""
    kinds = tuple(kinds)
    bad = [k for k in kinds if k not in LAYER_KINDS]
    if bad:
        raise ValueError(f"unknown layer kind(s) {', '.join(bad)}; known: {', '.join(LAYER_KINDS)}")
    return kinds


def linear_layers(model: Any, kinds: Iterable[str]) -> list[str]:
    """The module names of ``model``'s linear layers of the given kinds, in model order."""
    import torch

    wanted = set(check_kinds(kinds))
    return [
        name
        for name, module in model.named_modules()
        if isinstance(module, torch.nn.Linear) and layer_kind(name) in wanted
    ]


def quantize_layers(model: Any, kinds: Iterable[str], per_channel: bool = True) -> Any:
    """Dynamic int8 quantisation (in place) of ``model``'s linear layers of the given kinds.

    Weights become int8 (one scale per output channel with ``per_channel``, else one per
    matrix); activations are quantised per tensor on the fly, which is where outliers hurt.
    Returns the model; layers of other kinds stay float32.
    """
    import warnings

    import torch
    from torch.ao.quantization import default_dynamic_qconfig, per_channel_dynamic_qconfig, quantize_dynamic

    qconfig = per_channel_dynamic_qconfig if per_channel else default_dynamic_qconfig
    names = linear_layers(model, kinds)
    if not names:
        return model
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao's deprecation notice
        quantize_dynamic(model, dict.fromkeys(names, qconfig), dtype=torch.qint8, inplace=True)
    return model
