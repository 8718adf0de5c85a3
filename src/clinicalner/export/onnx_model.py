"""A trained tagger's network as an ONNX graph, optionally int8, run by ONNX Runtime.

The whole forward pass (encoder and per-type heads: subword ids and mask in, emissions
(batch, subword, type, tag) out) is exported, with batch and sequence as dynamic axes, so
that the engine's windowing, batching and CRF decoding stay the same code for both runtimes:
:class:`OnnxNetwork` stands in for the torch module inside
:class:`~clinicalner.predict.engine.TransformerTagger`. The CRF transition scores are tiny and
stay with the torch model's saved weights.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from clinicalner.model.quantize import check_kinds, layer_kind

#: The file an exported folder holds the graph in (fp32 or int8, as ``onnx.json`` says).
ONNX_FILE = "model.onnx"
#: What ``clinicalner export`` did: precision, the kinds left in float, the gate's result.
ONNX_META = "onnx.json"
OPSET = 17


def export_onnx(model: Any, path: Path) -> Path:
    """Write ``model`` (a :class:`~clinicalner.model.network.MultiHeadTagger`, eval mode) to
    ``path`` as ONNX with dynamic batch and sequence axes; returns ``path``.

    The TorchScript exporter is used: it names each node after its module
    (``/encoder/encoder/layer.0/output/dense/MatMul``), which is how :func:`quantize_onnx`
    finds the layer kinds to leave in float.
    """
    import warnings

    import torch

    model.eval()
    ids = torch.full((2, 16), 5, dtype=torch.long)
    mask = torch.ones_like(ids)
    mask[1, 12:] = 0  # a padded row, so that the mask is traced as data, not as a constant
    dynamic = {n: {0: "batch", 1: "sequence"} for n in ("input_ids", "attention_mask", "emissions")}
    with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer warnings about Python control flow on shapes
        torch.onnx.export(
            model,
            (ids, mask),
            str(path),
            input_names=["input_ids", "attention_mask"],
            output_names=["emissions"],
            dynamic_axes=dynamic,
            opset_version=OPSET,
            dynamo=False,
        )
    return path


def node_kind(node_name: str) -> str | None:
    """The layer kind of an exported node, from the module scopes in its name.

    ``/encoder/encoder/layer.0/output/dense/MatMul`` is ``encoder.encoder.layer.0.output.dense``;
    a module inside a container is scoped by its full name (``/heads.0/heads.0.1/MatMul``), so
    the last scope alone is tried too.
    """
    parts = node_name.strip("/").split("/")[:-1]
    if not parts:
        return None
    return layer_kind(".".join(parts)) or layer_kind(parts[-1])


def weight_matmuls(onnx_path: Path) -> dict[str, str | None]:
    """Each MatMul/Gemm node of the graph that multiplies by a weight, mapped to its layer kind."""
    import onnx

    graph = onnx.load(str(onnx_path), load_external_data=False).graph
    weights = {i.name for i in graph.initializer}
    out: dict[str, str | None] = {}
    for node in graph.node:
        if node.op_type in ("MatMul", "Gemm") and any(i in weights for i in node.input):
            out[node.name] = node_kind(node.name)
    return out


def quantize_onnx(
    source: Path, target: Path, skip: Iterable[str] = (), per_channel: bool = True
) -> list[str]:
    """ONNX Runtime's dynamic int8 quantisation of ``source`` into ``target``, leaving the
    weight products of the ``skip`` kinds (and any of no known kind) in float32.

    Returns the names of the nodes left in float.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    skip = set(check_kinds(skip))
    kinds = weight_matmuls(source)
    excluded = [name for name, kind in kinds.items() if kind is None or kind in skip]
    logging.disable(logging.WARNING)  # its advice to pre-process, printed on the root logger
    try:
        quantize_dynamic(
            str(source),
            str(target),
            per_channel=per_channel,
            weight_type=QuantType.QInt8,
            nodes_to_exclude=excluded,
            op_types_to_quantize=["MatMul", "Gemm"],
        )
    finally:
        logging.disable(logging.NOTSET)
    return excluded


def session(path: Path, threads: int | None = None) -> Any:
    """An ONNX Runtime CPU session on ``path``; ``threads`` None follows torch's thread count."""
    import onnxruntime as ort
    import torch

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or torch.get_num_threads()
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


class OnnxNetwork:
    """The torch tagger's stand-in: ``network(ids, mask)`` runs the ONNX graph.

    It keeps what the engine reads from the torch model (``config``, the CRFs and their
    scores, the encoder's config for the position limit) and drops the torch encoder.
    """

    def __init__(self, model: Any, onnx_path: Path, threads: int | None = None) -> None:
        self.config = model.config
        self.crfs = model.crfs
        self.encoder = SimpleNamespace(config=model.encoder.config)
        self.path = Path(onnx_path)
        self.session = session(self.path, threads)

    def crf_scores(self) -> Any:
        if self.crfs is None:
            return None
        return [crf.scores() for crf in self.crfs]

    def __call__(self, input_ids: Any, attention_mask: Any) -> Any:
        import torch

        out = self.session.run(
            ["emissions"],
            {
                "input_ids": np.ascontiguousarray(input_ids.cpu().numpy(), dtype=np.int64),
                "attention_mask": np.ascontiguousarray(attention_mask.cpu().numpy(), dtype=np.int64),
            },
        )[0]
        return torch.from_numpy(out)
