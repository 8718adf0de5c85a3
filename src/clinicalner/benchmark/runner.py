"""Running taggers over datasets, with a cache so that only what changed runs again.

A run (one tagger on one dataset) is keyed by three fingerprints:

- the tagger's: what decides its predictions (a model folder's files, a lexicon's settings and
  training documents, a predictions file's content, an LLM's endpoint, model and prompt);
- the dataset's: the evaluation documents and labels, content-hashed;
- the scoring's: metrics, labels, bootstrap, token splitter and toolkit version.

``runs/<tagger>/<dataset>.spans.json`` keeps the predictions (offsets and labels only, no note
text) under the first two; ``runs/<tagger>/<dataset>.json`` keeps the scores under all three.
Adding a tagger runs only that tagger; changing a metric rescores from the kept predictions
without tagging again.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from clinicalner.atomic import atomic_write
from clinicalner.benchmark.config import BenchmarkConfig, ConfigError, TaggerSpec
from clinicalner.benchmark.datasets import Dataset
from clinicalner.benchmark.fingerprints import digest, slug, toolkit_version
from clinicalner.benchmark.label_mapping import align_to_gold, map_predictions_counted
from clinicalner.benchmark.results import (
    CACHE_VERSION,
    RunResult,
    extract_scores,
    read_json,
    row_span,
    span_row,
)
from clinicalner.benchmark.sources import MissingPredictions, TaggerSource
from clinicalner.document import Document
from clinicalner.predict.stream import distinct_texts, tag_distinct, widened_labels

log = logging.getLogger(__name__)

GOLD_DIR = "_gold"  # runs/_gold/<dataset>.jsonl: the exported gold, shared by every tagger


class Runner:
    """Runs every tagger on every dataset, reusing cached runs; see the module docstring."""

    def __init__(
        self,
        config: BenchmarkConfig,
        datasets: Sequence[Dataset],
        output: Path,
        *,
        force: bool = False,
        progress: bool = True,
    ) -> None:
        self.config = config
        self.datasets = list(datasets)
        self.output = Path(output)
        self.force = force
        self.progress = progress
        self.sources = {spec.name: TaggerSource(spec) for spec in config.taggers}
        self._gold_exported: set[str] = set()  # datasets whose gold this run has written

    def run_dir(self, tagger: str) -> Path:
        return self.output / "runs" / slug(tagger)

    def scoring_key(self, source: TaggerSource, dataset: Dataset) -> str:
        cfg = self.config
        return digest(
            {
                "version": toolkit_version(),
                "metrics": self.metric_names(),
                "labels": list(dataset.labels),
                "bootstrap": cfg.bootstrap,
                "seed": cfg.seed,
                "mask_unannotated": cfg.mask_unannotated,
                "tokenize": source.tokenize_name(),
            }
        )

    def metric_names(self) -> list[str] | None:
        if self.config.metrics is None:
            return None
        return list(dict.fromkeys([*self.config.metrics, *self.config.leaderboard_metrics]))

    def validate(self) -> None:
        """Every tagger's options and files checked before any tagger runs: a typo in the last
        tagger must not cost the hour the first ones take."""
        for spec in self.config.taggers:
            source = self.sources[spec.name]
            if spec.kind == "model":
                if spec.path is None:
                    raise ConfigError(f"tagger {spec.name!r}: a model tagger needs 'path'")
                if not (
                    (spec.path / "clinicalner.json").is_file() or (spec.path / "ensemble.json").is_file()
                ):
                    raise ConfigError(
                        f"tagger {spec.name!r}: {spec.path} is not a model folder (no clinicalner.json "
                        "or ensemble.json)"
                    )
            if spec.kind == "lexicon" and spec.path is not None and not spec.path.exists():
                raise ConfigError(f"tagger {spec.name!r}: term list {spec.path} not found")
            if spec.kind == "llm":
                for dataset in self.datasets:  # the label set is the dataset's
                    source.check_options(dataset.labels)
            else:
                source.check_options()

    def run(self) -> dict[tuple[str, str], RunResult]:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.validate()
        results: dict[tuple[str, str], RunResult] = {}
        pairs = [(s, d) for s in self.config.taggers for d in self.datasets]
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        # Progress on stderr: stdout carries the leaderboard (`benchmark cfg > lb.md`).
        console = Console(stderr=True)
        with Progress(*columns, console=console, disable=not self.progress, transient=False) as bar:
            overall = bar.add_task("benchmark", total=len(pairs))
            for spec, dataset in pairs:
                bar.update(overall, description=f"{spec.name} × {dataset.name}")
                try:
                    result = self.run_one(spec, dataset, bar)
                except MissingPredictions as e:
                    if not self.config.skip_missing:
                        raise
                    log.warning("%s (skipped)", e)
                    bar.advance(overall)
                    continue
                results[(spec.name, dataset.name)] = result
                bar.advance(overall)
        return results

    def run_one(self, spec: TaggerSpec, dataset: Dataset, bar: Any = None) -> RunResult:
        source = self.sources[spec.name]
        tagger_fp = source.fingerprint(dataset)
        key = {
            "tagger": tagger_fp or "uncachable",
            "dataset": dataset.fingerprint,
            "scoring": self.scoring_key(source, dataset),
        }
        run_path = self.run_dir(spec.name) / f"{slug(dataset.name)}.json"
        spans_path = self.run_dir(spec.name) / f"{slug(dataset.name)}.spans.json"
        gold_path, pred_path = self.export_paths(spec.name, dataset.name)
        export = self.config.export
        if export:
            self._export_gold(dataset, gold_path)
        command = self.evaluate_command(source, dataset)
        cachable = tagger_fp is not None and not self.force
        if cachable and run_path.is_file() and (not export or pred_path.is_file()):
            cached = read_json(run_path)
            if (
                cached is not None
                and cached.get("cache_version") == CACHE_VERSION
                and cached.get("key") == key
                # a run recorded with another command (an older file layout) is rescored
                and (cached.get("info") or {}).get("evaluate_command") == command
            ):
                return RunResult.from_dict(cached)
        predictions: list[Document] | None = None
        timing: dict[str, Any] = {}
        info: dict[str, Any] = {}
        tagger: Any = None
        if cachable and spans_path.is_file():
            predictions, timing, info = self._read_spans(spans_path, key, dataset)
        retagged = predictions is None
        complete = True
        if predictions is None:
            predictions, timing, info, tagger = self._predict(source, dataset, bar)
            failed = int((info.get("tagger_stats") or {}).get("failed_chunks") or 0)
            complete = failed == 0
            if complete:
                self._write_spans(spans_path, key, predictions, timing, info)
            else:
                # Chunks given up (an LLM with on_error="skip"): scored as they are, but never
                # reused as if complete: the next run asks again.
                info["incomplete"] = f"{failed} chunk(s) failed and were skipped"
                log.warning("%s × %s: %s; the run is not cached", spec.name, dataset.name, info["incomplete"])
        result = self._score(source, tagger, dataset, predictions, key, timing, info)
        result.retagged = retagged
        if not complete:
            result.key = {**key, "complete": "no"}  # never equal to a run's key: not a cache hit
        if export:
            self._export_predictions(predictions, pred_path)
            # the copy of the gold this tagger's folder held before the gold moved to runs/_gold/
            pred_path.with_name(f"{slug(dataset.name)}.gold.jsonl").unlink(missing_ok=True)
        result.info["evaluate_command"] = command
        if not export:
            result.info["evaluate_note"] = (
                "export = true writes the files this command reads (they hold note text)"
            )
        elif source.tokenize_name() == "model" and source.evaluate_tokenizer() is None:
            result.info["evaluate_note"] = (
                "token metrics used the tagger object's own tokenizer, which has no name for --tokenizer"
            )
        with atomic_write(run_path) as f:
            json.dump(result.to_dict(), f, indent=1, ensure_ascii=False)
            f.write("\n")
        return result

    # -- files that ``clinicalner evaluate`` reads -----------------------------------------

    def export_paths(self, tagger: str, dataset: str) -> tuple[Path, Path]:
        """``runs/_gold/<dataset>.jsonl`` and ``runs/<tagger>/<dataset>.pred.jsonl``: what
        ``clinicalner evaluate`` reads to score as a run was scored (written with ``export = true``).

        The gold is the same for every tagger, so it is written once per dataset; ``_gold`` can
        never be a tagger's folder (:func:`slug` strips a leading underscore).
        """
        return (
            self.output / "runs" / GOLD_DIR / f"{slug(dataset)}.jsonl",
            self.run_dir(tagger) / f"{slug(dataset)}.pred.jsonl",
        )

    def evaluate_command(self, source: TaggerSource, dataset: Dataset) -> str:
        """The ``clinicalner evaluate`` command, run from the results folder, that scores the
        exported files of this run to the same numbers."""
        import shlex

        rel = [
            p.relative_to(self.output).as_posix() for p in self.export_paths(source.spec.name, dataset.name)
        ]
        return shlex.join(["clinicalner", "evaluate", *rel, *self.evaluate_args(source, dataset)])

    def evaluate_args(self, source: TaggerSource, dataset: Dataset) -> list[str]:
        """The options of ``clinicalner evaluate`` that score as this run was scored."""
        cfg = self.config
        args: list[str] = []
        for label in dataset.labels:
            args += ["-l", label]
        for metric in self.metric_names() or []:
            args += ["-m", metric]
        tokenizer = source.evaluate_tokenizer()
        if tokenizer is not None:
            args += ["--tokenizer", tokenizer]
        if cfg.bootstrap:
            args += ["--bootstrap", str(cfg.bootstrap), "--seed", str(cfg.seed)]
        if not cfg.mask_unannotated:
            args.append("--no-mask-unannotated")
        return args

    def _export_gold(self, dataset: Dataset, path: Path) -> None:
        """The scored gold (after the dataset's label mapping) as JSONL, once per dataset and
        benchmark run: it holds note text, as the corpus does, so it is opt-in (``export``)."""
        if dataset.name in self._gold_exported:
            return
        from clinicalner.io import write_corpus

        write_corpus(dataset.eval, path, "jsonl")
        self._gold_exported.add(dataset.name)

    def _export_predictions(self, predictions: Sequence[Document], path: Path) -> None:
        """The scored predictions (mapped and aligned) as JSONL; they hold the note text too."""
        from clinicalner.io import write_corpus

        write_corpus(predictions, path, "jsonl")

    # -- predictions -----------------------------------------------------------------------

    def _predict(
        self, source: TaggerSource, dataset: Dataset, bar: Any
    ) -> tuple[list[Document], dict[str, Any], dict[str, Any], Any]:
        spec = source.spec
        info: dict[str, Any] = {"kind": spec.kind}
        tagger = None
        if spec.kind == "predictions":
            t0 = time.perf_counter()
            raw = source.read_predictions(dataset)
            path = source.predictions_path(dataset)
            info["source"] = str(path)
            timing: dict[str, Any] = {"external": True, "read_seconds": round(time.perf_counter() - t0, 4)}
        else:
            tagger = source.tagger_for(dataset)
            raw, timing = self._tag(tagger, dataset, bar)
            timing["load_seconds"] = round(source.load_seconds, 4)
            stats = getattr(tagger, "stats", None)
            if stats is not None and hasattr(stats, "as_dict"):
                info["tagger_stats"] = stats.as_dict()
            if hasattr(tagger, "__len__") and spec.kind == "lexicon":
                info["lexicon_terms"] = len(tagger)
        aligned, counts = align_to_gold(raw, dataset.eval)
        mapped, mapped_counts = map_predictions_counted(
            aligned, spec.label_map_for(dataset.name), dataset.labels
        )
        if spec.kind != "predictions":
            # Copies tagged once (distinct_texts) each keep what their own tagging gave: not the
            # types asked for the other copies (false positives with mask_unannotated = false).
            mapped = [
                d.with_spans([s for s in d.spans if s.label not in extra]) if extra else d
                for d, extra in zip(mapped, widened_labels(dataset.eval), strict=True)
            ]
        info.update(counts)
        info.update(mapped_counts)
        info["spans"] = sum(len(d.spans) for d in mapped)
        return mapped, timing, info, tagger

    def _tag(self, tagger: Any, dataset: Dataset, bar: Any) -> tuple[list[Document], dict[str, Any]]:
        # Tag copies without the gold spans: a tagger must never see the answers. Each distinct
        # text once: MultiClinAI holds every note once per type folder.
        inputs = [replace(d, spans=[], metadata=dict(d.metadata)) for d in dataset.eval]
        task = None
        if bar is not None:
            task = bar.add_task(f"  tagging {dataset.name}", total=len(distinct_texts(inputs)[0]))
        t0 = time.perf_counter()
        out, unique = tag_distinct(tagger, inputs, None if task is None else lambda: bar.advance(task))
        seconds = time.perf_counter() - t0
        if task is not None:
            bar.remove_task(task)
        chars = sum(len(d.text) for d in unique)
        timing = {
            "seconds": round(seconds, 4),
            "documents": len(unique),
            "characters": chars,
            "documents_per_second": round(len(unique) / seconds, 1) if seconds else None,
            "characters_per_second": round(chars / seconds) if seconds else None,
        }
        if len(unique) != len(inputs):
            timing["document_copies"] = len(inputs)
        tokens = getattr(tagger, "tokens_seen", None)
        if isinstance(tokens, int) and tokens:
            timing["tokens"] = tokens
        return out, timing

    def _write_spans(
        self,
        path: Path,
        key: Mapping[str, str],
        docs: Sequence[Document],
        timing: Mapping[str, Any],
        info: Mapping[str, Any],
    ) -> None:
        data = {
            "cache_version": CACHE_VERSION,
            "key": {"tagger": key["tagger"], "dataset": key["dataset"]},
            "timing": dict(timing),
            "info": dict(info),
            "documents": [[d.id, [span_row(s) for s in d.spans]] for d in docs],
        }
        with atomic_write(path) as f:
            json.dump(data, f, ensure_ascii=False, separators=(",", ":"))

    def _read_spans(
        self, path: Path, key: Mapping[str, str], dataset: Dataset
    ) -> tuple[list[Document] | None, dict[str, Any], dict[str, Any]]:
        data = read_json(path)
        want = {"tagger": key["tagger"], "dataset": key["dataset"]}
        if data is None or data.get("cache_version") != CACHE_VERSION or data.get("key") != want:
            return None, {}, {}
        rows = data["documents"]
        if len(rows) != len(dataset.eval) or any(
            r[0] != d.id for r, d in zip(rows, dataset.eval, strict=True)
        ):
            return None, {}, {}
        docs = [
            d.with_spans(row_span(r, d.text) for r in spans)
            for (_, spans), d in zip(rows, dataset.eval, strict=True)
        ]
        return docs, dict(data.get("timing", {})), dict(data.get("info", {}))

    # -- scoring ---------------------------------------------------------------------------

    def _score(
        self,
        source: TaggerSource,
        tagger: Any,
        dataset: Dataset,
        predictions: list[Document],
        key: dict[str, str],
        timing: dict[str, Any],
        info: dict[str, Any],
    ) -> RunResult:
        from clinicalner.evaluate import score

        cfg = self.config
        t0 = time.perf_counter()
        report = score(
            dataset.eval,
            predictions,
            metrics=self.metric_names(),
            labels=list(dataset.labels),
            breakdowns=("label",),
            bootstrap=cfg.bootstrap,
            seed=cfg.seed,
            tokenize=source.tokenizer(tagger),
            mask_unannotated=cfg.mask_unannotated,
        )
        scoring_seconds = time.perf_counter() - t0
        scores = extract_scores(report, dataset.labels)
        timing = {**timing, "scoring_seconds": round(scoring_seconds, 4)}
        info = {**info, "tokenize": source.tokenize_name()}
        return RunResult(source.spec.name, dataset.name, key, scores, timing, info, report.to_dict())
