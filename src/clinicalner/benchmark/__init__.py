"""Benchmarks: taggers × datasets, scored by every metric of the evaluator, ranked as M42 does.

``benchmark(config)`` reads a TOML config (see :mod:`clinicalner.benchmark.config`), builds
the datasets (built-in recipes with the M42 OMOP label mapping, or custom corpora), runs each
tagger on each dataset unless a cached run with the same fingerprints exists, and writes into
the output folder:

- ``leaderboard.md``, ``leaderboard.csv``, ``leaderboard.html`` (tables and plots, one file),
  ``leaderboard.json``, ``scores.csv`` (every run, metric and label) and ``entities.csv``;
- ``runs/<tagger>/<dataset>.json``: the evaluator's full report, timing and counts of one run,
  and ``runs/<tagger>/<dataset>.spans.json``: its predictions (offsets only), the cache;
- with ``export = true`` (off by default: they hold note text), ``runs/_gold/<dataset>.jsonl``
  (the scored gold, once per dataset) and ``runs/<tagger>/<dataset>.pred.jsonl``: what the run
  scored, which ``clinicalner evaluate`` scores to the same numbers with the command the run
  records (``info["evaluate_command"]``).

Only taggers with every dataset are ranked; see :mod:`clinicalner.benchmark.leaderboard`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from clinicalner.benchmark.config import BenchmarkConfig, ConfigError, DatasetSpec, TaggerSpec
from clinicalner.benchmark.datasets import (
    M42_DATASETS,
    RECIPES,
    Dataset,
    default_corpora_root,
    load_custom,
    load_recipe,
)
from clinicalner.benchmark.leaderboard import Leaderboard, dropped_span_notes
from clinicalner.benchmark.results import RunResult
from clinicalner.benchmark.runner import Runner
from clinicalner.extras import require

__all__ = [
    "M42_DATASETS",
    "RECIPES",
    "BenchmarkConfig",
    "ConfigError",
    "Dataset",
    "DatasetSpec",
    "Leaderboard",
    "RunResult",
    "Runner",
    "TaggerSpec",
    "benchmark",
    "build_dataset",
    "load_recipe",
]


def check_recipe(spec: DatasetSpec) -> str:
    """The built-in recipe a dataset entry names; a ConfigError (one line) when there is none."""
    recipe = spec.recipe or spec.name
    if recipe not in RECIPES:
        raise ConfigError(
            f"dataset {spec.name!r}: no built-in recipe {recipe!r} (built-in: {', '.join(RECIPES)}); "
            "give 'eval' (and 'train') for a corpus of your own"
        )
    return recipe


def build_dataset(spec: DatasetSpec, corpora: str | Path | None = None) -> Dataset:
    """The dataset a config entry names: a built-in recipe or a custom corpus."""
    if spec.eval is None:
        recipe = check_recipe(spec)
        dataset = load_recipe(recipe, corpora if corpora is not None else default_corpora_root())
        dataset.name = spec.name
        if spec.description:
            dataset.description = spec.description
        return dataset
    return load_custom(
        spec.name,
        spec.eval,
        train=spec.train,
        format=spec.format,
        label_map=spec.label_map,
        labels=spec.labels,
        drop_empty=spec.drop_empty,
        lenient=spec.lenient,
        language=spec.language,
        description=spec.description,
    )


def load_config(config: str | Path | BenchmarkConfig | Mapping[str, Any]) -> BenchmarkConfig:
    if isinstance(config, BenchmarkConfig):
        return config
    if isinstance(config, Mapping):
        return BenchmarkConfig.from_dict(config)
    return BenchmarkConfig.load(config)


def check_metrics(cfg: BenchmarkConfig) -> None:
    """Unknown metric names fail before any tagging, not after an hour of it."""
    from clinicalner.evaluate import METRICS

    named = [*cfg.leaderboard_metrics, *(cfg.metrics or [])]
    unknown = [m for m in dict.fromkeys(named) if m not in METRICS]
    if unknown:
        raise ConfigError(f"unknown metric(s) {unknown}; known: {', '.join(METRICS)}")


def benchmark(
    config: str | Path | BenchmarkConfig | Mapping[str, Any],
    output: str | Path | None = None,
    force: bool = False,
    progress: bool = True,
) -> Leaderboard:
    """Run a benchmark and write its leaderboard; see the module docstring.

    ``config``: a TOML path, a parsed dict or a :class:`BenchmarkConfig`. ``output``: the
    results folder (default: the config's ``output``, else ``<config>-results`` beside it).
    ``force``: ignore cached runs and tag everything again.
    """
    cfg = load_config(config)
    if cfg.html:
        # checked before any tagging: the page is written last
        require(
            {"matplotlib": "plots"},
            "the benchmark's leaderboard.html",
            "or set html = false under [benchmark]",
        )
    check_metrics(cfg)
    for spec in cfg.datasets:  # every name checked before any corpus is read
        if spec.eval is None:
            check_recipe(spec)
    out = Path(output) if output is not None else cfg.default_output()
    datasets = [build_dataset(spec, cfg.corpora) for spec in cfg.datasets]
    runner = Runner(cfg, datasets, out, force=force, progress=progress)
    runs = runner.run()
    notes = [f"{d.name}: {d.info['note']}" for d in datasets if d.info.get("note")]
    notes += [
        f"{t} × {d}: {r.info['incomplete']} (on_error = 'skip'); scored as found, not cached: "
        "the next run asks again."
        for (t, d), r in runs.items()
        if r.info.get("incomplete")
    ]
    notes += dropped_span_notes(runs, [t.name for t in cfg.taggers], [d.name for d in datasets])
    tokenizers = {s.spec.name: s.tokenize_name() for s in runner.sources.values()}
    if any(m.startswith("m42_token") for m in cfg.leaderboard_metrics):
        notes.append(
            "Token-level scores depend on the tokens text is cut into: "
            + ", ".join(f"{t}: {k}" for t, k in tokenizers.items())
            + " (M42 uses each model's own tokenizer, so its token scores compare models only roughly)."
        )
    board = Leaderboard(
        cfg.name,
        [t.name for t in cfg.taggers],
        [d.summary() for d in datasets],
        runs,
        cfg.rank_by,
        cfg.compare,
        notes=notes,
    )
    board.write(out)
    if cfg.html:
        from clinicalner.benchmark.html import write_html  # matplotlib: only when the page is asked for

        write_html(board, out / "leaderboard.html")
    return board
