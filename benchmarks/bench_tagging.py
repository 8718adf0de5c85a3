"""Tagging settings side by side: window cutting, size, overlap and int8, against the HF pipeline.

Uses ours in ``out/engine/clinicalner`` (``bench_engine.py``) and the competent Hugging Face
recipe of ``bench_hf_recipe.py`` (its three per-type models, ``--hf-recipe`` names that run's
output folder). Every setting tags the whole SpaCCC dev set; settings take turns for
``--repeats`` rounds (so a busy machine slows them alike) and the median time is kept. Each row
also gives strict and relaxed F1 so a faster setting that costs accuracy shows it.

Speed like for like: the pipeline is batched (32 windows a call), cuts 256-subword windows as
ours do, and runs in fp32 and, where the CPU has it natively, bf16 autocast as ours does; each of
our rows is compared with the pipeline at its own precision (int8 with fp32).

Run: python benchmarks/bench_tagging.py [--repeats 3] [--hf-recipe benchmarks/out/hf-recipe]
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
from clinicalner.io import read_corpus

# (name, windows, max_length, stride, quantize, precision). The model was trained on packed
# sentences of at most 256 subwords, so "sentence / 256" is the default cut; "auto" precision is
# bfloat16 on a CPU with AVX512-BF16 or AMX and float32 elsewhere, so both are measured.
SETTINGS = [
    ("sentence / 256, auto precision (default)", "sentence", 256, 192, False, "auto"),
    ("sentence / 256, fp32", "sentence", 256, 192, False, "fp32"),
    ("sentence / 512, fp32", "sentence", 512, 446, False, "fp32"),
    ("sliding 256 / overlap 62, fp32", "sliding", 256, 192, False, "fp32"),
    ("sliding 512 / overlap 64, fp32", "sliding", 512, 446, False, "fp32"),
    ("sliding 256 / overlap 62, bf16", "sliding", 256, 192, False, "bf16"),
    ("sentence / 256, int8", "sentence", 256, 192, True, "fp32"),
]


def pipeline_tagger(pipes: dict[str, Any], precision: str) -> Any:
    """The HF recipe's three per-type pipelines at ``precision`` (each text tagged once)."""
    from baseline_data import distinct, spread
    from hf_recipe import tag

    return lambda docs: spread(docs, tag(pipes, distinct(docs), precision))


def ours_tagger(
    model_dir: Path, windows: str, max_length: int, stride: int, quantize: bool, precision: str
) -> Any:
    from clinicalner.predict.engine import TransformerTagger
    from clinicalner.predict.stream import tag_distinct

    tagger = TransformerTagger(
        model_dir,
        windows=windows,
        max_length=max_length,
        stride=stride,
        quantize=quantize,
        precision=precision,
        device="cpu",
    )
    return lambda docs: tag_distinct(tagger, docs)[0]


def f1s(gold: list[Document], pred: list[Document]) -> dict[str, float]:
    from clinicalner.evaluate import score

    report = score(gold, pred, metrics=["strict", "relaxed"])
    return {m: round(report.metric(m).f1, 4) for m in ("strict", "relaxed")}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ours", type=Path, default=Path("benchmarks/out/engine/clinicalner"))
    parser.add_argument(
        "--hf-recipe",
        type=Path,
        default=Path("benchmarks/out/hf-recipe"),
        help="Output folder of bench_hf_recipe.py (its chosen per-type models).",
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--output", type=Path, default=Path("benchmarks/out/tagging.json"))
    args = parser.parse_args()

    import torch
    from bench_hf_recipe import chosen_pipelines

    from clinicalner.model.precision import native_bf16, resolve_precision

    torch.set_num_threads(args.threads)
    dev = read_corpus(CORPORA / "spaccc-es" / "dev").documents
    pipes = chosen_pipelines(args.hf_recipe)
    tok = next(iter(pipes.values())).tokenizer
    subwords = sum(len(tok(d.text, add_special_tokens=False)["input_ids"]) for d in dev)

    pipeline_rows = {p: f"HF recipe pipelines (first, batched, 256, {p})" for p in ("fp32", "bf16")}
    if not native_bf16("cpu"):
        del pipeline_rows["bf16"]
    systems: dict[str, Any] = {name: pipeline_tagger(pipes, p) for p, name in pipeline_rows.items()}
    against: dict[str, str] = {}  # our row -> the pipeline row at the same precision
    for name, windows, length, stride, quant, precision in SETTINGS:
        systems[f"clinicalner {name}"] = ours_tagger(args.ours, windows, length, stride, quant, precision)
        resolved = "fp32" if quant else resolve_precision(precision, "cpu")
        against[f"clinicalner {name}"] = pipeline_rows.get(resolved, pipeline_rows["fp32"])

    quality: dict[str, dict[str, float]] = {}
    times: dict[str, list[float]] = {name: [] for name in systems}
    for name, tag in systems.items():  # warm-up round, also gives the predictions
        quality[name] = f1s(dev, tag(dev))
    for r in range(args.repeats):
        for name, tag in systems.items():
            t0 = time.perf_counter()
            tag(dev)
            times[name].append(time.perf_counter() - t0)
        print(f"round {r + 1}/{args.repeats} done", flush=True)

    rows = []
    for name in quality:
        t = float(np.median(times[name])) if times.get(name) else None
        base = float(np.median(times[against.get(name, name)]))
        rows.append(
            {
                "system": name,
                **quality[name],
                "median_seconds": round(t, 2) if t else None,
                "subwords_per_second": round(subwords / t) if t else None,
                "speed_vs_pipeline": round(base / t, 2) if t else None,
                "pipeline_compared": against.get(name, name),
            }
        )
    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, threads {args.threads}",
        "date": time.strftime("%Y-%m-%d"),
        "dev_documents": len(dev),
        "dev_subwords": subwords,
        "repeats": args.repeats,
        "auto_precision_here": resolve_precision("auto", "cpu"),
        "rows": rows,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2))
    print("| system | strict F1 | relaxed F1 | median s | subwords/s | speed vs pipeline (same precision) |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        t = "" if r["median_seconds"] is None else f"{r['median_seconds']:.2f}"
        sp = "" if r["subwords_per_second"] is None else str(r["subwords_per_second"])
        ratio = "" if r["speed_vs_pipeline"] is None else f"{r['speed_vs_pipeline']:.2f}x"
        print(f"| {r['system']} | {r['strict']:.4f} | {r['relaxed']:.4f} | {t} | {sp} | {ratio} |")


if __name__ == "__main__":
    main()
