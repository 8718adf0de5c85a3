"""The accuracy gate: span comparison, and a refused export of a tampered graph."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from clinicalner.document import Document, Span
from clinicalner.export.gate import GateError, check_export, compare_spans
from clinicalner.export.onnx_model import ONNX_FILE
from clinicalner.predict.engine import TransformerTagger
from tiny_trained import NOTES


def doc(*spans: tuple[int, int, str]) -> Document:
    text = "fiebre y tos seca desde ayer por la noche"
    return Document("d", text, spans=[Span(s, e, label, text[s:e]) for s, e, label in spans])


def test_compare_spans_counts_the_symmetric_difference() -> None:
    ref = [doc((0, 6, "SYMPTOM"), (9, 17, "SYMPTOM"))]
    cand = [doc((0, 6, "SYMPTOM"), (9, 12, "SYMPTOM"))]
    result = compare_spans(ref, cand, tolerance=0.5)
    assert (result.same, result.torch_spans, result.exported_spans) == (1, 2, 2)
    assert result.differing_share == pytest.approx(2 / 3, abs=1e-4)
    assert not result.passed
    assert result.examples[0].startswith("export only: note 0 SYMPTOM 9-12 'tos'")
    assert compare_spans(ref, ref, tolerance=0.0).passed


def tamper(folder: Path) -> None:
    """Flip the sign of the first head's weights inside the graph: a plausible, wrong model."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(folder / ONNX_FILE))
    inits = {i.name: i for i in model.graph.initializer}
    node = next(n for n in model.graph.node if n.name.startswith("/heads.0/") and n.op_type == "MatMul")
    weight = next(inits[i] for i in node.input if i in inits)
    weight.CopyFrom(numpy_helper.from_array(-numpy_helper.to_array(weight), weight.name))
    onnx.save(model, str(folder / ONNX_FILE))


def test_gate_fails_on_a_tampered_graph(tiny_model: Path, exported: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    shutil.copytree(exported, bad)
    tamper(bad)
    reference = TransformerTagger(tiny_model, device="cpu", precision="fp32", runtime="torch")
    with pytest.raises(GateError, match="tags differently from the torch model"):
        check_export(reference, TransformerTagger(bad, runtime="onnx"), NOTES, tolerance=0.05)
    # The untampered export passes with no tolerance at all.
    assert check_export(reference, TransformerTagger(exported), NOTES, 0.0).differing_share == 0.0


def test_export_is_refused_and_nothing_written(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import clinicalner.export.folder as folder

    real = folder.export_onnx

    def tampered_export(model: object, path: Path) -> Path:
        real(model, path)
        tamper(path.parent)
        return path

    monkeypatch.setattr(folder, "export_onnx", tampered_export)
    out = tmp_path / "out"
    with pytest.raises(GateError, match="Nothing was written"):
        folder.export_model(tiny_model, output=out, tolerance=0.05)
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == []


def test_gate_needs_spans_to_compare(tiny_model: Path, exported: Path) -> None:
    reference = TransformerTagger(tiny_model, device="cpu", precision="fp32", runtime="torch")
    blank = [Document("x", "...", spans=[])]
    with pytest.raises(GateError, match="no span"):
        check_export(reference, TransformerTagger(exported), blank, 0.0)
