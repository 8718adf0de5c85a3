"""Ensembles against the best single model, on SpaCCC dev.

Trains N clinicalner models that differ only in their seed (same defaults, same epochs; models
already in the output folder are reused), tags SpaCCC dev with each, and scores:
each member, span-level majority voting (exact and overlapping matches), union with overlap
resolution, and logit averaging (the members share a tokenizer).

Run: python benchmarks/bench_ensemble.py --epochs 1 --seeds 13 14 15 --output benchmarks/out/ensemble
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

CORPORA = Path(
    os.environ.get("CLINICALNER_CORPORA", Path(__file__).resolve().parents[2] / "shared" / "corpora")
)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--seeds", type=int, nargs="+", default=[13, 14, 15])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--output", type=Path, default=Path("benchmarks/out/ensemble"))
    args = parser.parse_args()

    import torch

    from clinicalner.encoders import resolve_encoder
    from clinicalner.evaluate import score
    from clinicalner.io import read_corpus
    from clinicalner.predict.engine import TransformerTagger
    from clinicalner.predict.ensemble import vote
    from clinicalner.predict.logit_ensemble import LogitEnsembleTagger
    from clinicalner.train.config import TrainConfig
    from clinicalner.train.loop import train_model

    torch.set_num_threads(args.threads)
    encoder = resolve_encoder("multilingual-e5-small")
    train = read_corpus(CORPORA / "spaccc-es" / "train").documents
    dev = read_corpus(CORPORA / "spaccc-es" / "dev").documents
    labels = sorted({s.label for d in train for s in d.spans})
    members = []
    for seed in args.seeds:
        out = args.output / f"seed{seed}"
        if not (out / "model.safetensors").is_file():
            cfg = TrainConfig(
                output=str(out), base_model=encoder, epochs=args.epochs, seed=seed, keep_best=False
            )
            train_model(cfg, train_docs=[train], dev_docs=[], progress=True)
        members.append(out)

    def f1s(pred: list[Any]) -> dict[str, float]:
        r = score(dev, pred, metrics=["strict", "relaxed"], labels=labels)
        return {"strict": round(r.metric("strict").f1, 4), "relaxed": round(r.metric("relaxed").f1, 4)}

    results: dict[str, Any] = {"date": time.strftime("%Y-%m-%d"), "epochs": args.epochs, "seeds": args.seeds}
    preds = []
    for seed, path in zip(args.seeds, members, strict=True):
        p = list(TransformerTagger(path).tag(dev))
        preds.append(p)
        results[f"seed {seed}"] = f1s(p)
    k = len(preds)
    results["majority exact"] = f1s(vote(preds, "majority", match="exact"))
    results["majority overlap"] = f1s(vote(preds, "majority", match="overlap"))
    results["union longest"] = f1s(vote(preds, "union", resolve="longest"))
    results["logit average"] = f1s(list(LogitEnsembleTagger(members).tag(dev)))
    best = max(results[f"seed {s}"]["strict"] for s in args.seeds)
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "results.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    print(
        f"\n| tagger (SpaCCC dev, {k} members, {args.epochs} epoch(s) each) | strict F1 | relaxed F1 | vs best single |"
    )
    print("|---|---|---|---|")
    for name, r in results.items():
        if isinstance(r, dict):
            print(f"| {name} | {r['strict']:.4f} | {r['relaxed']:.4f} | {100 * (r['strict'] - best):+.2f} |")


if __name__ == "__main__":
    main()
