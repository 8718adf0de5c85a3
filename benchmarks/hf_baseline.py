"""What the benchmark scripts share: where the corpora are, and the standard recipe's tagger.

The standard recipe tags with the Hugging Face ``token-classification`` pipeline as its
documentation shows it: ``aggregation_strategy="simple"`` with ``stride`` (overlapping windows,
one document at a time). Kept in one place so every script measures the same baseline.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from clinicalner.document import Document, Span

CORPORA = Path(
    os.environ.get("CLINICALNER_CORPORA", Path(__file__).resolve().parents[2] / "shared" / "corpora")
)


def finished(model_dir: Path) -> bool:
    """A model folder from a run that ended: weights saved and no checkpoint of an interrupted run.

    The training loop saves weights after every epoch, so weights alone do not mean the run
    finished; a killed benchmark must resume, not reuse a one-epoch model as if it were done.
    """
    from clinicalner.train.loop import checkpoint_dir

    return (model_dir / "model.safetensors").is_file() and not checkpoint_dir(model_dir).is_dir()


def interrupted(model_dir: Path) -> bool:
    """Whether ``model_dir`` has a checkpoint to resume (pass it as ``train_model(resume=...)``)."""
    from clinicalner.train.loop import checkpoint_dir

    return (checkpoint_dir(model_dir) / "state.json").is_file()


def hf_pipeline(model: Any, tokenizer: Any = None, aggregation: str = "simple", stride: int = 32) -> Any:
    """The ``token-classification`` pipeline on CPU; ``model`` is a folder or a loaded model."""
    from transformers import pipeline

    return pipeline(
        "token-classification",
        model=model if tokenizer is not None else str(model),
        tokenizer=tokenizer,
        aggregation_strategy=aggregation,
        stride=stride,
        device=-1,
    )


def pipeline_predict(tagger: Any, docs: Sequence[Document]) -> list[Document]:
    """Tag each document with the pipeline; its character offsets become spans with scores."""
    out = []
    for doc in docs:
        spans = [
            Span(
                int(e["start"]),
                int(e["end"]),
                e["entity_group"],
                doc.text[int(e["start"]) : int(e["end"])],
                float(e["score"]),
            )
            for e in tagger(doc.text)
        ]
        out.append(doc.with_spans(spans))
    return out
