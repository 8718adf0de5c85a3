"""Scoring a prediction file against gold: the whole picture in one report object.

Macro and per-class P/R/F1, accuracy, the confusion matrix, a breakdown by language (a
language the classifier never saw in training is marked unseen: DNT's ensemble generalised
best there), a threshold sweep and a precision-recall curve for the positive class of a
binary task, and bootstrap intervals. Rendered as a dict (JSON), Markdown or rich tables.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from clinicalner.atomic import atomic_write
from clinicalner.classify import metrics as M
from clinicalner.classify.data import LabelledText, TextPrediction
from clinicalner.errors import CorpusError

REPORT_SUFFIXES = (".json", ".md")


@dataclass
class ClassifyReport:
    classes: list[str]
    n: int
    macro: dict[str, float]
    accuracy: float
    per_class: dict[str, dict[str, float]]
    confusion: list[list[int]]
    languages: dict[str, dict[str, Any]] = field(default_factory=dict)
    positive: str | None = None
    sweep: list[dict[str, float]] = field(default_factory=list)
    pr_curve: dict[str, list[float]] = field(default_factory=dict)
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)
    flags: dict[str, int] = field(default_factory=dict)

    @property
    def macro_f1(self) -> float:
        return self.macro["f1"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "classes": self.classes,
            "macro": self.macro,
            "accuracy": self.accuracy,
            "per_class": self.per_class,
            "confusion": {"rows_gold_columns_predicted": self.classes, "matrix": self.confusion},
            "languages": self.languages,
            "positive": self.positive,
            "threshold_sweep": self.sweep,
            "pr_curve": self.pr_curve,
            "bootstrap_95": {k: list(v) for k, v in self.intervals.items()},
            "flags": self.flags,
        }

    def to_markdown(self) -> str:
        ci = self.intervals
        lines = [
            f"**{self.n} texts** · macro F1 {self.macro['f1']:.4f}"
            + (f" (95% CI {ci['macro_f1'][0]:.4f}–{ci['macro_f1'][1]:.4f})" if "macro_f1" in ci else "")
            + f" · accuracy {self.accuracy:.4f}",
            "",
            "| class | P | R | F1 | support |",
            "|---|---|---|---|---|",
        ]
        for c in self.classes:
            s = self.per_class[c]
            lines.append(
                f"| {c} | {s['precision']:.4f} | {s['recall']:.4f} | {s['f1']:.4f} | {int(s['support'])} |"
            )
        m = self.macro
        lines.append(f"| **macro** | {m['precision']:.4f} | {m['recall']:.4f} | {m['f1']:.4f} | {self.n} |")
        lines += [
            "",
            "Confusion (rows gold, columns predicted):",
            "",
            "| | " + " | ".join(self.classes) + " |",
        ]
        lines.append("|---" * (len(self.classes) + 1) + "|")
        for c, row in zip(self.classes, self.confusion, strict=True):
            lines.append(f"| {c} | " + " | ".join(str(v) for v in row) + " |")
        if self.languages:
            lines += [
                "",
                "| language | seen in training | texts | macro F1 | accuracy |",
                "|---|---|---|---|---|",
            ]
            for lang, s in self.languages.items():
                seen = {True: "yes", False: "**unseen**", None: "?"}[s["seen"]]
                lines.append(f"| {lang} | {seen} | {s['n']} | {s['macro_f1']:.4f} | {s['accuracy']:.4f} |")
        if self.sweep:
            lines += ["", f"Threshold sweep ({self.positive}):", "", "| threshold | P | R | F1 | macro F1 |"]
            lines.append("|---|---|---|---|---|")
            lines += [
                f"| {r['threshold']:.2f} | {r['precision']:.4f} | {r['recall']:.4f} | {r['f1']:.4f} | {r['macro_f1']:.4f} |"
                for r in self.sweep
            ]
        if self.flags:
            lines += ["", "Flags: " + ", ".join(f"{k} {v}" for k, v in self.flags.items())]
        return "\n".join(lines) + "\n"


def _default_positive(classes: Sequence[str], gold: Sequence[str]) -> str | None:
    """For a binary task, the rarer gold class (ADE in ADE / NO_ADE); None otherwise."""
    if len(classes) != 2:
        return None
    counts = {c: sum(g == c for g in gold) for c in classes}
    return min(classes, key=lambda c: (counts[c], c))


def score_predictions(
    gold: Sequence[LabelledText],
    pred: Sequence[TextPrediction],
    *,
    positive: str | None = None,
    train_languages: Sequence[str] | None = None,
    bootstrap: int = 0,
    seed: int = 0,
    gold_path: str | Path = "<gold>",
) -> ClassifyReport:
    """Score ``pred`` against ``gold`` by id; a gold text without a prediction is an error
    (scores computed after silently dropping texts would flatter the system)."""
    by_id = {p.id: p for p in pred}
    missing = [g.id for g in gold if g.id not in by_id]
    if missing:
        raise CorpusError(f"{len(missing)} gold texts have no prediction (first: {missing[:3]})", gold_path)
    unlabelled = [g.id for g in gold if g.label is None]
    if unlabelled:
        raise CorpusError(f"{len(unlabelled)} gold texts have no label (first: {unlabelled[:3]})", gold_path)
    g_labels = [str(g.label) for g in gold]
    p_labels = [by_id[g.id].label for g in gold]
    classes = sorted(set(g_labels) | set(p_labels))
    m = M.confusion(g_labels, p_labels, classes)
    pc = M.per_class(m)
    per = {
        c: {k: float(round(pc[k][i], 6)) for k in ("precision", "recall", "f1", "support")}
        for i, c in enumerate(classes)
    }
    macro = {k: float(round(pc[k].mean(), 6)) for k in ("precision", "recall", "f1")}
    positive = positive or _default_positive(classes, g_labels)
    if positive is not None and positive not in classes:
        raise ValueError(f"positive class {positive!r} is not one of {classes}")
    report = ClassifyReport(
        classes=classes,
        n=len(gold),
        macro=macro,
        accuracy=round(float(M.accuracy(m)), 6),
        per_class=per,
        confusion=m.tolist(),
        positive=positive,
    )
    seen_train = set(train_languages) if train_languages is not None else None
    langs = sorted({g.language or by_id[g.id].language or "?" for g in gold})
    if len(langs) > 1 or seen_train is not None or any(by_id[g.id].seen_language is not None for g in gold):
        for lang in langs:
            idx = [i for i, g in enumerate(gold) if (g.language or by_id[g.id].language or "?") == lang]
            lm = M.confusion([g_labels[i] for i in idx], [p_labels[i] for i in idx], classes)
            if seen_train is not None:
                seen: bool | None = lang in seen_train
            else:
                marks = {by_id[gold[i].id].seen_language for i in idx} - {None}
                seen = marks.pop() if len(marks) == 1 else None
            report.languages[lang] = {
                "seen": seen,
                "n": len(idx),
                "macro_f1": round(float(M.macro_f1(lm)), 6),
                "accuracy": round(float(M.accuracy(lm)), 6),
            }
    probs = [by_id[g.id].probabilities.get(positive) for g in gold] if positive else []
    if positive and all(p is not None for p in probs):
        y = np.asarray([lab == positive for lab in g_labels])
        s = np.asarray(probs, dtype=np.float64)
        report.sweep = M.threshold_sweep(y, s)
        report.pr_curve = M.pr_curve(y, s)
    if bootstrap:
        report.intervals = M.bootstrap_ci(g_labels, p_labels, classes, bootstrap, seed)
    flags: dict[str, int] = {}
    for g in gold:
        if by_id[g.id].flag:
            flags[by_id[g.id].flag] = flags.get(by_id[g.id].flag, 0) + 1
    report.flags = flags
    return report


def write_report(report: ClassifyReport, output: str | Path) -> Path:
    """``.json`` or ``.md`` by the suffix, atomically."""
    output = Path(output)
    if output.suffix.lower() not in REPORT_SUFFIXES:
        raise ValueError(f"{output}: a report ends in .json or .md")
    text = (
        json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n"
        if output.suffix.lower() == ".json"
        else report.to_markdown()
    )
    with atomic_write(output) as f:
        f.write(text)
    return output


def plot_pr_curve(report: ClassifyReport, output: str | Path) -> Path:
    """The positive class's precision-recall curve as an image (needs the ``plots`` extra)."""
    if not report.pr_curve:
        raise ValueError(
            "no precision-recall curve: the task is not binary or predictions have no probabilities"
        )
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    output = Path(output)
    fig, ax = plt.subplots(figsize=(4.5, 4))
    ax.plot(report.pr_curve["recall"], report.pr_curve["precision"], drawstyle="steps-post")
    ax.set_xlabel(f"recall ({report.positive})")
    ax.set_ylabel(f"precision ({report.positive})")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_title(f"AP {report.pr_curve['average_precision'][0]:.3f}")
    fig.tight_layout()
    with atomic_write(output, "wb", encoding=None, newline=None) as f:
        fig.savefig(f, format=output.suffix.lstrip(".") or "png")
    plt.close(fig)
    return output
