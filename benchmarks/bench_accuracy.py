"""The accuracy table: trained models and the lexicon on SpaCCC dev, MultiClinAI es dev and en dev.

Selection discipline: every choice is made on the validation notes a model's own run held out
(:func:`clinicalner.train.loop.held_out_documents`): the epoch (by the training run), whether to
post-process, the lexicon's minimum count. The dev sets are only scored, once per system, with
the choice made on validation. Training documents that overlap a dev document were excluded by
the run (the corpora share case reports), so no dev note was trained on.

For each system and dev set: strict and relaxed F1 as macro averages over the three types (the
MultiClinAI ranking averages per type), the micro strict F1 with a 95 % bootstrap interval over
documents, per-type strict F1; and the error taxonomy (``evaluate --errors``) of each model.

Run:  python benchmarks/bench_accuracy.py --model /path/to/model --name "new default" \
          [--model OTHER --name "previous default"] [--lexicon] --output benchmarks/out/accuracy
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from baseline_data import DEV_SETS, LABELS, scores, write_results

from clinicalner.document import Document


def tag(tagger: Any, docs: list[Document]) -> tuple[list[Document], float]:
    from clinicalner.predict.stream import tag_distinct

    t0 = time.perf_counter()
    out, _ = tag_distinct(tagger, docs)
    return out, time.perf_counter() - t0


def evaluate_model(model: Path, dev_sets: dict[str, list[Document]], bootstrap: int) -> dict[str, Any]:
    from clinicalner.predict.engine import TransformerTagger
    from clinicalner.train.loop import held_out_documents

    held = held_out_documents(model)
    val = held.validation
    choices: dict[str, Any] = {}
    for post in (True, False):
        pred, _ = tag(TransformerTagger(model, postprocess=post), val)
        choices[f"postprocess={post}"] = scores(val, pred)["strict_macro"]
    post = choices["postprocess=True"] >= choices["postprocess=False"]
    tagger = TransformerTagger(model, postprocess=post)
    result: dict[str, Any] = {
        "validation_documents": len(val),
        "choice": {"postprocess": post, "validation_strict_macro": choices},
        "dev": {},
    }
    for name, gold in dev_sets.items():
        pred, seconds = tag(tagger, gold)
        result["dev"][name] = {
            **scores(gold, pred, bootstrap=bootstrap, errors=True),
            "tag_seconds": round(seconds, 1),
        }
    return result


def evaluate_lexicon(model: Path, dev_sets: dict[str, list[Document]], bootstrap: int) -> dict[str, Any]:
    """The lexicon of the model's own training documents, its minimum count chosen on validation."""
    from clinicalner.predict.lexicon import LexiconTagger
    from clinicalner.train.loop import held_out_documents

    held = held_out_documents(model)
    choices = {}
    for k in (1, 2, 3):
        lex = LexiconTagger.from_documents(held.train, min_count=k, labels=LABELS)
        pred, _ = tag(lex, held.validation)
        choices[k] = scores(held.validation, pred)["strict_macro"]
    best = max(choices, key=lambda k: (choices[k], -k))
    lex = LexiconTagger.from_documents(held.train, min_count=best, labels=LABELS)
    result: dict[str, Any] = {"choice": {"min_count": best, "validation_strict_macro": choices}, "dev": {}}
    for name, gold in dev_sets.items():
        pred, seconds = tag(lex, gold)
        result["dev"][name] = {**scores(gold, pred, bootstrap=bootstrap), "tag_seconds": round(seconds, 1)}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--model", type=Path, action="append", default=[], help="A trained model (repeatable)."
    )
    parser.add_argument(
        "--name", action="append", default=[], help="Its name in the table (one per --model)."
    )
    parser.add_argument(
        "--lexicon", action="store_true", help="Add the lexicon of the first model's training notes."
    )
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--output", type=Path, default=Path("benchmarks/out/accuracy"))
    args = parser.parse_args()
    if len(args.name) != len(args.model):
        parser.error("give one --name per --model")

    from clinicalner.io import read_corpus

    dev_sets = {name: read_corpus(path).documents for name, path in DEV_SETS.items()}
    results: dict[str, dict[str, Any]] = {}
    for name, model in zip(args.name, args.model, strict=True):
        print(f"{name}: {model}", flush=True)
        results[name] = evaluate_model(model, dev_sets, args.bootstrap)
        results[name]["model"] = str(model)
    if args.lexicon and args.model:
        results["lexicon (training spans)"] = evaluate_lexicon(args.model[0], dev_sets, args.bootstrap)
    table = write_results(args.output, results, {})
    for name, r in results.items():
        for s, d in r["dev"].items():
            if "errors_markdown" in d:
                (args.output / f"errors-{name.replace(' ', '_')}-{s.replace(' ', '_')}.md").write_text(
                    d["errors_markdown"], encoding="utf-8"
                )
    print(table)


if __name__ == "__main__":
    main()
