"""spaCy 3.8 on the accuracy table's dev sets: the CPU tool our users know.

``spacy train`` with the configuration ``spacy init config --pipeline ner --optimize efficiency``
writes (a hash-embedding CNN ``tok2vec`` and the transition-based ``ner``; no pretrained
vectors), one pipeline per type because the types overlap (``doc.ents`` cannot). Each pipeline
trains on the documents that annotate its type, tokenised by spaCy's own tokenizer (``--lang``,
default ``xx``: one multilingual pipeline per type, as ours is one multilingual model; spaCy's
tokens start and end 99.6 % of SpaCCC train's gold spans and 99.8 to 99.9 % of MultiClinAI's;
the others are skipped and counted, as ``spacy convert`` does). Its ``dev`` path is our
validation split, so ``model-best`` (best ``ents_f`` during training) is chosen on validation;
the training settings are spaCy's defaults (up to 20,000 steps, patience 1,600, evaluation every
200). Whether clinicalner's post-processing helps is also chosen on validation. Training
documents overlapping a dev document are excluded and the validation split is carved as
``clinicalner train`` does (``baseline_data.py``); ``--like MODEL`` takes that model's split.

Rows in ``bench_accuracy.py``'s format (``accuracy.json``, ``accuracy.md``), with each dev
set's tagging time (``nlp.pipe``, three pipelines).

Full run: three ``spacy train`` runs on the ~430 documents per type of SpaCCC + MultiClinAI
es + en train. spaCy's defaults stop at 20,000 steps (about 18.6 M words with the batch sizes
growing from 100 to 1,000 words) or earlier after 1,600 steps without a better validation score.
A 300-step run measured here took 1.1 ms of CPU per training word (small early batches, on a
busy shared machine), so each pipeline takes at most about 6 CPU-hours and likely 2 to 3 (larger
batches cost less per word; patience often stops it earlier); spaCy trains on one core. A
finished type is kept and skipped on a rerun:

    python benchmarks/bench_spacy.py --like MODEL --output benchmarks/out/spacy

Smoke run (10 documents per corpus, the fewest that give validation documents; about 2 CPU
minutes):

    python benchmarks/bench_spacy.py --limit 10 --max-steps 40 --eval-frequency 20 --bootstrap 0 \\
        --output /tmp/spacy-smoke
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from baseline_data import (
    LABELS,
    TRAIN_SETS,
    distinct,
    load_split,
    scores,
    spread,
    write_results,
)

from clinicalner.document import Document, Span


def docbin(nlp: Any, docs: list[Document], label: str) -> tuple[Any, int]:
    """A DocBin of the documents that annotate ``label``, its spans as ``doc.ents``; spans lost."""
    from spacy.tokens import DocBin
    from spacy.util import filter_spans

    out = DocBin()
    lost = 0
    for d in distinct([d for d in docs if d.annotates(label)]):
        doc = nlp.make_doc(d.text)
        ents = []
        for s in d.spans:
            if s.label != label:
                continue
            ent = doc.char_span(s.start, s.end, label=label)
            if ent is None:
                lost += 1
            else:
                ents.append(ent)
        kept = filter_spans(ents)  # overlapping spans of one type: the longest is kept
        lost += len(ents) - len(kept)
        doc.ents = kept
        out.add(doc)
    return out, lost


def train_type(train: list[Document], validation: list[Document], label: str, args: Any) -> dict[str, Any]:
    """``spacy train`` for one type; ``model-best`` is the best on validation. Skipped when done."""
    import spacy
    from spacy.cli.init_config import init_config

    folder = args.output / "pipelines" / label
    done = folder / "summary.json"
    if done.is_file():
        return json.loads(done.read_text(encoding="utf-8"))
    folder.mkdir(parents=True, exist_ok=True)
    nlp = spacy.blank(args.lang)
    train_bin, lost_train = docbin(nlp, train, label)
    val_bin, lost_val = docbin(nlp, validation, label)
    train_bin.to_disk(folder / "train.spacy")
    val_bin.to_disk(folder / "validation.spacy")
    config = init_config(lang=args.lang, pipeline=["ner"], optimize="efficiency", gpu=False)
    config.to_disk(folder / "config.cfg")
    command = [
        sys.executable, "-m", "spacy", "train", str(folder / "config.cfg"),
        "--output", str(folder / "output"),
        "--paths.train", str(folder / "train.spacy"),
        "--paths.dev", str(folder / "validation.spacy"),
        "--system.seed", str(args.seed),
    ]  # fmt: skip
    if args.max_steps:
        command += ["--training.max_steps", str(args.max_steps)]
    if args.eval_frequency:
        command += ["--training.eval_frequency", str(args.eval_frequency)]
    print(f"{label}: {' '.join(command)}", flush=True)
    t0, cpu0 = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(command, check=True)
    cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    meta = json.loads((folder / "output" / "model-best" / "meta.json").read_text(encoding="utf-8"))
    summary = {
        "label": label,
        "train_documents": len(train_bin),
        "validation_documents": len(val_bin),
        "spans_not_on_spacy_tokens_or_overlapping": {"train": lost_train, "validation": lost_val},
        "model_best_validation": meta.get("performance", {}),
        "train_seconds": round(time.perf_counter() - t0, 1),
        # CPU seconds (user + system) of `spacy train`: on a shared machine a steadier measure of
        # the work than the wall clock.
        "train_cpu_seconds": round(cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime, 1),
        "command": " ".join(command),
    }
    from clinicalner.atomic import atomic_write

    with atomic_write(done) as f:
        f.write(json.dumps(summary, indent=2))
    return summary


def tag(pipelines: dict[str, Any], docs: list[Document], postprocess: bool = False) -> list[Document]:
    """Spans of every type's pipeline on each document (tagged once per distinct text)."""
    from clinicalner.predict.postprocess import postprocess as clean

    unique = distinct(docs)
    found: list[list[Span]] = [[] for _ in unique]
    for label, nlp in pipelines.items():
        for k, doc in enumerate(nlp.pipe((d.text for d in unique), batch_size=32)):
            found[k].extend(
                Span(e.start_char, e.end_char, label, e.text) for e in doc.ents if e.label_ == label
            )
    tagged = []
    for d, spans in zip(unique, found, strict=True):
        tagged.append(d.with_spans(clean(d.text, spans, language=d.language) if postprocess else spans))
    return spread(docs, tagged)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--train", type=Path, nargs="+", default=TRAIN_SETS, help="Training corpora.")
    parser.add_argument("--like", type=Path, help="Use the training/validation split this model's run made.")
    parser.add_argument(
        "--lang", default="xx", help="spaCy language of the blank pipelines (xx: multilingual)."
    )
    parser.add_argument("--seed", type=int, default=None, help="Default: clinicalner train's (13).")
    parser.add_argument("--limit", type=int, default=0, help="First N documents per corpus (smoke runs).")
    parser.add_argument("--max-steps", type=int, default=0, help="Override spaCy's max_steps (smoke runs).")
    parser.add_argument("--eval-frequency", type=int, default=0, help="Override spaCy's eval_frequency.")
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--output", type=Path, default=Path("benchmarks/out/spacy"))
    args = parser.parse_args()

    import spacy

    from clinicalner.train.config import TrainConfig

    args.seed = TrainConfig().seed if args.seed is None else args.seed
    dev, data = load_split(args)
    runs = {label: train_type(data.train, data.validation, label, args) for label in LABELS}
    pipelines = {
        label: spacy.load(args.output / "pipelines" / label / "output" / "model-best") for label in LABELS
    }
    val = {
        post: scores(data.validation, tag(pipelines, data.validation, post))["strict_macro"]
        for post in (False, True)
    }
    post = val[True] > val[False]
    name = f"spaCy {spacy.__version__} ner (efficiency)" + (" + clinicalner post-processing" if post else "")
    result: dict[str, Any] = {
        "validation_documents": len(data.validation),
        "choice": {
            "postprocess": post,
            "validation_strict_macro": {f"postprocess={k}": v for k, v in val.items()},
        },
        "dev": {},
    }
    for set_name, gold in dev.items():
        t0 = time.perf_counter()
        pred = tag(pipelines, gold, post)
        seconds = round(time.perf_counter() - t0, 1)
        result["dev"][set_name] = {**scores(gold, pred, bootstrap=args.bootstrap), "tag_seconds": seconds}
        print(set_name, result["dev"][set_name]["strict_macro"], flush=True)
    extra = {
        "spacy": spacy.__version__,
        "lang": args.lang,
        "seed": args.seed,
        "limit": args.limit,
        "split": {
            "like": str(args.like) if args.like else None,
            "train": len(data.train),
            "validation": len(data.validation),
            "excluded_dev_overlap": data.excluded,
        },
        "runs": runs,
    }
    print(write_results(args.output, {name: result}, extra))


if __name__ == "__main__":
    main()
