"""``clinicalner export``: a model folder plus its network as ONNX, checked before it is written.

The exported folder is the model folder (configuration, tokenizer, weights: the CRF
transition scores and the gate's reference come from them) with ``model.onnx`` and
``onnx.json`` added, so ``predict`` tags with it like with any model folder and picks ONNX
Runtime by itself (``--runtime auto``). The folder is built under a temporary name and moved
into place only when the accuracy gate passes: a refused export leaves nothing behind.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clinicalner.export.gate import GateResult, check_export, gate_notes
from clinicalner.export.onnx_model import ONNX_FILE, ONNX_META, OPSET, export_onnx, quantize_onnx
from clinicalner.model.quantize import DEFAULT_SKIP, check_kinds

#: The gate's default tolerance (share of spans that may differ): float32 graphs differ from
#: torch only by rounding; int8 moves borderline decisions (measured: BENCHMARKS.md).
TOLERANCE = {"fp32": 0.01, "int8": 0.2}


@dataclass(frozen=True)
class ExportSummary:
    output: Path
    precision: str
    float_kinds: tuple[str, ...]
    float_nodes: int
    gate: GateResult
    seconds: float


def export_model(
    model: str | Path,
    to: str = "onnx",
    output: str | Path | None = None,
    quantize: bool = False,
    keep_float: Sequence[str] | None = None,
    per_channel: bool = True,
    check: str | Path | None = None,
    check_notes: int = 20,
    tolerance: float | None = None,
) -> ExportSummary:
    """Export ``model`` (a trained model folder) for ONNX Runtime into the folder ``output``.

    ``quantize``: int8 weights (ONNX Runtime's dynamic quantisation) except for the layer kinds
    in ``keep_float`` (default: the kinds the quantisation study blames, ``ffn_out`` and
    ``heads``). ``check``: a corpus whose first ``check_notes`` notes the gate tags (default:
    the built-in example notes). ``tolerance``: the share of spans that may differ from the
    torch model's (default 1 % for float32, 20 % for int8).
    """
    import time

    from clinicalner.atomic import atomic_dir
    from clinicalner.extras import require

    t0 = time.perf_counter()
    if to != "onnx":
        raise ValueError(f"unknown export target {to!r}: only onnx is supported")
    if output is None:
        raise ValueError("give the folder to write the export to (--output DIR)")
    src, out = Path(model), Path(output)
    if not (src / "clinicalner.json").is_file():
        raise FileNotFoundError(f"{src}: not a trained model folder (no clinicalner.json)")
    if (src / ONNX_FILE).is_file():
        raise ValueError(f"{src}: already an export (holds {ONNX_FILE}); export the original model folder")
    if out.resolve() == src.resolve() or src.resolve() in out.resolve().parents:
        raise ValueError(f"{out}: the export may not replace or sit inside the model folder {src}")
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / ONNX_META).is_file())):
        raise FileExistsError(f"{out}: exists and is not an earlier export (no {ONNX_META}); choose another")
    kinds = check_kinds(DEFAULT_SKIP if keep_float is None else keep_float)
    precision = "int8" if quantize else "fp32"
    limit = TOLERANCE[precision] if tolerance is None else tolerance
    if not 0 <= limit <= 1:
        raise ValueError(f"tolerance is a share of spans, 0 to 1, not {limit}")
    if check_notes < 1:
        raise ValueError("check_notes must be at least 1")
    require({"onnx": "onnx", "onnxruntime": "onnx"}, "clinicalner export --to onnx")
    notes = gate_notes(check, check_notes)
    from clinicalner.predict.engine import TransformerTagger

    reference = TransformerTagger(src, device="cpu", precision="fp32", runtime="torch")
    with atomic_dir(out) as tmp:
        for item in src.iterdir():
            if item.is_file():
                shutil.copy2(item, tmp / item.name)
        float_nodes: list[str] = []
        if quantize:
            fp32 = export_onnx(reference.model, tmp / "model.fp32.onnx")
            float_nodes = quantize_onnx(fp32, tmp / ONNX_FILE, skip=kinds, per_channel=per_channel)
            fp32.unlink()
        else:
            export_onnx(reference.model, tmp / ONNX_FILE)
        exported = TransformerTagger(tmp, runtime="onnx")
        gate = check_export(reference, exported, notes, limit)
        meta: dict[str, Any] = {
            "format": "onnx",
            "opset": OPSET,
            "precision": precision,
            "per_channel": per_channel if quantize else None,
            "float_kinds": list(kinds) if quantize else None,
            "float_nodes": len(float_nodes) if quantize else None,
            "gate": gate.to_dict(),
            "versions": _versions(),
        }
        (tmp / ONNX_META).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return ExportSummary(
        out, precision, kinds if quantize else (), len(float_nodes), gate, time.perf_counter() - t0
    )


def _versions() -> dict[str, str]:
    import onnx
    import onnxruntime
    import torch

    return {"torch": torch.__version__, "onnx": onnx.__version__, "onnxruntime": onnxruntime.__version__}
