"""Train one joint English model on the training splits of the four M42 sets, for the leaderboard.

NCBI-disease, BC5CDR, BioRED and Chia are read through the benchmark's own recipes, so their
types are mapped to the M42 OMOP domains exactly as they are when scored. Each set annotates
only some domains (NCBI: condition; BC5CDR: condition, drug; ...), so every document is marked
with its set's domains (``annotated_labels``) and the loss of the other domains is masked on it:
a BC5CDR abstract does not teach the ``gene`` head that its genes are ``O``. Everything else is
the clinicalner defaults; the evaluation (validation) splits are never seen.

Run: python benchmarks/train_m42.py --epochs 3 --output benchmarks/out/m42/model
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

from hf_baseline import CORPORA, interrupted


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--output", type=Path, default=Path("benchmarks/out/m42/model"))
    args = parser.parse_args()

    import torch

    from clinicalner.benchmark.datasets import M42_DATASETS, load_recipe
    from clinicalner.encoders import resolve_encoder
    from clinicalner.train.config import TrainConfig
    from clinicalner.train.loop import train_model

    torch.set_num_threads(args.threads)
    corpora = []
    counts = {}
    for name in M42_DATASETS:
        dataset = load_recipe(name, CORPORA)
        docs = [dataclasses.replace(d, annotated_labels=frozenset(dataset.labels)) for d in dataset.train]
        corpora.append(docs)
        counts[name] = {"documents": len(docs), "spans": sum(len(d.spans) for d in docs)}
    labels = sorted({label for docs in corpora for d in docs for label in d.annotated_labels or ()})
    cfg = TrainConfig(
        output=str(args.output),
        base_model=resolve_encoder("multilingual-e5-small"),
        corpora=[f"{name} (train, M42 OMOP mapping)" for name in M42_DATASETS],
        labels=labels,
        epochs=args.epochs,
        seed=args.seed,
        keep_best=False,
        threads=args.threads,
    )
    t0 = time.perf_counter()
    result = train_model(cfg, train_docs=corpora, dev_docs=[], progress=True, resume=interrupted(args.output))
    summary = {
        "date": time.strftime("%Y-%m-%d"),
        "epochs": args.epochs,
        "labels": labels,
        "training_sets": counts,
        "seconds": round(time.perf_counter() - t0, 1),
        "train_tokens_per_second": round(result.train_tokens_per_second, 1),
    }
    (args.output.parent / "train_summary.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
