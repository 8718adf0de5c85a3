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
