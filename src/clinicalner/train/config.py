"""A training run described by one TOML file, saved beside the model it made.

Defaults are the settings ``clinicalner`` recommends (measured in BENCHMARKS.md); every
detail the MultiClinAI systems tuned is a field here, so a run is reproducible from its file.
"""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from clinicalner.errors import CorpusError

#: The table of a saved ``train_config.toml`` that records the run rather than configuring it.
RUN_TABLE = "run"


@dataclass
class TrainConfig:
    corpora: list[str] = field(default_factory=list)
    dev: list[str] = field(default_factory=list)
    output: str = ""
    base_model: str = "multilingual-e5-small"
    labels: list[str] = field(default_factory=list)
    corpus_weights: list[float] = field(default_factory=list)
    # Tagging scheme and network.
    scheme: str = "BIO"
    head: str = "linear"
    crf: bool = False
    label_strategy: str = "first"
    class_weights: str = "sqrt_inverse"  # none | inverse | sqrt_inverse
    dropout: float = 0.1
    # Windows (subwords, including the two special tokens).
    max_length: int = 256
    stride: int = 192  # step between sliding-window starts; overlap = window - stride
    windows: str = "sentence"  # sentence | sliding | span_centred (one window per gold span, DT4H)
    # Optimisation.
    epochs: int = 10
    batch_size: int = 16
    grad_accum: int = 1
    learning_rate: float = 5e-5
    head_learning_rate: float = 1e-3
    weight_decay: float = 0.01
    warmup: float = 0.1
    max_grad_norm: float = 1.0
    freeze_embeddings: bool = True
    max_steps: int = 0  # 0 = no limit; for smoke runs
    # Run.
    seed: int = 13
    threads: int = 0  # 0 = torch default
    device: str = "auto"
    mixed_precision: bool = (
        True  # bfloat16 autocast where the device has it natively (GPU, AVX512-BF16/AMX CPU)
    )
    eval_batch_size: int = 32  # windows per batch when scoring the dev set each epoch
    keep_best: bool = True
    postprocess: bool = True

    def __post_init__(self) -> None:
        if self.windows not in ("sentence", "sliding", "span_centred"):
            raise ValueError(f"windows must be 'sentence', 'sliding' or 'span_centred', not {self.windows!r}")
        if self.class_weights not in ("none", "inverse", "sqrt_inverse"):
            raise ValueError(
                f"class_weights must be none, inverse or sqrt_inverse, not {self.class_weights!r}"
            )
        if self.label_strategy not in ("first", "all"):
            raise ValueError(f"label_strategy must be 'first' or 'all', not {self.label_strategy!r}")
        if self.label_strategy == "all" and self.scheme == "BIOES":
            raise ValueError("label_strategy 'all' works with BIO or IO, not BIOES")
        if self.max_length < 8:
            raise ValueError("max_length must be at least 8 subwords")
        if not 0 < self.stride <= self.max_length - 2:
            raise ValueError(
                f"stride must be between 1 and max_length - 2 ({self.max_length - 2}), not {self.stride}"
            )
        for name in ("epochs", "batch_size", "grad_accum", "eval_batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.corpus_weights and len(self.corpus_weights) != len(self.corpora):
            raise ValueError("corpus_weights needs one weight per training corpus")
        # Fields the user named (a config file's keys, options given to ``api.train``); see
        # :meth:`ignored_settings`. Not a dataclass field: not saved, not compared.
        self._named: frozenset[str] = frozenset()

    def ignored_settings(self) -> list[str]:
        """Settings this run names that have no effect, each with the reason.

        With a CRF the loss is the CRF's negative log-likelihood over words (their first
        subwords): ``label_strategy = "all"`` labels continuation subwords nobody scores, and
        class weights have no place in a sequence likelihood. A value counts as named when it
        differs from the default or the user wrote it (``sqrt_inverse`` is the default, so a CRF
        run that never mentions class weights is not warned about).
        """
        if not self.crf:
            return []
        out = []
        if self.label_strategy == "all":
            out.append("label_strategy = 'all' (a CRF is trained on each word's first subword)")
        default_cw = next(f.default for f in fields(self) if f.name == "class_weights")
        if self.class_weights != "none" and (
            self.class_weights != default_cw or "class_weights" in self._named
        ):
            out.append(f"class_weights = {self.class_weights!r} (the CRF loss is not weighted)")
        return out

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_toml(self, run: dict[str, Any] | None = None) -> str:
        """The config as TOML; ``run`` (what the run gave: best epoch, dev F1, data fingerprint,
        versions, date) becomes a ``[run]`` table that :meth:`load` skips, so the file saved
        beside a model describes the run and still works as ``--config`` for the next one."""
        data = self.to_dict()
        if run:
            data[RUN_TABLE] = run
        return dumps_toml(data)

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with the changes that are not None; they count as named by the user."""
        given = {k: v for k, v in changes.items() if v is not None}
        data = self.to_dict()
        data.update(given)
        out = TrainConfig(**data)
        out._named = self._named | frozenset(given)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "<config>") -> TrainConfig:
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise CorpusError(f"unknown training option(s): {', '.join(unknown)}", where)
        out = cls(**data)
        out._named = frozenset(data)
        return out

    @classmethod
    def load(cls, path: str | Path) -> TrainConfig:
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise CorpusError(f"not valid TOML: {exc}", path) from None
        data.pop(RUN_TABLE, None)  # a saved model's record of its run, not a setting
        data = data.get("train", data)
        return cls.from_dict(data, str(path))


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'"{escaped}"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def dumps_toml(data: dict[str, Any]) -> str:
    """A small TOML writer (the standard library only reads TOML): scalars, lists, one level of tables."""
    lines = []
    tables = []
    for key, value in data.items():
        if isinstance(value, dict):
            tables.append((key, value))
        elif value is not None:
            lines.append(f"{key} = {_toml_value(value)}")
    for name, table in tables:
        lines.append(f"\n[{name}]")
        lines.extend(
            f"{k} = {_toml_value(v)}" for k, v in table.items() if v is not None and not isinstance(v, dict)
        )
    return "\n".join(lines) + "\n"
