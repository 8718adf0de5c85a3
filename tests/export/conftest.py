"""Fixtures for the export tests: the tiny trained model and its float32 ONNX export."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from tiny_trained import shared_tiny_model


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_tiny_model(tmp_path_factory)


@pytest.fixture(scope="module")
def exported(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from clinicalner.export.folder import export_model

    out = tmp_path_factory.mktemp("export") / "onnx"
    export_model(tiny_model, output=out)
    return out
