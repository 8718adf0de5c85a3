"""Ensembles against the best single model, on SpaCCC dev.

Trains N clinicalner models on SpaCCC train that differ in one setting each (a seed, the
scheme, a CRF; same epochs, everything else the defaults), tags SpaCCC dev with each, and
scores: each member, span-level majority voting (exact and overlapping matches), weighted
voting (weights = each member's dev strict F1), union with overlap resolution, and logit
averaging (the members share a tokenizer). Members already in the output folder are reused,
and ``--reuse NAME=PATH`` takes a model trained elsewhere (the default model that
``bench_engine.py`` trained with the same epochs) as one member.

The members' own rows double as an ablation of the scheme and the CRF at equal epochs.

Note: the weighted vote takes its weights from the same dev set it is scored on, so it is
an optimistic figure; the majority and logit rows use no dev information.

Run (the members of BENCHMARKS.md; the first is bench_engine.py's model, trained before the
CRF became the default):
  python benchmarks/bench_ensemble.py --epochs 10 \
      --reuse "BIO, no CRF=benchmarks/out/engine/clinicalner" \
      --member "BIOES=scheme=BIOES,crf=false" --member "BIO + CRF=crf=true"

DNT's "simplified labelling" (IO: one label per word, no B-/I-) against BIO, at equal epochs
and with no CRF in either (the IO row of BENCHMARKS.md; not run yet):
  python benchmarks/bench_ensemble.py --epochs 10 --io-vs-bio --output benchmarks/out/io_vs_bio
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from hf_baseline import CORPORA, finished, interrupted


def parse_member(spec: str) -> tuple[str, dict[str, Any]]:
    """``"name=key=value,key=value"`` to (name, TrainConfig overrides); values are TOML scalars."""
    import tomllib

    name, _, rest = spec.partition("=")
    overrides: dict[str, Any] = {}
    for part in filter(None, rest.split(",")):
        key, _, value = part.partition("=")
        value = value.strip()
        try:
            overrides[key.strip()] = tomllib.loads(f"v = {value}")["v"] if value else True
        except tomllib.TOMLDecodeError:  # a bare word: BIOES, mlp
            overrides[key.strip()] = value
    return name.strip(), overrides


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument(
        "--member",
        action="append",
        default=[],
        help='a member to train: "NAME=key=value,..." (TrainConfig fields, e.g. "seed 14=seed=14")',
    )
    parser.add_argument(
        "--reuse", action="append", default=[], help='a trained member: "NAME=PATH" (same epochs!)'
    )
    parser.add_argument(
        "--io-vs-bio",
        action="store_true",
        help="add two members, BIO and IO (DNT's simplified labelling), both without a CRF",
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--limit", type=int, default=0, help="first N training documents (smoke)")
    parser.add_argument("--output", type=Path, default=Path("benchmarks/out/ensemble"))
    args = parser.parse_args()
    if args.io_vs_bio:
        args.member += ["BIO, no CRF=scheme=BIO,crf=false", "IO (DNT simplified), no CRF=scheme=IO,crf=false"]

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
    if args.limit:
        train = train[: args.limit]
    members: dict[str, Path] = {}
    settings: dict[str, dict[str, Any]] = {}
    for spec in args.reuse:
        name, _, path = spec.partition("=")
        members[name] = Path(path)
        settings[name] = {"reused": path}
    for spec in args.member:
        name, overrides = parse_member(spec)
        out = args.output / name.replace(" ", "_").replace("/", "_")
        if not finished(out):
            cfg = TrainConfig(
                output=str(out),
                base_model=encoder,
                epochs=args.epochs,
                keep_best=False,
                threads=args.threads,
                **overrides,
            )
            train_model(cfg, train_docs=[train], dev_docs=[], progress=True, resume=interrupted(out))
        members[name] = out
        settings[name] = overrides
    if len(members) < 2:
        parser.error("an ensemble needs at least two members (--member / --reuse)")

    def f1s(pred: list[Any]) -> dict[str, float]:
        r = score(dev, pred, metrics=["strict", "relaxed"], labels=labels, breakdowns=("label",))
        out = {"strict": round(r.metric("strict").f1, 4), "relaxed": round(r.metric("relaxed").f1, 4)}
        for lab in labels:
            out[lab] = round(r.breakdown("label", lab, "strict").f1, 4)
        return out

    results: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d"),
        "epochs": args.epochs,
        "members": settings,
    }
    rows: dict[str, dict[str, float]] = {}
    preds = []
    for name, path in members.items():
        p = list(TransformerTagger(path).tag(dev))
        preds.append(p)
        rows[name] = f1s(p)
    weights = [rows[name]["strict"] for name in members]
    rows["majority, exact match"] = f1s(vote(preds, "majority", match="exact"))
    rows["majority, overlap match"] = f1s(vote(preds, "majority", match="overlap"))
    rows["weighted by dev F1, exact"] = f1s(vote(preds, "weighted", match="exact", weights=weights))
    rows["union, longest kept"] = f1s(vote(preds, "union", resolve="longest"))
    try:
        logit = LogitEnsembleTagger(list(members.values()))
    except ValueError as err:  # members of other schemes or CRF settings: no shared tag space
        results["logit_average"] = f"not run: {err}"
        print(f"logit average not run: {err}")
    else:
        rows["logit average"] = f1s(list(logit.tag(dev)))
    results["rows"] = rows
    best_name = max(members, key=lambda n: rows[n]["strict"])
    best = rows[best_name]["strict"]
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "results.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    header = " | ".join(labels)
    print(
        f"\n| tagger (SpaCCC dev, {len(members)} members, {args.epochs} epochs each) | strict F1 | "
        f"relaxed F1 | {header} | vs best single ({best_name}) |"
    )
    print("|---|---|---|" + "---|" * len(labels) + "---|")
    for name, r in rows.items():
        per = " | ".join(f"{r[lab]:.4f}" for lab in labels)
        print(
            f"| {name} | {r['strict']:.4f} | {r['relaxed']:.4f} | {per} | {100 * (r['strict'] - best):+.2f} |"
        )


if __name__ == "__main__":
    main()
