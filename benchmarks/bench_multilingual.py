"""One joint model on SpaCCC (es, all three types) + MultiClinAI (en and es, one type per document).

The MultiClinAI documents annotate one type each, so the loss of the other two types is masked
on them (the joint-model feature); SpaCCC trains all three heads. Everything else is the
defaults, with the same epochs as the SpaCCC-only model of ``bench_engine.py``, which this
script scores beside it on every dev set (SpaCCC dev, MultiClinAI en dev, MultiClinAI es dev):
what adding the second corpus and the second language buys, and what the SpaCCC-only model
does zero-shot on English.

``--weights`` sets the per-epoch sampling weight of each MultiClinAI language (1.0: every
document every epoch; 0.5: a random half each epoch), to bound the CPU time.

Run:
  python benchmarks/bench_multilingual.py --epochs 10 --weights 0.2 \
      --baseline benchmarks/out/engine/clinicalner
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
from hf_baseline import CORPORA, finished, interrupted

from clinicalner.document import Document


def f1s(gold: list[Document], pred: list[Document], labels: list[str]) -> dict[str, Any]:
    """Strict and relaxed F1, per type and macro; unannotated types of a document are masked."""
    from clinicalner.evaluate import score

    r = score(gold, pred, metrics=["strict", "relaxed"], labels=labels, breakdowns=("label",))
    out: dict[str, Any] = {m: round(r.metric(m).f1, 4) for m in ("strict", "relaxed")}
    per = {lab: round(r.breakdown("label", lab, "strict").f1, 4) for lab in labels}
    out["strict_per_label"] = per
    out["strict_macro"] = round(float(np.mean(list(per.values()))), 4)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--weights", type=float, default=0.2, help="MultiClinAI sampling weight")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--baseline", type=Path, default=Path("benchmarks/out/engine/clinicalner"))
    parser.add_argument("--output", type=Path, default=Path("benchmarks/out/multilingual"))
    args = parser.parse_args()

    import torch

    from clinicalner.encoders import resolve_encoder
    from clinicalner.io import read_corpus
    from clinicalner.predict.engine import TransformerTagger
    from clinicalner.predict.stream import tag_distinct
    from clinicalner.train.config import TrainConfig
    from clinicalner.train.loop import train_model

    torch.set_num_threads(args.threads)
    en_es = CORPORA / "multiclinai-en-es"
    spaccc = read_corpus(CORPORA / "spaccc-es" / "train").documents
    mtrain = [read_corpus(en_es / lang / "train").documents for lang in ("en", "es")]
    devs = {
        "spaccc-es dev": read_corpus(CORPORA / "spaccc-es" / "dev").documents,
        "multiclinai en dev": read_corpus(en_es / "en" / "dev").documents,
        "multiclinai es dev": read_corpus(en_es / "es" / "dev").documents,
    }
    labels = sorted({s.label for d in spaccc for s in d.spans})
    model_dir = args.output / "model"
    seconds = None
    if not finished(model_dir):
        cfg = TrainConfig(
            output=str(model_dir),
            base_model=resolve_encoder("multilingual-e5-small"),
            epochs=args.epochs,
            seed=args.seed,
            keep_best=False,
            threads=args.threads,
            corpus_weights=[1.0, args.weights, args.weights],
            corpora=["spaccc-es/train", "multiclinai-en-es/en/train", "multiclinai-en-es/es/train"],
        )
        result = train_model(
            cfg, train_docs=[spaccc, *mtrain], dev_docs=[], progress=True, resume=interrupted(model_dir)
        )
        seconds = sum(h["seconds"] for h in result.history)
    systems = {"SpaCCC only": args.baseline, "SpaCCC + MultiClinAI en/es": model_dir}
    results: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d"),
        "epochs": args.epochs,
        "multiclinai_weight": args.weights,
        "train_seconds": seconds,
        "rows": {},
    }
    for name, path in systems.items():
        tagger = TransformerTagger(path)
        results["rows"][name] = {
            dev_name: f1s(docs, tag_distinct(tagger, docs)[0], labels) for dev_name, docs in devs.items()
        }
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "results.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    print("\n| model | " + " | ".join(f"{d} strict (macro)" for d in devs) + " |")
    print("|---|" + "---|" * len(devs))
    for name, row in results["rows"].items():
        cells = [f"{row[d]['strict']:.4f} ({row[d]['strict_macro']:.4f})" for d in devs]
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
