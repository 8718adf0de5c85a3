"""A classification run and a saved classifier, each described by plain data.

``ClassifyConfig`` is the run (one TOML file, saved beside the model as
``train_config.toml`` with a ``[run]`` table, so the model says how it was made and the
file works as ``--config`` for the next run). ``ClassifierConfig`` is what prediction needs
(``clinicalner.json`` in the model folder, with ``task = "classify"``, which is how a
classifier folder is told apart from a span tagger). Defaults follow DNT's recipe where it
fits a CPU: lr 5e-5, 256 subwords, best epoch on validation macro F1.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from clinicalner.errors import CorpusError
from clinicalner.train.config import RUN_TABLE, dumps_toml

TASK = "classify"
POOLINGS = ("cls", "mean")
KINDS = ("encoder", "tfidf", "llm")
#: ``--base-model tfidf`` trains the TF-IDF + logistic regression baseline instead of an encoder.
TFIDF = "tfidf"


@dataclass
class ClassifyConfig:
    corpora: list[str] = field(default_factory=list)
    dev: list[str] = field(default_factory=list)
    output: str = ""
    base_model: str = "multilingual-e5-small"
    pooling: str = "mean"  # mean | cls
    max_length: int = 256
    dropout: float = 0.1
    # Class imbalance: upsampling (["ADE=3"]: each ADE text 3 times an epoch) and/or loss weights.
    upsample: list[str] = field(default_factory=list)
    class_weights: str = "none"  # none | inverse | sqrt_inverse
    positive: str = ""  # the positive class of a binary task; "" = the rarer training class
    tune_threshold: bool = True  # choose the positive class's threshold on validation
    validation_fraction: float = 0.1  # held out of train, stratified by label x language, without dev
    # Optimisation.
    epochs: int = 5
    batch_size: int = 16
    grad_accum: int = 1
    learning_rate: float = 5e-5
    head_learning_rate: float = 1e-3
    weight_decay: float = 0.01
    warmup: float = 0.1
    max_grad_norm: float = 1.0
    freeze_embeddings: bool = True
    max_steps: int = 0  # 0 = no limit; for smoke runs
    # TF-IDF baseline (base_model = "tfidf").
    tfidf_ngrams: int = 2
    tfidf_c: list[float] = field(default_factory=lambda: [1.0, 4.0, 16.0])  # the best on validation is kept
    # Run.
    seed: int = 13
    threads: int = 0
    device: str = "auto"
    eval_batch_size: int = 64
    keep_best: bool = True

    def __post_init__(self) -> None:
        if self.pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, not {self.pooling!r}")
        if self.class_weights not in ("none", "inverse", "sqrt_inverse"):
            raise ValueError(
                f"class_weights must be none, inverse or sqrt_inverse, not {self.class_weights!r}"
            )
        if self.max_length < 8:
            raise ValueError("max_length must be at least 8 subwords")
        for name in ("epochs", "batch_size", "grad_accum", "eval_batch_size", "tfidf_ngrams"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if not 0.0 < self.validation_fraction < 1.0:
            raise ValueError("validation_fraction must be between 0 and 1")
        if not self.tfidf_c or any(c <= 0 for c in self.tfidf_c):
            raise ValueError("tfidf_c needs one or more positive values")
        from clinicalner.classify.split import parse_factors

        parse_factors(self.upsample)  # a malformed LABEL=FACTOR fails here, before any reading

    @property
    def is_tfidf(self) -> bool:
        return self.base_model == TFIDF

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_toml(self, run: dict[str, Any] | None = None) -> str:
        data = self.to_dict()
        if run:
            data[RUN_TABLE] = run
        return dumps_toml(data)

    def replace(self, **changes: Any) -> ClassifyConfig:
        """A copy with the changes that are not None."""
        data = self.to_dict()
        data.update({k: v for k, v in changes.items() if v is not None})
        return ClassifyConfig(**data)

    def with_absolute_paths(self) -> ClassifyConfig:
        def absolute(p: str) -> str:
            return str(Path(p).expanduser().resolve())

        local_model = not self.is_tfidf and Path(self.base_model).expanduser().is_dir()
        return self.replace(
            corpora=[absolute(p) for p in self.corpora],
            dev=[absolute(p) for p in self.dev],
            output=absolute(self.output) if self.output else None,
            base_model=absolute(self.base_model) if local_model else None,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "<config>") -> ClassifyConfig:
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise CorpusError(f"unknown classification option(s): {', '.join(unknown)}", where)
        return cls(**data)

    @classmethod
    def load(cls, path: str | Path) -> ClassifyConfig:
        """A config file (a saved ``train_config.toml`` too: its ``[run]`` table is skipped);
        relative corpus and output paths are read from the file's folder."""
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise CorpusError(f"not valid TOML: {exc}", path) from None
        except FileNotFoundError:
            raise CorpusError("no such config file", path) from None
        data.pop(RUN_TABLE, None)
        data = data.get("classify", data)
        for key in ("corpora", "dev"):
            if key in data:
                data[key] = [str((path.parent / p).resolve()) for p in data[key]]
        if data.get("output"):
            data["output"] = str((path.parent / data["output"]).resolve())
        return cls.from_dict(data, str(path))


@dataclass
class ClassifierConfig:
    """What a saved classifier needs to predict exactly as it was validated."""

    labels: list[str]
    kind: str = "encoder"  # encoder | tfidf | llm (an LLM is not saved: it is a served model)
    base_model: str = ""
    pooling: str = "mean"
    max_length: int = 256
    dropout: float = 0.1
    positive: str | None = None
    threshold: float | None = None  # P(positive) >= threshold predicts positive (binary tasks)
    train_languages: list[str] = field(default_factory=list)
    task: str = TASK

    def __post_init__(self) -> None:
        if len(self.labels) < 2:
            raise ValueError("a classifier needs at least two labels")
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {self.kind!r}")
        if self.pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, not {self.pooling!r}")
        if self.positive is not None and self.positive not in self.labels:
            raise ValueError(f"positive class {self.positive!r} is not one of {self.labels}")

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClassifierConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    @classmethod
    def load(cls, path: str | Path) -> ClassifierConfig:
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


def is_classifier_folder(path: str | Path) -> bool:
    """Whether ``path`` holds a saved classifier (its ``clinicalner.json`` says ``task = "classify"``)."""
    f = Path(path) / "clinicalner.json"
    if not f.is_file():
        return False
    try:
        return json.loads(f.read_text(encoding="utf-8")).get("task") == TASK
    except (ValueError, OSError):
        return False
