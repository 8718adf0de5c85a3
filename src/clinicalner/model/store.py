"""Saving and loading models: safetensors weights, JSON configs and the tokenizer. Never pickle.

A model folder holds ``clinicalner.json`` (how to tag), ``config.json`` (the encoder's
architecture), ``model.safetensors`` (encoder, heads and CRFs together) and the tokenizer
files, so it is self-contained: loading needs no network and no base model.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from clinicalner.atomic import atomic_dir
from clinicalner.model.config import ModelConfig
from clinicalner.model.network import MultiHeadTagger

MODEL_CONFIG = "clinicalner.json"
WEIGHTS = "model.safetensors"


def build_model(config: ModelConfig, base_model: str) -> tuple[MultiHeadTagger, Any]:
    """A fresh model from a pretrained encoder (hub id or local folder) and its fast tokenizer."""
    encoder, tokenizer = load_pretrained_encoder(base_model)
    return MultiHeadTagger(encoder, config), tokenizer


def load_pretrained_encoder(base_model: str) -> tuple[Any, Any]:
    """A pretrained encoder (no pooler) and its fast tokenizer: what every clinicalner network wraps."""
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # the unused pooler of a BERT checkpoint is expected, not news
    hf_logging.disable_progress_bar()
    tokenizer = AutoTokenizer.from_pretrained(base_model)
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError(f"{base_model}: a fast tokenizer (with offset mapping) is required")
    encoder = (
        AutoModel.from_pretrained(base_model, add_pooling_layer=False)
        if _is_bert(base_model)
        else (AutoModel.from_pretrained(base_model))
    )
    return encoder, tokenizer


def _is_bert(base_model: str) -> bool:
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(base_model).model_type in ("bert", "xlm-roberta", "roberta")
    except Exception:
        return False


def save_model(
    model: MultiHeadTagger, tokenizer: Any, output: str | Path, extra_files: dict[str, Any] | None = None
) -> Path:
    """Write the model folder atomically; ``extra_files`` are JSON documents saved beside it."""
    from safetensors.torch import save_file

    output = Path(output)
    with atomic_dir(output) as tmp:
        (tmp / MODEL_CONFIG).write_text(model.config.to_json(), encoding="utf-8")
        model.encoder.config.save_pretrained(tmp)
        state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
        save_file(state, str(tmp / WEIGHTS), metadata={"format": "pt", "producer": "clinicalner"})
        tokenizer.save_pretrained(tmp)
        for name, payload in (extra_files or {}).items():
            text = payload if isinstance(payload, str) else json.dumps(payload, indent=2, ensure_ascii=False)
            (tmp / name).write_text(text, encoding="utf-8")
    return output


def load_model(path: str | Path, device: str | torch.device = "cpu") -> tuple[MultiHeadTagger, Any]:
    """Rebuild the model from its folder: architecture from config.json, weights from safetensors."""
    path = Path(path)
    if not (path / MODEL_CONFIG).is_file():
        raise FileNotFoundError(f"{path}: not a clinicalner model folder (no {MODEL_CONFIG})")
    config = ModelConfig.load(path / MODEL_CONFIG)
    model = MultiHeadTagger(saved_encoder_skeleton(path), config)
    load_weights(model, path)
    tokenizer = load_saved_tokenizer(path)
    model.to(device)
    model.eval()
    return model, tokenizer


def saved_encoder_skeleton(path: Path) -> Any:
    """The encoder architecture of a model folder (``config.json``), with random weights to be loaded."""
    from transformers import AutoConfig, AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    enc_config = AutoConfig.from_pretrained(path)
    kwargs = (
        {"add_pooling_layer": False} if enc_config.model_type in ("bert", "xlm-roberta", "roberta") else {}
    )
    return AutoModel.from_config(enc_config, **kwargs)


def load_saved_tokenizer(path: Path) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(path)


def load_weights(model: torch.nn.Module, path: Path) -> None:
    """Load ``model.safetensors`` into ``model``; any missing or unexpected weight is an error."""
    from safetensors.torch import load_file

    state = load_file(str(path / WEIGHTS), device="cpu")
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [m for m in missing if not m.endswith("position_ids")]
    if missing or unexpected:
        raise ValueError(
            f"{path}: weights do not match the model (missing {missing[:5]}, unexpected {unexpected[:5]})"
        )
