"""Adverse-drug-event detection on ADE-Corpus-V2: TF-IDF + LR, e5-small, upsampling, seed ensembles.

Every system is selected on one validation split of the training texts (10%, stratified by
label x language, seed 13: the same split for all, so ensemble weights are comparable) and
reported on dev, which nothing sees before the end:

1. TF-IDF (1-2 grams) + logistic regression: C from {1, 4, 16} and the ADE threshold on validation.
2. multilingual-e5-small with a mean-pooled head, no upsampling.
3. The same with the ADE class upsampled 3x (DNT's recipe).
4. ``--seeds`` seeds of the better of 2 and 3 (by validation macro F1), then hard, soft
   and weighted voting (weights = validation macro F1) over the seed members; the soft and
   weighted votes at DNT's 0.5 and at an ADE threshold chosen on validation.

Columns: macro F1 and ADE F1 on dev (at the threshold chosen on validation; voting rows at
0.5 or at a threshold chosen on validation), training texts/s (texts seen per second,
upsampled copies included) and prediction texts/s (dev, model loading excluded). Finished models in ``--output`` are reused; a killed
run resumes.

Full run (about 16.7k texts x 5 epochs x 4+ encoder models: hours on a CPU, minutes on a GPU):
  python benchmarks/bench_classify.py --epochs 5 --seeds 3 --output benchmarks/out/classify
Smoke run on a small subset (checks the whole path, figures meaningless):
  python benchmarks/bench_classify.py --limit 300 --dev-limit 200 --epochs 1 --seeds 2 \\
      --output benchmarks/out/classify-smoke
TF-IDF only (cheap, full corpus):
  python benchmarks/bench_classify.py --systems tfidf
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
from hf_baseline import CORPORA

SYSTEMS = ("tfidf", "e5", "e5-upsampled", "ensemble")


def subset(texts: list[Any], n: int, seed: int) -> list[Any]:
    """``n`` texts drawn with a seed, stratified by label (the class balance is kept)."""
    if not n or n >= len(texts):
        return texts
    from clinicalner.classify.split import stratified_split

    _, part = stratified_split(texts, n / len(texts), seed)
    return part


def finished(out: Path) -> bool:
    from clinicalner.train.checkpoint import checkpoint_dir

    return (
        (out / "clinicalner.json").is_file()
        and (out / "metrics.json").is_file()
        and not checkpoint_dir(out).is_dir()
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--systems", default=",".join(SYSTEMS), help=f"comma-separated, of {SYSTEMS}")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=3, help="ensemble members (seeds 13, 14, ...)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--learning-rate", type=float, default=5e-5)
    parser.add_argument("--upsample", default="ADE=3")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--limit", type=int, default=0, help="training texts (smoke; 0 = all)")
    parser.add_argument("--dev-limit", type=int, default=0, help="dev texts (smoke; 0 = all)")
    parser.add_argument("--encoder", default="multilingual-e5-small")
    parser.add_argument("--output", type=Path, default=Path("benchmarks/out/classify"))
    args = parser.parse_args()
    systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    unknown = sorted(set(systems) - set(SYSTEMS))
    if unknown:
        parser.error(f"unknown systems {unknown}")

    from clinicalner.classify import metrics as M
    from clinicalner.classify.config import ClassifyConfig
    from clinicalner.classify.data import read_texts
    from clinicalner.classify.ensemble import vote_texts
    from clinicalner.classify.predict import load_classifier, to_predictions
    from clinicalner.classify.split import stratified_split
    from clinicalner.classify.train import train_classifier

    corpus = CORPORA / "ade-corpus-v2"
    train_all = subset(read_texts(corpus / "train.jsonl", require_labels=True), args.limit, 1)
    dev = subset(read_texts(corpus / "dev.jsonl", require_labels=True), args.dev_limit, 2)
    train, valid = stratified_split(train_all, 0.1, seed=13)
    gold = [str(t.label) for t in dev]
    print(f"train {len(train)}, validation {len(valid)} (of train), dev {len(dev)}")
    args.output.mkdir(parents=True, exist_ok=True)

    rows: dict[str, dict[str, Any]] = {}
    dev_preds: dict[str, list[Any]] = {}
    valid_preds: dict[str, list[Any]] = {}

    def fit(name: str, cfg: ClassifyConfig) -> dict[str, Any]:
        out = args.output / name
        t0 = time.perf_counter()
        if not finished(out):
            from clinicalner.train.checkpoint import checkpoint_dir

            resume = (checkpoint_dir(out) / "state.json").is_file()
            train_classifier(
                cfg.replace(output=str(out)), train_texts=[train], dev_texts=valid, resume=resume
            )
        train_seconds = time.perf_counter() - t0
        history = json.loads((out / "metrics.json").read_text())
        best = next(h for h in history["history"] if h["epoch"] == history["best_epoch"])
        clf = load_classifier(out, device=args.device)
        t1 = time.perf_counter()
        probs = clf.probabilities([t.text for t in dev])
        predict_seconds = time.perf_counter() - t1
        preds = to_predictions(dev, probs, clf.config)
        dev_preds[name] = preds
        valid_preds[name] = to_predictions(valid, clf.probabilities([t.text for t in valid]), clf.config)
        tps = [h["train_texts_per_second"] for h in history["history"]]
        row = score([p.label for p in preds])
        row.update(
            {
                "valid_macro_f1": best["valid_macro_f1"],
                "best_epoch": history["best_epoch"],
                "threshold": clf.config.threshold,
                "train_texts_per_second": round(float(np.mean(tps)), 1),
                "predict_texts_per_second": round(len(dev) / max(predict_seconds, 1e-9), 1),
                "train_seconds_this_run": round(train_seconds, 1),
            }
        )
        rows[name] = row
        print(name, row, flush=True)
        return row

    def score(pred: list[str]) -> dict[str, Any]:
        m = M.confusion(gold, pred, ["ADE", "NO_ADE"])
        return {
            "macro_f1": round(float(M.macro_f1(m)), 4),
            "ade_f1": round(float(M.per_class(m)["f1"][0]), 4),
        }

    enc = dict(
        base_model=args.encoder,
        epochs=args.epochs,
        batch_size=args.batch_size,
        max_length=args.max_length,
        learning_rate=args.learning_rate,
        threads=args.threads,
        device=args.device,
    )
    if "tfidf" in systems:
        fit("tfidf", ClassifyConfig(base_model="tfidf"))
    if "e5" in systems or "ensemble" in systems:
        fit("e5", ClassifyConfig(**enc))
    if "e5-upsampled" in systems or "ensemble" in systems:
        fit("e5-upsampled", ClassifyConfig(**enc, upsample=[args.upsample]))
    if "ensemble" in systems and args.seeds >= 2:
        base_name = max(("e5", "e5-upsampled"), key=lambda n: rows[n]["valid_macro_f1"])
        extra = {"upsample": [args.upsample]} if base_name == "e5-upsampled" else {}
        names = [base_name]
        for k in range(1, args.seeds):
            name = f"{base_name}-seed{13 + k}"
            fit(name, ClassifyConfig(**enc, **extra, seed=13 + k))
            names.append(name)
        members = [dev_preds[n] for n in names]
        weights = [rows[n]["valid_macro_f1"] for n in names]
        best_member = max(rows[n]["macro_f1"] for n in names)
        seconds = sum(len(dev) / rows[n]["predict_texts_per_second"] for n in names)
        for method in ("hard", "soft", "weighted"):
            w = weights if method == "weighted" else None
            # DNT's rule (mean P >= 0.5), and the same vote with its ADE threshold chosen on
            # validation, as every single system's is.
            thresholds: list[tuple[str, float | None]] = [("0.5", None)]
            if method != "hard":
                valid_vote = vote_texts([valid_preds[n] for n in names], method, weights=w, names=names)
                y = np.asarray([t.label == "ADE" for t in valid])
                t, _ = M.best_threshold(y, np.asarray([p.probabilities["ADE"] for p in valid_vote]))
                thresholds.append((f"{t:.2f} (validation)", t))
            for shown, t in thresholds:
                voted = vote_texts(members, method, weights=w, positive="ADE", threshold=t, names=names)
                row = score([p.label for p in voted])
                row["members"] = names
                row["threshold"] = shown
                row["beats_best_member"] = row["macro_f1"] > best_member
                row["predict_texts_per_second"] = round(len(dev) / seconds, 1)
                label = f"{method} vote of {len(names)} seeds" + (
                    "" if method == "hard" else f", threshold {shown}"
                )
                rows[label] = row
                print(label, row, flush=True)

    results = {
        "date": time.strftime("%Y-%m-%d"),
        "train": len(train),
        "validation": len(valid),
        "dev": len(dev),
        "args": {k: str(v) for k, v in vars(args).items()},
        "rows": rows,
    }
    (args.output / "results.json").write_text(json.dumps(results, indent=2))
    lines = [
        "| system | dev macro F1 | dev ADE F1 | valid macro F1 | train texts/s | predict texts/s |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in rows.items():
        lines.append(
            f"| {name} | {r['macro_f1']:.4f} | {r['ade_f1']:.4f} | {r.get('valid_macro_f1', '')} | "
            f"{r.get('train_texts_per_second', '')} | {r.get('predict_texts_per_second', '')} |"
        )
    table = "\n".join(lines) + "\n"
    (args.output / "table.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
