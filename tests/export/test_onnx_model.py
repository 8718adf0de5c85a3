"""The exported graph tags like torch, and its weight products are found by layer kind."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from clinicalner.export.onnx_model import ONNX_FILE, ONNX_META, node_kind, weight_matmuls
from clinicalner.predict.engine import TransformerTagger
from tiny_trained import NOTES


def spans(tagger: TransformerTagger) -> list[list[tuple[int, int, str, str]]]:
    return [[(s.start, s.end, s.label, s.text) for s in d.spans] for d in tagger.tag(NOTES)]


def test_round_trip_gives_the_spans_of_torch(tiny_model: Path, exported: Path) -> None:
    torch_tagger = TransformerTagger(tiny_model, device="cpu", precision="fp32", runtime="torch")
    onnx_tagger = TransformerTagger(exported, runtime="onnx")
    assert onnx_tagger.runtime == "onnx" and torch_tagger.runtime == "torch"
    expected = spans(torch_tagger)
    assert sum(map(len, expected)) > 0
    assert spans(onnx_tagger) == expected
    meta = json.loads((exported / ONNX_META).read_text(encoding="utf-8"))
    assert meta["precision"] == "fp32" and meta["gate"]["passed"]


def test_auto_runtime_follows_the_folder(tiny_model: Path, exported: Path) -> None:
    assert TransformerTagger(exported).runtime == "onnx"
    assert TransformerTagger(tiny_model).runtime == "torch"
    assert TransformerTagger(exported, runtime="torch").runtime == "torch"


def test_onnx_runtime_refuses_what_it_cannot_do(tiny_model: Path, exported: Path) -> None:
    with pytest.raises(FileNotFoundError, match="clinicalner export"):
        TransformerTagger(tiny_model, runtime="onnx")
    with pytest.raises(ValueError, match="quantised when it is exported"):
        TransformerTagger(exported, runtime="onnx", quantize=True)
    with pytest.raises(ValueError, match="tags on the CPU"):
        TransformerTagger(exported, runtime="onnx", device="cuda")
    with pytest.raises(ValueError, match="runtime must be"):
        TransformerTagger(exported, runtime="tensorrt")


def test_every_weight_product_has_its_layer_kind(exported: Path) -> None:
    kinds = Counter(weight_matmuls(exported / ONNX_FILE).values())
    layers = kinds["ffn_in"]
    assert layers >= 1
    assert kinds == {"qkv": 3 * layers, "attn_out": layers, "ffn_in": layers, "ffn_out": layers, "heads": 3}


def test_node_kind_reads_module_scopes() -> None:
    assert node_kind("/encoder/encoder/layer.3/output/dense/MatMul") == "ffn_out"
    assert node_kind("/encoder/encoder/layer.3/attention/output/dense/MatMul") == "attn_out"
    assert node_kind("/heads.2/heads.2.1/MatMul") == "heads"
    assert node_kind("/encoder/pooler/dense/MatMul") is None
    assert node_kind("MatMul") is None
