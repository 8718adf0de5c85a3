"""The benchmark configuration: which taggers run on which datasets, scored how.

A TOML file (or a dict with the same keys) such as::

    [benchmark]
    name = "M42 English"
    corpora = "/data/corpora"          # optional; default $CLINICALNER_CORPORA, ../shared/corpora
    output = "results"                 # optional; default <config name>-results beside the file
    rank_by = "m42_token_macro"        # the metric that orders the leaderboard
    compare = ["nervaluate_0.1.8_ent_type", "strict"]   # shown with their rank change
    # metrics = [...]                  # evaluator metrics to compute (default: all)
    # skip_missing = true              # rank a predictions tagger that lacks some datasets
    # html = false                     # no HTML page (matplotlib not needed)
    # export = true                    # runs/_gold/<dataset>.jsonl + runs/<tagger>/<dataset>.pred.jsonl
    #                                  #   for `clinicalner evaluate` (off by default: they hold note text)

    [[datasets]]
    name = "ncbi-disease"              # a built-in recipe (see datasets.RECIPES)

    [[datasets]]
    name = "ward-notes"                # a custom corpus
    eval = "data/ward/dev"
    train = "data/ward/train"
    format = "brat"
    label_map = { Disease = "condition" }
    drop_empty = true

    [[taggers]]
    name = "lexicon"
    kind = "lexicon"                   # built from each dataset's training split
    min_count = 2

    [[taggers]]
    name = "my-model"
    kind = "model"
    path = "models/ner"
    label_map = { DISEASE = "condition" }

    [[taggers]]
    name = "gliner"
    kind = "predictions"               # predictions made elsewhere: <path>/<dataset>[.ext]
    path = "predictions/gliner"

Relative paths are resolved against the folder of the config file. Keys a tagger does not
know are passed to it as options (a lexicon's ``min_count``, an LLM's ``base_url``), so that
every setting that changes predictions is also part of the tagger's cache fingerprint.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

KINDS = ("model", "lexicon", "predictions", "llm")
DEFAULT_RANK_BY = "m42_token_macro"
DEFAULT_COMPARE = ("nervaluate_0.1.8_ent_type", "strict")

_TAGGER_KEYS = {
    "name",
    "kind",
    "path",
    "terms",
    "format",
    "label_map",
    "dataset_label_maps",
    "tokenize",
    "files",
}
_DATASET_KEYS = {
    "name",
    "recipe",
    "eval",
    "train",
    "format",
    "label_map",
    "labels",
    "drop_empty",
    "lenient",
    "language",
    "description",
}
_BENCH_KEYS = {
    "name",
    "corpora",
    "output",
    "rank_by",
    "compare",
    "metrics",
    "bootstrap",
    "seed",
    "mask_unannotated",
    "skip_missing",
    "html",
    "export",
}


class ConfigError(ValueError):
    """A configuration that cannot run; says which entry and key is wrong."""


@dataclass
class TaggerSpec:
    """One tagger of the benchmark.

    ``label_map`` renames the tagger's labels to the datasets' (all datasets);
    ``dataset_label_maps`` does it per dataset and wins over ``label_map`` (an empty table keeps
    the tagger's own labels on that dataset). ``tokenize`` picks
    the tokens of the token-level metrics: ``"model"`` (the model's own sub-words, as M42 does;
    the default for models), ``"words"`` (the toolkit's word splitter; the default otherwise),
    ``"gliner"`` (GLiNER's word regex) or a path to a ``tokenizer.json``.

    From Python, ``tagger`` may be an already built :class:`~clinicalner.predict.tagger.Tagger`
    (kind ``"object"``); ``fingerprint`` then names its identity for the cache.
    """

    name: str
    kind: str
    path: Path | None = None
    format: str | None = None
    files: dict[str, Path] = field(default_factory=dict)
    label_map: dict[str, str] | None = None
    dataset_label_maps: dict[str, dict[str, str]] = field(default_factory=dict)
    tokenize: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    tagger: Any = None
    fingerprint: str | None = None

    def label_map_for(self, dataset: str) -> dict[str, str] | None:
        """The map for ``dataset``: its own entry (``{}``: no renaming) when it has one, else
        ``label_map``."""
        if dataset in self.dataset_label_maps:
            return self.dataset_label_maps[dataset]
        return self.label_map


@dataclass
class DatasetSpec:
    """A built-in recipe (``recipe``, by default the name) or a custom corpus (``eval`` given)."""

    name: str
    recipe: str | None = None
    eval: Path | None = None
    train: Path | None = None
    format: str | None = None
    label_map: dict[str, str] | None = None
    labels: tuple[str, ...] | None = None
    drop_empty: bool = False
    lenient: bool = False
    language: str | None = None
    description: str = ""


@dataclass
class BenchmarkConfig:
    name: str = "benchmark"
    taggers: list[TaggerSpec] = field(default_factory=list)
    datasets: list[DatasetSpec] = field(default_factory=list)
    corpora: Path | None = None
    output: Path | None = None
    rank_by: str = DEFAULT_RANK_BY
    compare: tuple[str, ...] = DEFAULT_COMPARE
    metrics: list[str] | None = None
    bootstrap: int = 0
    seed: int = 0
    mask_unannotated: bool = True
    skip_missing: bool = False
    html: bool = True
    export: bool = False  # opt-in: the exported JSONL holds note text (see export_paths)
    source: Path | None = None

    @property
    def leaderboard_metrics(self) -> tuple[str, ...]:
        return (self.rank_by, *[m for m in self.compare if m != self.rank_by])

    @classmethod
    def load(cls, path: str | Path) -> BenchmarkConfig:
        path = Path(path)
        try:
            with path.open("rb") as f:
                data = tomllib.load(f)
        except FileNotFoundError:
            raise ConfigError(f"{path}: config file not found") from None
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{path}: not valid TOML: {e}") from None
        config = cls.from_dict(data, base=path.resolve().parent, where=str(path))
        config.source = path.resolve()
        if config.name == "benchmark" and "name" not in data.get("benchmark", {}):
            config.name = path.stem
        return config

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], base: str | Path | None = None, where: str = "config"
    ) -> BenchmarkConfig:
        """Build from parsed TOML; relative paths resolve against ``base`` (default: cwd)."""
        root = Path(base) if base is not None else Path.cwd()
        unknown = set(data) - {"benchmark", "taggers", "datasets"}
        if unknown:
            raise ConfigError(
                f"{where}: unknown section(s) {sorted(unknown)}; expected benchmark, taggers, datasets"
            )
        bench = dict(data.get("benchmark", {}))
        _check_keys(bench, _BENCH_KEYS, f"{where}: [benchmark]")
        taggers = [_tagger(t, root, f"{where}: taggers[{i}]") for i, t in enumerate(data.get("taggers", []))]
        datasets = [
            _dataset(d, root, f"{where}: datasets[{i}]") for i, d in enumerate(data.get("datasets", []))
        ]
        if not taggers:
            raise ConfigError(f"{where}: no [[taggers]]")
        if not datasets:
            raise ConfigError(f"{where}: no [[datasets]]")
        _unique([t.name for t in taggers], f"{where}: tagger")
        _unique([d.name for d in datasets], f"{where}: dataset")
        names = {d.name for d in datasets}
        for t in taggers:
            # a misspelt dataset name would leave its map unused and label_map in force, silently
            unknown_maps = sorted(set(t.dataset_label_maps) - names)
            if unknown_maps:
                raise ConfigError(
                    f"{where}: tagger {t.name!r}: dataset_label_maps names no dataset of this "
                    f"benchmark: {', '.join(unknown_maps)} (datasets: {', '.join(sorted(names))})"
                )
        compare = bench.get("compare", list(DEFAULT_COMPARE))
        if isinstance(compare, str):
            compare = [compare]
        metrics = bench.get("metrics")
        return cls(
            name=str(bench.get("name", "benchmark")),
            taggers=taggers,
            datasets=datasets,
            corpora=_path(bench.get("corpora"), root),
            output=_path(bench.get("output"), root),
            rank_by=str(bench.get("rank_by", DEFAULT_RANK_BY)),
            compare=tuple(str(m) for m in compare),
            metrics=[str(m) for m in metrics] if metrics is not None else None,
            bootstrap=int(bench.get("bootstrap", 0)),
            seed=int(bench.get("seed", 0)),
            mask_unannotated=bool(bench.get("mask_unannotated", True)),
            skip_missing=bool(bench.get("skip_missing", False)),
            html=bool(bench.get("html", True)),
            export=bool(bench.get("export", False)),
        )

    def default_output(self) -> Path:
        if self.output is not None:
            return self.output
        if self.source is not None:
            return self.source.parent / f"{self.source.stem}-results"
        return Path.cwd() / f"{self.name}-results"


def _check_keys(entry: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = set(entry) - allowed
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(allowed)}")


def _unique(names: list[str], what: str) -> None:
    seen: set[str] = set()
    for n in names:
        if n in seen:
            raise ConfigError(f"{what} name {n!r} is used twice")
        seen.add(n)


def _path(value: Any, root: Path) -> Path | None:
    if value is None:
        return None
    p = Path(str(value)).expanduser()
    return p if p.is_absolute() else root / p


def _str_map(value: Any, where: str) -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping) or not all(isinstance(v, str) for v in value.values()):
        raise ConfigError(f'{where}: expected a table of label = "label"')
    return {str(k): v for k, v in value.items()}


def _tagger(entry: Mapping[str, Any], root: Path, where: str) -> TaggerSpec:
    if not isinstance(entry, Mapping):
        raise ConfigError(f"{where}: expected a table")
    name, kind = entry.get("name"), entry.get("kind")
    if not name:
        raise ConfigError(f"{where}: 'name' is required")
    if kind not in KINDS:
        raise ConfigError(f"{where} ({name}): kind must be one of {KINDS}, not {kind!r}")
    path = _path(entry.get("path", entry.get("terms")), root)
    if kind in ("model", "predictions") and path is None and not entry.get("files"):
        raise ConfigError(f"{where} ({name}): a {kind} tagger needs 'path'")
    files = {str(k): p for k, v in dict(entry.get("files", {})).items() if (p := _path(v, root)) is not None}
    maps = entry.get("dataset_label_maps", {})
    if not isinstance(maps, Mapping):
        raise ConfigError(f"{where} ({name}): dataset_label_maps must be a table of tables")
    options = {k: v for k, v in entry.items() if k not in _TAGGER_KEYS}
    return TaggerSpec(
        name=str(name),
        kind=str(kind),
        path=path,
        format=entry.get("format"),
        files=files,
        label_map=_str_map(entry.get("label_map"), f"{where} ({name}): label_map"),
        # An empty table is kept: it means "this dataset takes the tagger's own labels" and must
        # win over label_map (dropping it let the global map throw those spans away).
        dataset_label_maps={
            str(d): _str_map(v, f"{where} ({name}): dataset_label_maps.{d}") or {} for d, v in maps.items()
        },
        tokenize=_tokenize(entry.get("tokenize"), root),
        options=options,
    )


def _tokenize(value: Any, root: Path) -> str | None:
    """A tokenizer file or folder named relative to the config resolves against it, like every
    path; a keyword, a regex or a hub id stays as it is."""
    if value is None:
        return None
    text = str(value)
    if text in ("words", "gliner", "model") or text.startswith("re:"):
        return text
    path = _path(text, root)
    return str(path) if path is not None and path.exists() else text


def _dataset(entry: Mapping[str, Any] | str, root: Path, where: str) -> DatasetSpec:
    if isinstance(entry, str):
        return DatasetSpec(name=entry, recipe=entry)
    if not isinstance(entry, Mapping) or not entry.get("name"):
        raise ConfigError(f"{where}: expected a table with a 'name'")
    _check_keys(entry, _DATASET_KEYS, f"{where} ({entry['name']})")
    eval_path = _path(entry.get("eval"), root)
    recipe = entry.get("recipe")
    if eval_path is None and recipe is None:
        recipe = entry["name"]
    if eval_path is not None and recipe is not None:
        raise ConfigError(f"{where} ({entry['name']}): give either 'recipe' or 'eval', not both")
    labels = entry.get("labels")
    return DatasetSpec(
        name=str(entry["name"]),
        recipe=recipe,
        eval=eval_path,
        train=_path(entry.get("train"), root),
        format=entry.get("format"),
        label_map=_str_map(entry.get("label_map"), f"{where} ({entry['name']}): label_map"),
        labels=tuple(labels) if labels is not None else None,
        drop_empty=bool(entry.get("drop_empty", False)),
        lenient=bool(entry.get("lenient", False)),
        language=entry.get("language"),
        description=str(entry.get("description", "")),
    )
