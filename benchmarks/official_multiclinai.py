"""The official MultiClinAI evaluator's algorithm, re-implemented faithfully (benchmarks only).

nlp4bia-bsc/MultiClinAIEval ``src/evaluate.py`` loads both TSVs with pandas, groups rows with
``DataFrame.iterrows`` and compares every gold span with every prediction of its document in
Python loops. This file does the same and imports nothing but pandas, so that running it as a
script costs what the official script costs (``bench_evaluate.py --tsv-repeats`` times it as a
whole process):

    python benchmarks/official_multiclinai.py --reference GOLD.tsv --pred PRED.tsv

prints the JSON object of strict and character-overlap scores. The package never uses this file.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import pandas as pd

REQUIRED_COLUMNS = ["filename", "label", "start_span", "end_span", "text"]


def load_tsv(path: str) -> pd.DataFrame:
    """``load_and_validate_tsv``: read with pandas, keep the five columns, integer offsets."""
    df = pd.read_csv(path, sep="\t")
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"{path} is missing columns {missing}. Required: {REQUIRED_COLUMNS}")
    df = df[REQUIRED_COLUMNS].copy()
    df["start_span"] = pd.to_numeric(df["start_span"]).astype(int)
    df["end_span"] = pd.to_numeric(df["end_span"]).astype(int)
    if (df["end_span"] <= df["start_span"]).any():
        raise ValueError("Invalid spans detected (end_span <= start_span).")
    return df.rename(columns={"start_span": "off0", "end_span": "off1", "text": "span"})


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


def rounded(precision: float, recall: float) -> dict[str, float]:
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
    strict = rounded(tp / (tp + fp) if tp + fp else 0, tp / (tp + fn) if tp + fn else 0)
    strict.update(tp=tp, fp=fp, fn=fn)
    char = rounded(
        sum(pred_scores) / len(pred_scores) if pred_scores else 0.0,
        sum(gold_scores) / len(gold_scores) if gold_scores else 0.0,
    )
    char.update(n_gold=len(gold_scores), n_pred=len(pred_scores))
    return {"strict": strict, "char_f1": char}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reference", required=True)
    ap.add_argument("--pred", required=True)
    args = ap.parse_args()
    print(json.dumps(official(load_tsv(args.reference), load_tsv(args.pred))))


if __name__ == "__main__":
    main()
