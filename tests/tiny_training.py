"""What the training tests share: three marked-up notes, a tiny encoder, a fast config.

Kept in a plain module (not a conftest) so test files can import the constants by name.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from clinicalner.document import Document
from clinicalner.encoders.tiny import build_tiny_encoder
from clinicalner.sample_notes import load_examples, parse_marked
from clinicalner.train.config import TrainConfig

THREE = [
    parse_marked(
        "Paciente con [fiebre]{SYMPTOM} y [tos]{SYMPTOM}; se hizo una [radiografía]{PROCEDURE}.", "a", "es"
    ),
    parse_marked("The patient had [pneumonia]{DISEASE} and [chest pain]{SYMPTOM}.", "b", "en"),
    parse_marked("Patiënt met [diabetes]{DISEASE} kreeg een [operatie]{PROCEDURE}.", "c", "nl"),
]


def tiny_encoder(folder: Path, kind: str) -> Path:
    """A tiny random encoder whose tokenizer learnt the notes above and the built-in examples."""
    texts = [d.text for d in THREE + load_examples()]
    return build_tiny_encoder(folder / "enc", kind, vocab_from=texts, hidden=64)


def tiny_config(out: Path, encoder: Path, **kw: Any) -> TrainConfig:
    """A config that trains the tiny encoder in seconds (high learning rates, no dropout)."""
    base: dict[str, Any] = dict(
        output=str(out),
        base_model=str(encoder),
        epochs=3,
        batch_size=2,
        learning_rate=3e-3,
        head_learning_rate=1e-2,
        max_length=64,
        stride=48,
        freeze_embeddings=False,
        warmup=0.0,
        threads=1,
        dropout=0.0,
        # The tiny tests score the notes they train on, on purpose, and keep every note for
        # training (tests/train/test_selection.py covers the validation split and patience).
        exclude_dev_overlap=False,
        validation=0.0,
        patience=0,
    )
    base.update(kw)
    return TrainConfig(**base)


class Crash(RuntimeError):
    """Raised from ``on_epoch`` to stand for a run killed between epochs."""


def crash_then_resume(
    config: Callable[[Path], TrainConfig], out: Path, docs: Sequence[Sequence[Document]]
) -> Any:
    """Train 3 epochs into ``out``, killed after epoch 2, then resumed; returns the resumed result.

    Asserts what a crash must leave behind (a checkpoint) and that the resumed history is whole.
    """
    import pytest

    from clinicalner.train.loop import checkpoint_dir, train_model

    def crash(epoch: int, metrics: dict) -> None:
        if epoch == 2:
            raise Crash

    with pytest.raises(Crash):
        train_model(config(out), train_docs=docs, progress=False, on_epoch=crash)
    assert checkpoint_dir(out).is_dir()
    resumed = train_model(config(out), train_docs=docs, progress=False, resume=True)
    assert [h["epoch"] for h in resumed.history] == [1, 2, 3]
    return resumed
