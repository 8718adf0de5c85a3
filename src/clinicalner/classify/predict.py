"""Predicting with any saved classifier: preprocess, forward, postprocess, each its own step.

:func:`load_classifier` picks the loader from the folder's ``kind`` (a registry, as
:mod:`clinicalner.predict.loading` does for taggers). Every classifier answers
``probabilities(texts) -> (N, C)``; :func:`to_predictions` turns probabilities into labels,
applying the positive class's threshold that training chose on validation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from clinicalner.classify.config import ClassifierConfig
from clinicalner.classify.data import LabelledText, TextPrediction
from clinicalner.classify.metrics import threshold_labels


class Classifier(Protocol):
    config: ClassifierConfig

    def probabilities(self, texts: Sequence[str]) -> np.ndarray: ...


def encode_texts(tokenizer: Any, texts: Sequence[str], max_length: int) -> list[list[int]]:
    """Subword ids of each text, cut at ``max_length`` (special tokens included)."""
    if not texts:
        return []
    return list(tokenizer(list(texts), truncation=True, max_length=max_length)["input_ids"])


def pad_batch(ids: Sequence[Sequence[int]], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    width = max(len(x) for x in ids)
    input_ids = np.full((len(ids), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(ids), width), dtype=np.int64)
    for i, x in enumerate(ids):
        input_ids[i, : len(x)] = x
        mask[i, : len(x)] = 1
    return input_ids, mask


class EncoderClassifier:
    """A loaded encoder classifier; batches texts of similar length for the forward pass."""

    def __init__(self, model: Any, tokenizer: Any, device: Any = "cpu", batch_size: int = 64) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.device = device
        self.batch_size = batch_size
        self.config: ClassifierConfig = model.config
        pad = tokenizer.pad_token_id
        self.pad_id = int(pad) if pad is not None else 0

    def probabilities_of_ids(self, ids: Sequence[Sequence[int]]) -> np.ndarray:
        import torch

        out = np.zeros((len(ids), len(self.config.labels)), dtype=np.float64)
        order = np.argsort([len(x) for x in ids], kind="stable")
        was_training = self.model.training
        self.model.eval()
        with torch.inference_mode():
            for a in range(0, len(order), self.batch_size):
                idx = order[a : a + self.batch_size]
                input_ids, mask = pad_batch([ids[i] for i in idx], self.pad_id)
                logits = self.model(
                    torch.from_numpy(input_ids).to(self.device), torch.from_numpy(mask).to(self.device)
                )
                out[idx] = torch.softmax(logits.float(), dim=-1).cpu().numpy()
        if was_training:
            self.model.train()
        return out

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        return self.probabilities_of_ids(encode_texts(self.tokenizer, texts, self.config.max_length))


def _load_encoder(path: Path, device: str, batch_size: int) -> Classifier:
    from clinicalner.classify.store import load_encoder_classifier
    from clinicalner.predict.engine import pick_device

    dev = pick_device(device)
    model, tokenizer = load_encoder_classifier(path, dev)
    return EncoderClassifier(model, tokenizer, dev, batch_size)


def _load_tfidf(path: Path, device: str, batch_size: int) -> Classifier:
    from clinicalner.classify.tfidf import TfidfClassifier

    return TfidfClassifier.load(path)


#: Loaders by the ``kind`` saved in a classifier's ``clinicalner.json``.
LOADERS: dict[str, Callable[[Path, str, int], Classifier]] = {"encoder": _load_encoder, "tfidf": _load_tfidf}


def load_classifier(path: str | Path, device: str = "auto", batch_size: int = 64) -> Classifier:
    from clinicalner.classify.store import load_classifier_config

    config = load_classifier_config(path)
    return LOADERS[config.kind](Path(path), device, batch_size)


def to_predictions(
    texts: Sequence[LabelledText],
    probs: np.ndarray,
    config: ClassifierConfig,
    threshold: float | None = None,
    flags: Sequence[str] | None = None,
) -> list[TextPrediction]:
    """Labels from probabilities (``threshold`` overrides the saved one), languages marked seen or unseen."""
    t = config.threshold if threshold is None else threshold
    labels = threshold_labels(probs, config.labels, config.positive, t)
    seen = set(config.train_languages)
    return [
        TextPrediction(
            id=x.id,
            label=label,
            probabilities={c: float(p) for c, p in zip(config.labels, row, strict=True)},
            language=x.language,
            seen_language=(x.language in seen) if (x.language and seen) else None,
            flag=flags[i] if flags else "",
        )
        for i, (x, label, row) in enumerate(zip(texts, labels, probs, strict=True))
    ]
