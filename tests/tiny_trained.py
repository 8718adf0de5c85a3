"""A tiny model trained in seconds on the built-in examples, for the service and OMOP tests.

Trained (not random) so that it predicts real-looking spans with confidences, which is what
"the same spans as predict" has to hold for.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from clinicalner.document import Document
from clinicalner.sample_notes import load_examples
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


def shared_tiny_model(tmp_path_factory: Any) -> Path:
    """The tiny model, trained once per test session even across xdist workers.

    Workers share the parent of their base temp folder; the first to take the lock trains,
    the others wait and reuse the folder (the xdist recipe for session-wide fixtures).
    """
    import fcntl
    import os

    base = Path(tmp_path_factory.getbasetemp())
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # the session's folder, above the workers' own
    root = base / "clinicalner-tiny-trained"
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = root / "model" / "clinicalner.json"
        if not done.is_file():
            train_tiny_model(root)
        return root / "model"
