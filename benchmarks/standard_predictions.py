"""Write the standard recipe's predictions on SpaCCC dev, for the leaderboard.

Loads the model that ``bench_engine.py`` trained with the Hugging Face Trainer and tags with the
``token-classification`` pipeline (``aggregation_strategy="simple"``, stride 32), as there.

Run: python benchmarks/standard_predictions.py [--model benchmarks/out/engine/standard-model]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from clinicalner.document import Span
from clinicalner.io import read_corpus, write_corpus

CORPORA = Path(
    os.environ.get("CLINICALNER_CORPORA", Path(__file__).resolve().parents[2] / "shared" / "corpora")
)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", type=Path, default=Path("benchmarks/out/engine/standard-model"))
    parser.add_argument("--output", type=Path, default=Path("benchmarks/out/engine/standard-spaccc-dev.tsv"))
    args = parser.parse_args()
    from transformers import pipeline

    tagger = pipeline(
        "token-classification", model=str(args.model), aggregation_strategy="simple", stride=32, device=-1
    )
    dev = read_corpus(CORPORA / "spaccc-es" / "dev").documents
    out = []
    for doc in dev:
        spans = [
            Span(int(e["start"]), int(e["end"]), e["entity_group"], doc.text[int(e["start"]) : int(e["end"])])
            for e in tagger(doc.text)
        ]
        out.append(doc.with_spans(spans))
    print(write_corpus(out, args.output, "tsv"))


if __name__ == "__main__":
    main()
