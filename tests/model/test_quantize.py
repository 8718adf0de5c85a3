"""Layer kinds by module name, and int8 applied to the chosen kinds only."""

from __future__ import annotations

import pytest

from clinicalner.model.quantize import LAYER_KINDS, check_kinds, layer_kind

torch = pytest.importorskip("torch")


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("encoder.encoder.layer.0.attention.self.query", "qkv"),
        ("encoder.encoder.layer.11.attention.self.value", "qkv"),
        ("encoder.encoder.layer.0.attention.output.dense", "attn_out"),
        ("encoder.encoder.layer.0.intermediate.dense", "ffn_in"),
        ("encoder.encoder.layer.0.output.dense", "ffn_out"),
        ("encoder.transformer.layer.1.attention.q_lin", "qkv"),
        ("encoder.transformer.layer.1.ffn.lin2", "ffn_out"),
        ("heads.2.1", "heads"),
        ("encoder.pooler.dense", None),
    ],
)
def test_layer_kind(name: str, kind: str | None) -> None:
    assert layer_kind(name) == kind


def test_check_kinds_names_the_unknown() -> None:
    assert check_kinds(["qkv"]) == ("qkv",)
    with pytest.raises(ValueError, match=r"unknown layer kind\(s\) mlp; known: qkv"):
        check_kinds(["qkv", "mlp"])


def test_quantize_layers_touches_only_the_kinds_asked(tmp_path) -> None:
    from clinicalner.encoders.tiny import build_tiny_encoder
    from clinicalner.model.config import ModelConfig
    from clinicalner.model.quantize import linear_layers, quantize_layers
    from clinicalner.model.store import build_model

    enc = build_tiny_encoder(tmp_path / "enc", "wordpiece")
    model, _ = build_model(ModelConfig(labels=["DISEASE", "SYMPTOM"]), str(enc))
    model.eval()
    ids = torch.randint(5, 50, (2, 9))
    mask = torch.ones_like(ids)
    with torch.inference_mode():
        before = model(ids, mask)
    quantize_layers(model, ["ffn_in", "heads"], per_channel=True)
    modules = dict(model.named_modules())
    quantized = {
        n for n, m in modules.items() if type(m).__name__ == "Linear" and "quantized" in type(m).__module__
    }
    assert quantized and {layer_kind(n) for n in quantized} == {"ffn_in", "heads"}
    assert linear_layers(model, ["ffn_in"]) == []  # no float Linear of that kind is left
    assert set(linear_layers(model, LAYER_KINDS)) == {
        n for n in modules if layer_kind(n) in ("qkv", "attn_out", "ffn_out")
    }
    with torch.inference_mode():
        after = model(ids, mask)
    assert after.shape == before.shape
    assert 0 < float((after - before).abs().max()) < 1.0
