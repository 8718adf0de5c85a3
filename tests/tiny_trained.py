"""A tiny model trained in seconds on the built-in examples, for the service and OMOP tests.

Trained (not random) so that it predicts real-looking spans with confidences, which is what
"the same spans as predict" has to hold for.
"""

from __future__ import annotations

from pathlib import Path

from clinicalner.document import Document
from clinicalner.examples import load_examples
from tiny_training import THREE, tiny_config, tiny_encoder

#: Notes the tests tag: the three marked-up notes and the built-in held-out examples.
NOTES: list[Document] = [d.with_spans([]) for d in THREE + load_examples("dev")]


def train_tiny_model(root: Path) -> Path:
    """Train the tiny encoder two epochs on the built-in training notes; returns the model folder."""
    from clinicalner.train.loop import train_model

    encoder = tiny_encoder(root, "unigram")
    config = tiny_config(root / "model", encoder, epochs=2)
    docs = THREE + load_examples("train")
    result = train_model(config, train_docs=[docs], dev_docs=load_examples("dev"), progress=False)
    return result.output
