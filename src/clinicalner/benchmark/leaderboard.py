"""Ranking and tables: the leaderboard of a benchmark, as the M42 benchmark aggregates it.

Every number shown is an F1 ×100 rounded to 2 decimals. A tagger's score on a metric is the
mean over datasets of its per-dataset F1; a score per entity type is the mean, over the
datasets that have that type, of the per-dataset F1 of the type (M42's
``save_benchmark_metrics``: macro over datasets, each dataset's type F1 being micro over its
documents). Means are taken before rounding; ranks are taken on the rounded means, so equal
numbers on the page share a rank (1, 2, 2, 4).

The table is ordered by ``rank_by`` and shows, for each other metric, the rank under it and the
change against ``rank_by`` (``+2``: two places higher under that metric), which is how the M42
paper's Table 8 shows that token- and span-based scores order models differently.

Only taggers that ran on every dataset are ranked. A tagger that lacks some (``skip_missing``)
is listed below the ranked ones, unranked, with the datasets it has: a mean over an easier
subset of datasets would otherwise outrank a mean over all of them. (A dataset no tagger ran
on is left out of this test.)
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from statistics import fmean
from typing import Any

from clinicalner.atomic import atomic_write
from clinicalner.benchmark.results import RunResult

METRIC_TITLES = {
    "m42_token_macro": "Token macro F1 (M42)",
    "m42_token_micro": "Token micro F1 (M42)",
    "m42_token_weighted": "Token weighted F1 (M42)",
    "nervaluate_0.1.8_ent_type": "Span partial F1 (M42, nervaluate ent_type)",
    "nervaluate_0.1.8_strict": "Span exact F1 (nervaluate strict)",
    "nervaluate_0.1.8_exact": "Span boundary F1 (nervaluate exact)",
    "nervaluate_0.1.8_partial": "Span partial-credit F1 (nervaluate partial)",
    "strict": "Strict F1",
    "relaxed": "Relaxed (overlap) F1",
    "multiclinai_char": "MultiClinAI character F1",
}


def metric_title(metric: str) -> str:
    return METRIC_TITLES.get(metric, metric)


def pct(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 2)


def competition_ranks(values: Mapping[str, float | None]) -> dict[str, int | None]:
    """1224 ranking, highest first; a missing value has no rank."""
    present = sorted((v for v in values.values() if v is not None), reverse=True)
    first = {}
    for i, v in enumerate(present, start=1):
        first.setdefault(v, i)
    return {k: (first[v] if v is not None else None) for k, v in values.items()}


@dataclass
class Leaderboard:
    """Results of taggers × datasets and every view of them the outputs need."""

    name: str
    taggers: list[str]
    datasets: list[dict[str, Any]]
    runs: dict[tuple[str, str], RunResult]
    rank_by: str
    compare: tuple[str, ...] = ()
    output: Path | None = None
    notes: list[str] = field(default_factory=list)

    # -- structure -------------------------------------------------------------------------

    @property
    def metrics(self) -> tuple[str, ...]:
        return (self.rank_by, *[m for m in self.compare if m != self.rank_by])

    @property
    def dataset_names(self) -> list[str]:
        return [d["name"] for d in self.datasets]

    def dataset_labels(self, dataset: str) -> tuple[str, ...]:
        for d in self.datasets:
            if d["name"] == dataset:
                return tuple(d["labels"])
        raise KeyError(dataset)

    @property
    def labels(self) -> list[str]:
        """Entity types of all datasets, in first-seen order."""
        out: dict[str, None] = {}
        for d in self.datasets:
            out.update(dict.fromkeys(d["labels"]))
        return list(out)

    def run(self, tagger: str, dataset: str) -> RunResult | None:
        return self.runs.get((tagger, dataset))

    # -- numbers ---------------------------------------------------------------------------

    def dataset_f1(self, tagger: str, dataset: str, metric: str, label: str | None = None) -> float | None:
        """F1 ×100, rounded to 2, of one run (None: no run, or the label was not scored)."""
        r = self.run(tagger, dataset)
        return None if r is None else pct(r.f1(metric, label))

    def mean_f1(self, tagger: str, metric: str) -> float | None:
        """Mean over the tagger's datasets of its F1, ×100, rounded to 2."""
        values = [
            f for d in self.dataset_names if (r := self.run(tagger, d)) and (f := r.f1(metric)) is not None
        ]
        return pct(fmean(values)) if values else None

    def mean_score(self, tagger: str, metric: str, which: str) -> float | None:
        """Mean precision or recall over datasets, ×100 rounded to 2."""
        values = [
            s[which]
            for d in self.dataset_names
            if (r := self.run(tagger, d)) and (s := r.get(metric)) is not None
        ]
        return pct(fmean(values)) if values else None

    def entity_f1(self, tagger: str, metric: str, label: str) -> float | None:
        """M42's per-type score: mean over the datasets that have ``label`` of their type F1."""
        values = []
        for d in self.dataset_names:
            if label not in self.dataset_labels(d):
                continue
            r = self.run(tagger, d)
            if r is not None and (f := r.f1(metric, label)) is not None:
                values.append(f)
        return pct(fmean(values)) if values else None

    def coverage(self, tagger: str) -> int:
        return sum(1 for d in self.dataset_names if self.run(tagger, d) is not None)

    def datasets_of(self, tagger: str) -> list[str]:
        return [d for d in self.dataset_names if self.run(tagger, d) is not None]

    def complete(self, tagger: str) -> bool:
        """Ran on every dataset that any tagger ran on: only such taggers are ranked (see the
        module docstring). A dataset nobody has a run on makes no tagger partial."""
        scored = [d for d in self.dataset_names if any(self.run(t, d) is not None for t in self.taggers)]
        return bool(scored) and all(self.run(tagger, d) is not None for d in scored)

    @property
    def partial_taggers(self) -> list[str]:
        return [t for t in self.taggers if not self.complete(t)]

    def ranks(self, metric: str) -> dict[str, int | None]:
        """Competition ranks of the taggers with every dataset; None for the others."""
        ranked = competition_ranks({t: self.mean_f1(t, metric) for t in self.taggers if self.complete(t)})
        return {t: ranked.get(t) for t in self.taggers}

    def rank_change(self, tagger: str, metric: str) -> int | None:
        """Places gained under ``metric`` compared with ``rank_by`` (positive: higher there)."""
        base, other = self.ranks(self.rank_by)[tagger], self.ranks(metric)[tagger]
        return None if base is None or other is None else base - other

    def rows(self) -> list[dict[str, Any]]:
        """One row per tagger, best first under ``rank_by`` (ties: config order); taggers
        without every dataset last, unranked (``partial``), in config order."""
        ranks = {m: self.ranks(m) for m in self.metrics}
        order = {t: i for i, t in enumerate(self.taggers)}
        big = len(self.taggers) + 1
        taggers = sorted(
            self.taggers, key=lambda t: (not self.complete(t), ranks[self.rank_by][t] or big, order[t])
        )
        rows = []
        for t in taggers:
            row: dict[str, Any] = {
                "tagger": t,
                "rank": ranks[self.rank_by][t],
                "datasets": self.coverage(t),
                "partial": not self.complete(t),
                "dataset_names": self.datasets_of(t),
            }
            for m in self.metrics:
                row[m] = {
                    "f1": self.mean_f1(t, m),
                    "precision": self.mean_score(t, m, "precision"),
                    "recall": self.mean_score(t, m, "recall"),
                    "rank": ranks[m][t],
                    "rank_change": None if m == self.rank_by else self.rank_change(t, m),
                    "per_dataset": {d: self.dataset_f1(t, d, m) for d in self.dataset_names},
                    "per_entity": {label: self.entity_f1(t, m, label) for label in self.labels},
                }
            rows.append(row)
        return rows

    # -- outputs ---------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "rank_by": self.rank_by,
            "compare": list(self.compare),
            "taggers": self.taggers,
            "datasets": self.datasets,
            "labels": self.labels,
            "rows": self.rows(),
            "notes": self.notes,
            "timing": self.timing_rows(),
        }

    def timing_rows(self) -> list[dict[str, Any]]:
        out = []
        for t in self.taggers:
            for d in self.dataset_names:
                r = self.run(t, d)
                if r is None:
                    continue
                out.append(
                    {
                        "tagger": t,
                        "dataset": d,
                        "seconds": r.timing.get("seconds"),
                        "load_seconds": r.timing.get("load_seconds"),
                        "documents_per_second": r.timing.get("documents_per_second"),
                        "characters_per_second": r.timing.get("characters_per_second"),
                        "external": bool(r.timing.get("external", False)),
                        "cached": r.cached,
                    }
                )
        return out

    def llm_rows(self) -> list[dict[str, Any]]:
        """What LLM taggers answered, per run: mentions the model returned that could not be
        placed in the text (``unmatched``: invented or rewritten), labels outside the label map,
        unreadable replies and chunks given up. These explain a low recall or precision."""
        out = []
        for t in self.taggers:
            for d in self.dataset_names:
                r = self.run(t, d)
                stats = r.info.get("tagger_stats") if r is not None else None
                if not isinstance(stats, dict) or "unmatched" not in stats:
                    continue
                out.append({"tagger": t, "dataset": d, **{k: stats.get(k, 0) for k in LLM_COLUMNS}})
        return out

    def _dataset_cell(self, row: Mapping[str, Any], metric: str, dataset: str) -> str:
        """A per-dataset F1; "n/a" for a run whose data cannot give the metric (the token
        metrics on gold without texts), "—" for no run."""
        value = row[metric]["per_dataset"][dataset]
        if value is None and self.run(row["tagger"], dataset) is not None:
            return "n/a"
        return _num(value)

    def to_markdown(self) -> str:
        rows = self.rows()
        n = len(self.datasets)
        out = [f"# {self.name}", ""]
        out.append(
            f"{len(self.taggers)} taggers on {n} datasets. Ranked by **{metric_title(self.rank_by)}** "
            f"(`{self.rank_by}`): the mean over datasets of each dataset's F1, ×100. "
            "Δ is the change of rank under that metric (+: higher)."
        )
        out.append("")
        header = ["Rank", "Tagger", f"{metric_title(self.rank_by)}"]
        for m in self.metrics[1:]:
            header += [metric_title(m), "rank", "Δ"]
        header.append("Datasets")
        table = []
        for row in rows:
            cells = [_cell(row["rank"]), _tagger_cell(row), _num(row[self.rank_by]["f1"])]
            for m in self.metrics[1:]:
                cells += [_num(row[m]["f1"]), _cell(row[m]["rank"]), _delta(row[m]["rank_change"])]
            cells.append(coverage_text(row, n))
            table.append(cells)
        out += _md_table(header, table)
        if self.partial_taggers:
            out += ["", PARTIAL_NOTE]
        for m in self.metrics:
            out += ["", f"## Per dataset: {metric_title(m)}", ""]
            out += _md_table(
                ["Tagger", *self.dataset_names, "Mean"],
                [
                    [
                        _tagger_cell(r),
                        *[self._dataset_cell(r, m, d) for d in self.dataset_names],
                        _num(r[m]["f1"]),
                    ]
                    for r in rows
                ],
            )
        for m in self.metrics:
            out += ["", f"## Per entity type: {metric_title(m)}", ""]
            out.append("Mean over the datasets that have the type of its per-dataset F1 (as M42 reports it).")
            out.append("")
            out += _md_table(
                ["Tagger", *self.labels],
                [
                    [_tagger_cell(r), *[_num(r[m]["per_entity"][label]) for label in self.labels]]
                    for r in rows
                ],
            )
        out += ["", "## Datasets", ""]
        out += _md_table(
            ["Dataset", "Labels", "Documents", "Spans", "Dropped (no span)", "Notes"],
            [
                [
                    d["name"],
                    ", ".join(d["labels"]),
                    str(d.get("documents", "")),
                    str(sum(d.get("spans", {}).values())),
                    str(d.get("documents_dropped_empty", 0)),
                    _one_line(d.get("note", "")),
                ]
                for d in self.datasets
            ],
        )
        out += ["", "## Timing", ""]
        out += _md_table(
            ["Tagger", "Dataset", "Seconds", "Docs/s", "Chars/s", "Cached"],
            [
                [
                    t["tagger"],
                    t["dataset"],
                    "external" if t["external"] else _cell(t["seconds"]),
                    _cell(t["documents_per_second"]),
                    _cell(t["characters_per_second"]),
                    "yes" if t["cached"] else "no",
                ]
                for t in self.timing_rows()
            ],
        )
        llm = self.llm_rows()
        if llm:
            out += ["", "## LLM answers", ""]
            out.append(
                "Mentions the model returned: matched to the text, unmatched (not found in it: invented or "
                "rewritten), of an unknown label; replies that could not be read; chunks given up."
            )
            out.append("")
            out += _md_table(
                ["Tagger", "Dataset", *LLM_COLUMNS.values()],
                [[row["tagger"], row["dataset"], *[str(row[k]) for k in LLM_COLUMNS]] for row in llm],
            )
        if self.notes:
            out += ["", "## Notes", ""] + [f"- {note}" for note in self.notes]
        return "\n".join(out) + "\n"

    def to_csv(self) -> str:
        """The leaderboard table: one row per tagger, F1 ×100."""
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        header = ["rank", "tagger", "datasets", "partial"]
        for m in self.metrics:
            header += [f"{m}_f1", f"{m}_precision", f"{m}_recall", f"{m}_rank"]
            if m != self.rank_by:
                header.append(f"{m}_rank_change")
        header += [f"{self.rank_by}:{d}" for d in self.dataset_names]
        w.writerow(header)
        for row in self.rows():
            cells: list[Any] = [
                _blank(row["rank"]),
                row["tagger"],
                row["datasets"],
                ";".join(row["dataset_names"]) if row["partial"] else "",
            ]
            for m in self.metrics:
                r = row[m]
                cells += [_blank(r["f1"]), _blank(r["precision"]), _blank(r["recall"]), _blank(r["rank"])]
                if m != self.rank_by:
                    cells.append(_blank(r["rank_change"]))
            cells += [_blank(row[self.rank_by]["per_dataset"][d]) for d in self.dataset_names]
            w.writerow(cells)
        return buf.getvalue()

    def scores_csv(self) -> str:
        """Every metric of every run (not only the leaderboard's: all the evaluator computed),
        overall (empty label) and per label, as fractions; one row per run, metric and label."""
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["tagger", "dataset", "metric", "label", "precision", "recall", "f1"])
        for t in self.taggers:
            for d in self.dataset_names:
                r = self.run(t, d)
                if r is None:
                    continue
                for m, per_label in r.scores.items():
                    for label, s in per_label.items():
                        w.writerow(
                            [t, d, m, label, f"{s['precision']:.6f}", f"{s['recall']:.6f}", f"{s['f1']:.6f}"]
                        )
        return buf.getvalue()

    def entities_csv(self) -> str:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["tagger", "metric", "label", "f1", "datasets"])
        for t in self.taggers:
            for m in self.metrics:
                for label in self.labels:
                    n = sum(
                        1 for d in self.dataset_names if label in self.dataset_labels(d) and self.run(t, d)
                    )
                    w.writerow([t, m, label, _blank(self.entity_f1(t, m, label)), n])
        return buf.getvalue()

    def write(self, output: str | Path) -> Path:
        """Write leaderboard.{md,csv,json}, scores.csv and entities.csv into ``output``.

        The HTML page is :func:`clinicalner.benchmark.html.write_html`'s (it needs matplotlib
        and imports this module, so this module does not import it back).
        """
        out = Path(output)
        files = {
            "leaderboard.md": self.to_markdown(),
            "leaderboard.csv": self.to_csv(),
            "scores.csv": self.scores_csv(),
            "entities.csv": self.entities_csv(),
            "leaderboard.json": json.dumps(self.to_dict(), indent=1, ensure_ascii=False) + "\n",
        }
        for name, text in files.items():
            with atomic_write(out / name) as f:
                f.write(text)
        self.output = out
        return out


# LLM tagger statistics shown per run (key: column title).
LLM_COLUMNS = {
    "requests": "Requests",
    "mentions": "Mentions",
    "matched": "Matched",
    "unmatched": "Unmatched",
    "unknown_labels": "Unknown labels",
    "malformed": "Malformed replies",
    "failed_chunks": "Failed chunks",
}

PARTIAL_NOTE = (
    "\\* ran on only some datasets (`skip_missing`): not ranked, listed below the ranked taggers; "
    "its means are over its own datasets and do not compare with the others'."
)


def dropped_span_notes(
    runs: Mapping[tuple[str, str], RunResult], taggers: Sequence[str], datasets: Sequence[str]
) -> list[str]:
    """One note per run whose label map left predicted spans outside the dataset's labels.

    Those spans are dropped before scoring, which is right for a type the dataset does not
    annotate but ruinous for a map that renames a dataset's own labels away; the counts per
    predicted label tell the two apart, on the leaderboard rather than only in runs/*.json.
    """
    notes = []
    for t in taggers:
        for d in datasets:
            r = runs.get((t, d))
            dropped = int(r.info.get("spans_outside_labels") or 0) if r is not None else 0
            if r is None or not dropped:
                continue
            per_label = r.info.get("labels_outside") or {}
            which = f" ({', '.join(f'{k} {v:,}' for k, v in per_label.items())})" if per_label else ""
            scored = r.info.get("spans")
            kept = f"; {scored:,} scored" if isinstance(scored, int) else ""
            notes.append(
                f"{t} × {d}: {dropped:,} predicted span(s) dropped, their labels not the dataset's"
                f"{which}{kept}. The tagger's label_map decides; an empty dataset_label_maps entry "
                "for this dataset keeps the tagger's own labels."
            )
    return notes


def coverage_text(row: Mapping[str, Any], n: int) -> str:
    """``5/5``, or for a partial tagger ``2/5: ncbi-disease, bc5cdr``."""
    text = f"{row['datasets']}/{n}"
    return f"{text}: {', '.join(row['dataset_names']) or 'none'}" if row.get("partial") else text


def _tagger_cell(row: Mapping[str, Any]) -> str:
    return f"{row['tagger']} *" if row.get("partial") else str(row["tagger"])


def _num(v: float | None) -> str:
    return "—" if v is None else f"{v:.2f}"


def _cell(v: Any) -> str:
    return "—" if v is None else str(v)


def _blank(v: Any) -> Any:
    return "" if v is None else v


def _delta(v: int | None) -> str:
    if v is None:
        return "—"
    return f"+{v}" if v > 0 else str(v)


def _one_line(s: str) -> str:
    return " ".join(str(s).split()).replace("|", "/")


def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    esc = [[str(c).replace("|", "\\|") for c in r] for r in [header, *rows]]
    lines = ["| " + " | ".join(esc[0]) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in esc[1:]]
    return lines
