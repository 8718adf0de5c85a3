"""``clinicalner export``: the quantised path, what it refuses, and the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from clinicalner import api
from clinicalner.cli import app
from clinicalner.export.folder import export_model
from clinicalner.export.onnx_model import ONNX_FILE, ONNX_META
from tiny_trained import NOTES


def test_quantised_export_runs_and_keeps_the_blamed_kinds_in_float(tiny_model: Path, tmp_path: Path) -> None:
    import onnx

    out = tmp_path / "int8"
    summary = export_model(tiny_model, output=out, quantize=True, tolerance=1.0)
    assert summary.precision == "int8" and summary.float_kinds == ("ffn_out", "heads")
    meta = json.loads((out / ONNX_META).read_text(encoding="utf-8"))
    assert meta["precision"] == "int8" and meta["float_kinds"] == ["ffn_out", "heads"]
    graph = onnx.load(str(out / ONNX_FILE)).graph
    ops = {n.op_type for n in graph.node}
    assert "MatMulInteger" in ops or "DynamicQuantizeMatMul" in ops
    float_products = [n.name for n in graph.node if n.op_type == "MatMul" and "/output/dense/" in n.name]
    assert any("/attention/" not in n for n in float_products)  # the FFN outputs stay float
    assert not (out / "model.fp32.onnx").exists()
    docs = api.tag_documents(out, NOTES)
    assert len(docs) == len(NOTES)


def test_export_refuses_bad_requests(tiny_model: Path, exported: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="only onnx"):
        export_model(tiny_model, to="tflite", output=tmp_path / "x")
    with pytest.raises(FileNotFoundError, match="not a trained model folder"):
        export_model(tmp_path, output=tmp_path / "x")
    with pytest.raises(ValueError, match="already an export"):
        export_model(exported, output=tmp_path / "x")
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(FileExistsError, match="not an earlier export"):
        export_model(tiny_model, output=busy)
    assert (busy / "notes.txt").read_text(encoding="utf-8") == "keep me"
    with pytest.raises(ValueError, match="layer kind"):
        export_model(tiny_model, output=tmp_path / "x", quantize=True, keep_float=["mlp"])
    assert not (tmp_path / "x").exists()


def test_cli_export_and_predict_through_onnx(tiny_model: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "exported"
    result = runner.invoke(app, ["export", str(tiny_model), "--to", "onnx", "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert "exported fp32" in result.output and "gate:" in result.output
    notes = tmp_path / "notes"
    notes.mkdir()
    for d in NOTES[:3]:
        (notes / f"{d.id}.txt").write_text(d.text, encoding="utf-8")
    for runtime in ("onnx", "torch"):
        pred = tmp_path / f"pred-{runtime}.jsonl"
        result = runner.invoke(
            app, ["predict", str(out), str(notes), "-o", str(pred), "--runtime", runtime, "--no-progress"]
        )
        assert result.exit_code == 0, result.output
    from clinicalner.io import read_corpus

    got = {r: [(d.id, s.start, s.end, s.label) for d in read_corpus(tmp_path / f"pred-{r}.jsonl") for s in d.spans]
           for r in ("onnx", "torch")}  # fmt: skip
    assert got["onnx"] == got["torch"] and got["torch"]
    help_text = runner.invoke(app, ["export", "--help"], env={"COLUMNS": "80"}).output
    assert "--keep-float" in help_text and "--tolerance" in help_text
