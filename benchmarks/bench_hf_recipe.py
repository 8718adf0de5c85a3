"""The competent Hugging Face recipe (``hf_recipe.py``) on the accuracy table's dev sets.

One ``AutoModelForTokenClassification`` per type (DISEASE, PROCEDURE, SYMPTOM) fine-tuned with
the ``Trainer`` from the same encoder as ours (multilingual-e5-small), on clinicalner's words
with first-subword labels and 256-subword windows, tagged with the ``token-classification``
pipeline (``first`` on our words, batched, same window). Selection on validation only: for each
type, the learning rate from ``--learning-rates`` (default 5e-5, 1e-4, 2e-4, 3e-4) and the epoch
with the best validation strict F1 of that type; the same epochs and seed as
``clinicalner train``'s defaults. Training documents overlapping a dev document are excluded and
the validation split is carved as ``clinicalner train`` does (``baseline_data.py``); with
``--like MODEL`` the split is exactly the one that model's run made.

Reported on SpaCCC dev, MultiClinAI es dev and en dev, with and without clinicalner's
post-processing, in ``bench_accuracy.py``'s row format (``accuracy.json``, ``accuracy.md``);
the validation scores of both are recorded too. With ``--ours MODEL`` the tagging speed of the
three pipelines and of our model is measured like for like on SpaCCC dev: same window (256),
batched (32 windows), in fp32 beside fp32 and bf16 beside bf16 (bf16 only where the CPU has it
natively), rounds taken in turn so a busy machine slows both alike.

Full run: 3 types x 4 learning rates = 12 fine-tunings of e5-small (figures below for 10 epochs;
scale them to ``TrainConfig().epochs``). With the
defaults the split is the one ``clinicalner train`` makes on these sets (770 training, 85
validation, 139 excluded: the same as our joint run's), and each type's model sees about 430
documents, 2,300 windows, 0.54 M subwords an epoch: 65 M training subwords in all. At the 463
subwords/s our own joint e5-small run trained at on 2 busy cores (a figure from a shared
machine), that is about 39 hours, about 3.3 hours per (type, learning rate); less on idle cores.
A finished (type, learning rate) is kept and skipped on a rerun, so the run can be spread over
several sittings or machines (``--learning-rates`` picks the ones to run):

    python benchmarks/bench_hf_recipe.py --like MODEL --ours MODEL --output benchmarks/out/hf-recipe

(``MODEL`` is our default model trained on the three training sets with the three dev sets as
``--dev``; without ``--like`` the split is rebuilt from ``--train``, default those three sets.)
Smoke run (10 documents per corpus, the fewest that give validation documents; about 10 CPU
minutes with e5-small, seconds with a tiny encoder folder as ``--encoder``):

    python benchmarks/bench_hf_recipe.py --limit 10 --epochs 1 --learning-rates 1e-4 3e-4 \\
        --bootstrap 0 --output /tmp/hf-smoke
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
from baseline_data import (
    LABELS,
    TRAIN_SETS,
    distinct,
    load_split,
    scores,
    spread,
    write_results,
)
from hf_recipe import BATCH, WINDOW, load_pipeline, postprocessed, tag, train_type

from clinicalner.document import Document

DEFAULT_RATES = [5e-5, 1e-4, 2e-4, 3e-4]


def select(
    encoder: str, train: list[Document], validation: list[Document], rates: list[float], args: Any, bf16: bool
) -> dict[str, dict[str, Any]]:
    """Per type: train at every learning rate, keep the best on validation (ties: the smaller rate)."""
    chosen: dict[str, dict[str, Any]] = {}
    for label in LABELS:
        runs = {}
        for lr in rates:
            out = args.output / "models" / label / f"lr-{lr:g}"
            print(f"{label}, learning rate {lr:g}", flush=True)
            runs[lr] = train_type(
                encoder, train, validation, label, lr, args.epochs, args.seed, out, bf16, args.threads
            )
        best = max(rates, key=lambda r: (runs[r]["validation_strict_f1"], -r))
        chosen[label] = {
            "learning_rate": best,
            "path": str(args.output / "models" / label / f"lr-{best:g}"),
            "validation_strict_f1": {f"{r:g}": runs[r]["validation_strict_f1"] for r in rates},
            "best_epoch": runs[best]["best_epoch"],
            "runs": runs,
        }
        # Only the chosen model's weights are kept (each is ~470 MB); the others' summaries stay.
        for lr in rates:
            if lr != best:
                folder = args.output / "models" / label / f"lr-{lr:g}"
                for f in folder.iterdir():
                    if f.name != "summary.json":
                        shutil.rmtree(f) if f.is_dir() else f.unlink()
    from clinicalner.atomic import atomic_write

    with atomic_write(args.output / "models" / "chosen.json") as f:
        f.write(json.dumps({k: c["path"] for k, c in chosen.items()}, indent=2))
    return chosen


def chosen_pipelines(folder: Path) -> dict[str, Any]:
    """The per-type pipelines a finished run chose (``models/chosen.json`` under its output)."""
    paths = json.loads((folder / "models" / "chosen.json").read_text(encoding="utf-8"))
    return {label: load_pipeline(path) for label, path in paths.items()}


def subwords(tokenizer: Any, docs: list[Document]) -> int:
    backend = tokenizer.backend_tokenizer
    return sum(len(e.ids) for e in backend.encode_batch([d.text for d in docs], add_special_tokens=False))


def speed(pipes: dict[str, Any], ours: Path, docs: list[Document], repeats: int) -> dict[str, Any]:
    """Subwords per second of the three pipelines and of our tagger, at each precision both can run."""
    from clinicalner.model.precision import native_bf16
    from clinicalner.predict.engine import TransformerTagger

    precisions = ["fp32", "bf16"] if native_bf16("cpu") else ["fp32"]
    tokenizer = next(iter(pipes.values())).tokenizer
    n = subwords(tokenizer, docs)
    out: dict[str, Any] = {"documents": len(docs), "subwords": n, "window": WINDOW, "batch_windows": BATCH}
    for p in precisions:
        tagger = TransformerTagger(
            ours, device="cpu", precision=p, batch_tokens=BATCH * WINDOW, max_length=WINDOW
        )
        systems = {
            "HF recipe (3 per-type pipelines)": lambda p=p: tag(pipes, docs, p),
            "clinicalner": lambda tagger=tagger: list(tagger.tag(docs)),
        }
        times: dict[str, list[float]] = {k: [] for k in systems}
        for _ in range(repeats):
            for name, run in systems.items():
                t0 = time.perf_counter()
                run()
                times[name].append(time.perf_counter() - t0)
        out[p] = {
            name: {
                "seconds": round(float(np.median(t)), 2),
                "subwords_per_second": round(n / float(np.median(t)), 1),
            }
            for name, t in times.items()
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--train", type=Path, nargs="+", default=TRAIN_SETS, help="Training corpora.")
    parser.add_argument("--like", type=Path, help="Use the training/validation split this model's run made.")
    parser.add_argument("--encoder", default="multilingual-e5-small", help="Base encoder (name or folder).")
    parser.add_argument("--learning-rates", type=float, nargs="+", default=DEFAULT_RATES)
    parser.add_argument(
        "--epochs", type=int, default=None, help="Default: clinicalner train's (TrainConfig().epochs)."
    )
    parser.add_argument("--seed", type=int, default=None, help="Default: clinicalner train's (13).")
    parser.add_argument("--limit", type=int, default=0, help="First N documents per corpus (smoke runs).")
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--ours", type=Path, help="Our model, to time beside the pipelines.")
    parser.add_argument("--repeats", type=int, default=3, help="Timed tagging rounds per system.")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default).")
    parser.add_argument("--output", type=Path, default=Path("benchmarks/out/hf-recipe"))
    args = parser.parse_args()

    import torch

    from clinicalner.encoders import resolve_encoder
    from clinicalner.io import write_corpus
    from clinicalner.model.precision import resolve_precision
    from clinicalner.train.config import TrainConfig

    if args.threads:
        torch.set_num_threads(args.threads)
    defaults = TrainConfig()
    args.epochs = args.epochs or defaults.epochs
    args.seed = defaults.seed if args.seed is None else args.seed
    precision = resolve_precision("auto" if defaults.mixed_precision else "fp32", "cpu")
    encoder = resolve_encoder(args.encoder)
    dev, data = load_split(args)
    chosen = select(encoder, data.train, data.validation, args.learning_rates, args, precision == "bf16")
    pipes = {label: load_pipeline(c["path"]) for label, c in chosen.items()}

    val_tagged = spread(data.validation, tag(pipes, distinct(data.validation), precision))
    val = {
        "raw": scores(data.validation, val_tagged)["strict_macro"],
        "postprocessed": scores(data.validation, postprocessed(val_tagged))["strict_macro"],
    }
    choice = {
        "learning_rate": {k: c["learning_rate"] for k, c in chosen.items()},
        "best_epoch": {k: c["best_epoch"] for k, c in chosen.items()},
        "validation_strict_f1_by_rate": {k: c["validation_strict_f1"] for k, c in chosen.items()},
        "validation_strict_macro": val,
        "postprocess_preferred_on_validation": val["postprocessed"] >= val["raw"],
    }
    raw_name = f"HF recipe (per-type {Path(args.encoder).name})"
    post_name = f"{raw_name} + clinicalner post-processing"
    results: dict[str, dict[str, Any]] = {
        raw_name: {"validation_documents": len(data.validation), "choice": choice, "dev": {}},
        post_name: {"validation_documents": len(data.validation), "choice": choice, "dev": {}},
    }
    for name, gold in dev.items():
        t0 = time.perf_counter()
        pred = spread(gold, tag(pipes, distinct(gold), precision))
        seconds = round(time.perf_counter() - t0, 1)
        results[raw_name]["dev"][name] = {
            **scores(gold, pred, bootstrap=args.bootstrap),
            "tag_seconds": seconds,
        }
        results[post_name]["dev"][name] = scores(gold, postprocessed(pred), bootstrap=args.bootstrap)
        print(
            name,
            results[raw_name]["dev"][name]["strict_macro"],
            results[post_name]["dev"][name]["strict_macro"],
        )
        # The raw predictions, one document per text, for `clinicalner evaluate` and the leaderboard.
        write_corpus(distinct(pred), args.output / "predictions" / f"{name.replace(' ', '_')}.tsv", "tsv")
    extra: dict[str, Any] = {
        "encoder": args.encoder,
        "epochs": args.epochs,
        "seed": args.seed,
        "learning_rates": args.learning_rates,
        "precision": precision,
        "limit": args.limit,
        "split": {
            "like": str(args.like) if args.like else None,
            "train": len(data.train),
            "validation": len(data.validation),
            "excluded_dev_overlap": data.excluded,
        },
        "runs": {k: c["runs"] for k, c in chosen.items()},
    }
    if args.ours:
        extra["speed"] = speed(pipes, args.ours, distinct(dev["SpaCCC dev"]), args.repeats)
    print(write_results(args.output, results, extra))
    if "speed" in extra:
        print(extra["speed"])


if __name__ == "__main__":
    main()
