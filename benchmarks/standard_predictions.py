"""Write the standard recipe's predictions on SpaCCC dev, for the leaderboard.

Loads the model that ``bench_engine.py`` trained with the Hugging Face Trainer and tags with the
``token-classification`` pipeline (``aggregation_strategy="simple"``, stride 32), as there.

Run: python benchmarks/standard_predictions.py [--model benchmarks/out/engine/standard-model]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from hf_baseline import CORPORA, hf_pipeline, pipeline_predict

from clinicalner.io import read_corpus, write_corpus


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", type=Path, default=Path("benchmarks/out/engine/standard-model"))
    parser.add_argument("--output", type=Path, default=Path("benchmarks/out/engine/standard-spaccc-dev.tsv"))
    args = parser.parse_args()
    dev = read_corpus(CORPORA / "spaccc-es" / "dev").documents
    out = pipeline_predict(hf_pipeline(args.model), dev)
    print(write_corpus(out, args.output, "tsv"))


if __name__ == "__main__":
    main()
