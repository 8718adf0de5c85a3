"""Tagging settings side by side: window cutting, size, overlap and int8, against the HF pipeline.

Uses the two models ``bench_engine.py`` trained on SpaCCC train (same encoder, same epochs):
ours in ``out/engine/clinicalner`` and the standard recipe in ``out/engine/standard-model``.
Every setting tags the whole SpaCCC dev set; settings take turns for ``--repeats`` rounds
(so a busy machine slows them alike) and the median time is kept. Each row also gives
strict and relaxed F1 so a faster setting that costs accuracy shows it.

The pipeline is timed as the issue states it (``aggregation_strategy="simple"``, stride 32);
its ``"first"`` aggregation (word label from the first subword, the way it was trained) is
scored too, as the fairer baseline for quality.

Run: python benchmarks/bench_tagging.py [--repeats 3]
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
from hf_baseline import CORPORA, hf_pipeline, pipeline_predict

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


def pipeline_tagger(model_dir: Path, aggregation: str) -> Any:
    tagger = hf_pipeline(model_dir, aggregation=aggregation)
    return lambda docs: pipeline_predict(tagger, docs)


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
    parser.add_argument("--standard", type=Path, default=Path("benchmarks/out/engine/standard-model"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--output", type=Path, default=Path("benchmarks/out/tagging.json"))
    args = parser.parse_args()

    import torch
    from transformers import AutoTokenizer

    torch.set_num_threads(args.threads)
    dev = read_corpus(CORPORA / "spaccc-es" / "dev").documents
    tok = AutoTokenizer.from_pretrained(str(args.standard))
    subwords = sum(len(tok(d.text, add_special_tokens=False)["input_ids"]) for d in dev)

    systems: dict[str, Any] = {"HF pipeline (simple, stride 32)": pipeline_tagger(args.standard, "simple")}
    from clinicalner.model.precision import resolve_precision

    for name, windows, length, stride, quant, precision in SETTINGS:
        systems[f"clinicalner {name}"] = ours_tagger(args.ours, windows, length, stride, quant, precision)

    quality: dict[str, dict[str, float]] = {}
    times: dict[str, list[float]] = {name: [] for name in systems}
    for name, tag in systems.items():  # warm-up round, also gives the predictions
        quality[name] = f1s(dev, tag(dev))
    quality["HF pipeline (first, stride 32)"] = f1s(dev, pipeline_tagger(args.standard, "first")(dev))
    for r in range(args.repeats):
        for name, tag in systems.items():
            t0 = time.perf_counter()
            tag(dev)
            times[name].append(time.perf_counter() - t0)
        print(f"round {r + 1}/{args.repeats} done", flush=True)

    base = float(np.median(times["HF pipeline (simple, stride 32)"]))
    rows = []
    for name in quality:
        t = float(np.median(times[name])) if times.get(name) else None
        rows.append(
            {
                "system": name,
                **quality[name],
                "median_seconds": round(t, 2) if t else None,
                "subwords_per_second": round(subwords / t) if t else None,
                "speed_vs_pipeline": round(base / t, 2) if t else None,
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
    print("| system | strict F1 | relaxed F1 | median s | subwords/s | speed vs pipeline |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        t = "" if r["median_seconds"] is None else f"{r['median_seconds']:.2f}"
        sp = "" if r["subwords_per_second"] is None else str(r["subwords_per_second"])
        ratio = "" if r["speed_vs_pipeline"] is None else f"{r['speed_vs_pipeline']:.2f}x"
        print(f"| {r['system']} | {r['strict']:.4f} | {r['relaxed']:.4f} | {t} | {sp} | {ratio} |")


if __name__ == "__main__":
    main()
