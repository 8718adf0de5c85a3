"""Our MultiClinAI strict + character-overlap scoring vs the official algorithm, on a whole corpus.

The official evaluator (nlp4bia-bsc/MultiClinAIEval, src/evaluate.py) groups rows with
``DataFrame.iterrows`` and compares every gold span with every prediction of its document in
Python loops. A faithful re-implementation of that algorithm lives below (this file only;
the package never uses it). Both sides score the whole multiclinai-en-es corpus against a
seeded perturbation of itself (spans dropped, edges shifted, labels changed, duplicates and
spurious spans added, one predicted document absent from gold); the numbers must be
identical, then each is timed (median of several repeats, data already in memory: a
DataFrame for the official algorithm, Documents for ours).

Run:  python benchmarks/bench_evaluate.py [--corpus PATH] [--repeats 5] [--seed 0]
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import random
import statistics
import time
from pathlib import Path
from typing import Any

import pandas as pd

from clinicalner.document import Document, Span
from clinicalner.evaluate import score

CORPORA = Path(
    os.environ.get("CLINICALNER_CORPORA", Path(__file__).resolve().parents[2] / "shared" / "corpora")
)


# ---------------------------------------------------------------- corpus
def load_corpus(path: Path) -> list[Document]:
    """clinicalner.io when it is there; otherwise the MultiClinAI TSV layout read directly."""
    try:
        from clinicalner.io import read_corpus
    except ImportError:
        read_corpus = None
    if read_corpus is not None:
        return list(read_corpus(path, "multiclinai").documents)
    docs: list[Document] = []
    for tsv in sorted(path.glob("*/*/*/*.tsv")):
        folder = tsv.parent
        spans: dict[str, list[Span]] = {}
        with tsv.open(encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
                spans.setdefault(row["filename"], []).append(
                    Span(int(row["start_span"]), int(row["end_span"]), row["label"], row["text"])
                )
        label = folder.name.upper()
        for txt in sorted((folder / "txt").glob("*.txt")):
            text = txt.read_text(encoding="utf-8")
            docs.append(
                Document(
                    txt.stem,
                    text,
                    spans.get(txt.stem, []),
                    folder.parts[-3],
                    frozenset({label}),
                    {"folder": "/".join(folder.parts[-3:])},
                )
            )
    return docs


def perturb(docs: list[Document], seed: int) -> list[Document]:
    """A prediction-like copy: ~8% dropped, ~10% shifted, ~5% relabelled, ~2% duplicated, ~6% spurious."""
    rng = random.Random(seed)
    labels = sorted({s.label for d in docs for s in d.spans})
    out = []
    for doc in docs:
        n = len(doc.text)
        spans: list[Span] = []
        for s in doc.spans:
            roll = rng.random()
            if roll < 0.08:
                continue
            if roll < 0.18:
                start = min(max(0, s.start + rng.randint(-3, 3)), n - 1)
                end = min(n, max(start + 1, s.end + rng.randint(-3, 3)))
                spans.append(Span(start, end, s.label))
            elif roll < 0.23:
                spans.append(Span(s.start, s.end, rng.choice([x for x in labels if x != s.label])))
            else:
                spans.append(Span(s.start, s.end, s.label))
            if rng.random() < 0.02:
                spans.append(spans[-1])
        for _ in range(max(1, round(0.06 * len(doc.spans)))):
            start = rng.randrange(0, max(1, n - 1))
            spans.append(Span(start, min(n, start + rng.randint(3, 25)), rng.choice(labels)))
        rng.shuffle(spans)
        out.append(doc.with_spans(spans))
    out.append(
        Document("not_in_gold", "spurious text " * 10, [Span(0, 8, labels[0]), Span(9, 13, labels[-1])])
    )
    return out


def frame(docs: list[Document]) -> pd.DataFrame:
    """The official loader's result: filename, label, off0, off1 (int), span; rows in document order."""
    rows = [(d.id, s.label, s.start, s.end, s.text) for d in docs for s in d.spans]
    df = pd.DataFrame(rows, columns=["filename", "label", "off0", "off1", "span"])
    return df.astype({"off0": int, "off1": int})


# ---------------------------------------------------------------- the official algorithm, re-implemented
def _by_document(df: pd.DataFrame) -> dict[Any, list[dict[str, Any]]]:
    docs: dict[Any, list[dict[str, Any]]] = {}
    for _, row in df.iterrows():
        docs.setdefault(row["filename"], []).append(
            {
                "filename": row["filename"],
                "off0": int(row["off0"]),
                "off1": int(row["off1"]),
                "label": row["label"],
            }
        )
    return docs


def _rounded(precision: float, recall: float) -> dict[str, float]:
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def _same(g: dict[str, Any], p: dict[str, Any]) -> bool:
    return (
        g["filename"] == p["filename"]
        and g["label"] == p["label"]
        and g["off0"] == p["off0"]
        and g["off1"] == p["off1"]
    )


def _dice(g: dict[str, Any], p: dict[str, Any]) -> float:
    if g["filename"] != p["filename"] or g["label"] != p["label"]:
        return 0.0
    inter = max(0, min(g["off1"], p["off1"]) - max(g["off0"], p["off0"]))
    if inter == 0:
        return 0.0
    recall = inter / (g["off1"] - g["off0"])
    precision = inter / (p["off1"] - p["off0"])
    return 2 * precision * recall / (precision + recall)


def official(df_gold: pd.DataFrame, df_pred: pd.DataFrame) -> dict[str, dict[str, float]]:
    df_pred = df_pred.drop_duplicates(subset=["filename", "label", "off0", "off1"])
    gold_docs, pred_docs = _by_document(df_gold), _by_document(df_pred)
    tp = fp = fn = 0
    gold_scores: list[float] = []
    pred_scores: list[float] = []
    for d in set(gold_docs) | set(pred_docs):
        gold, pred = gold_docs.get(d, []), pred_docs.get(d, [])
        taken_g: set[int] = set()
        taken_p: set[int] = set()
        for gi, g in enumerate(gold):
            for pi, p in enumerate(pred):
                if pi not in taken_p and _same(g, p):
                    taken_g.add(gi)
                    taken_p.add(pi)
                    tp += 1
                    break
        fp += len(pred) - len(taken_p)
        fn += len(gold) - len(taken_g)
    for d in set(gold_docs) | set(pred_docs):
        gold, pred = gold_docs.get(d, []), pred_docs.get(d, [])
        for g in gold:
            best = 0.0
            for p in pred:
                best = max(best, _dice(g, p))
            gold_scores.append(best)
        for p in pred:
            best = 0.0
            for g in gold:
                best = max(best, _dice(g, p))
            pred_scores.append(best)
    strict = _rounded(tp / (tp + fp) if tp + fp else 0, tp / (tp + fn) if tp + fn else 0)
    strict.update(tp=tp, fp=fp, fn=fn)
    char = _rounded(
        sum(pred_scores) / len(pred_scores) if pred_scores else 0.0,
        sum(gold_scores) / len(gold_scores) if gold_scores else 0.0,
    )
    char.update(n_gold=len(gold_scores), n_pred=len(pred_scores))
    return {"strict": strict, "char_f1": char}


# ---------------------------------------------------------------- ours
def ours(gold: list[Document], pred: list[Document]) -> dict[str, dict[str, float]]:
    # mask_unannotated=False: the official evaluator knows nothing of annotated types, so a
    # relabelled prediction is a false positive there too.
    r = score(
        gold, pred, metrics=["multiclinai_strict", "multiclinai_char"], breakdowns=(), mask_unannotated=False
    )
    s, c = r.metric("multiclinai_strict"), r.metric("multiclinai_char")
    strict = _rounded(s.precision, s.recall)
    strict.update(tp=s.counts["tp"], fp=s.counts["fp"], fn=s.counts["fn"])
    char = _rounded(c.precision, c.recall)
    char.update(n_gold=c.counts["n_gold"], n_pred=c.counts["n_pred"])
    return {"strict": strict, "char_f1": char}


def timed(fn: Any, repeats: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", type=Path, default=CORPORA / "multiclinai-en-es")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    gold = load_corpus(args.corpus)
    pred = perturb(gold, args.seed)
    df_gold, df_pred = frame(gold), frame(pred)
    n_gold, n_pred = len(df_gold), len(df_pred)

    t_official, r_official = timed(lambda: official(df_gold, df_pred), args.repeats)
    t_ours, r_ours = timed(lambda: ours(gold, pred), max(args.repeats, 10))
    assert r_ours == r_official, f"numbers differ:\nours     {r_ours}\nofficial {r_official}"
    t_all, _ = timed(lambda: score(gold, pred, breakdowns=("label", "language", "folder")), args.repeats)

    print(f"corpus: {args.corpus} ({len(gold)} documents, {n_gold} gold spans, {n_pred} predicted spans)")
    print(f"machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}")
    s, c = r_ours["strict"], r_ours["char_f1"]
    print(
        f"identical numbers: strict P/R/F {s['precision']}/{s['recall']}/{s['f1']} "
        f"(tp {s['tp']}, fp {s['fp']}, fn {s['fn']}); char P/R/F {c['precision']}/{c['recall']}/{c['f1']}"
    )
    print()
    print("| scorer | strict + char F1, median seconds | speed-up |")
    print("|---|---|---|")
    print(f"| official algorithm (pandas iterrows + nested loops) | {t_official:.3f} | 1x |")
    print(f"| clinicalner.evaluate.score | {t_ours:.4f} | {t_official / t_ours:.0f}x |")
    print(f"| clinicalner.evaluate.score, all 17 metrics + 3 breakdowns | {t_all:.3f} | — |")


if __name__ == "__main__":
    main()
