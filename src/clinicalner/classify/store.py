"""Saved classifiers: the span model store's folder layout, with ``task = "classify"``.

An encoder classifier folder is written by :func:`clinicalner.model.store.save_model` (safetensors,
``config.json``, tokenizer, ``clinicalner.json``) and read back with the same helpers the
span tagger uses. A TF-IDF classifier folder holds ``clinicalner.json`` and ``tfidf.json``
(vocabulary, idf, coefficients: plain numbers, never a pickle).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from clinicalner.atomic import atomic_write
from clinicalner.classify.config import ClassifierConfig, is_classifier_folder
from clinicalner.model.store import MODEL_CONFIG


def load_classifier_config(path: str | Path) -> ClassifierConfig:
    path = Path(path)
    if not is_classifier_folder(path):
        raise FileNotFoundError(
            f'{path}: not a clinicalner classifier folder ({MODEL_CONFIG} with task = "classify")'
        )
    return ClassifierConfig.load(path / MODEL_CONFIG)


def update_classifier_config(path: str | Path, config: ClassifierConfig) -> None:
    """Rewrite ``clinicalner.json`` (the threshold chosen after training) atomically."""
    with atomic_write(Path(path) / MODEL_CONFIG) as f:
        f.write(config.to_json())


def load_encoder_classifier(path: str | Path, device: Any = "cpu") -> tuple[Any, Any]:
    """(model, tokenizer) of an encoder classifier folder, in eval mode on ``device``."""
    from clinicalner.classify.network import TextClassifier
    from clinicalner.model.store import load_saved_tokenizer, load_weights, saved_encoder_skeleton

    path = Path(path)
    config = load_classifier_config(path)
    if config.kind != "encoder":
        raise ValueError(f"{path}: a {config.kind} classifier, not an encoder")
    model = TextClassifier(saved_encoder_skeleton(path), config)
    load_weights(model, path)
    tokenizer = load_saved_tokenizer(path)
    model.to(device)
    model.eval()
    return model, tokenizer
