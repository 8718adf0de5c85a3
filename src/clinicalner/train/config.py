"""A training run described by one TOML file, saved beside the model it made.

Defaults are the settings ``clinicalner`` recommends (measured in BENCHMARKS.md); every
detail the MultiClinAI systems tuned is a field here, so a run is reproducible from its file.
"""

from __future__ import annotations

import os
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
    # A CRF per type: +12 strict F1 points over plain BIO heads on SpaCCC dev at equal epochs
    # (BENCHMARKS.md, ensembles), for up to a quarter more tagging time.
    crf: bool = True
    label_strategy: str = "first"
    class_weights: str = "sqrt_inverse"  # none | inverse | sqrt_inverse
    dropout: float = 0.1
    # Windows (subwords, including the two special tokens).
    max_length: int = 256
    # Step between sliding-window starts; overlap = window - stride. None (not given): 3/4 of
    # the window, 192 for 256 (see :func:`default_stride`).
    stride: int | None = None
    windows: str = "sentence"  # sentence | sliding | span_centred (one window per gold span, DT4H)
    # Optimisation. 1.5e-4 rather than the usual 5e-5: on SpaCCC, 15 epochs at 1.5e-4 scored
    # 0.657 macro strict on 150 notes no choice was made on, against 0.585 for 10 epochs at
    # 5e-5 (issue 17); the small encoder's curves were still rising at 5e-5. Validation picks
    # the epoch and ``patience`` ends a run that stopped improving.
    epochs: int = 15
    batch_size: int = 16
    grad_accum: int = 1
    learning_rate: float = 1.5e-4
    head_learning_rate: float = 1e-3
    weight_decay: float = 0.01
    warmup: float = 0.1
    max_grad_norm: float = 1.0
    freeze_embeddings: bool = True
    # Also keep all embeddings and the lowest N transformer layers fixed (0: none). For
    # transfer to languages without labels (issue 14); BENCHMARKS.md measures it.
    freeze_layers: int = 0
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
    # Selection discipline: this share of the training documents (by near-duplicate group,
    # seeded) is held out to choose the epoch; dev sets are only reported. 0 = no validation
    # split (then dev chooses, and the run records that it did).
    validation: float = 0.1
    # Stop after this many epochs without a better selection score (0 = run every epoch).
    patience: int = 3
    # Drop training documents that share more than a fifth of their word 12-grams with a dev
    # document: the public corpora reuse case reports (47 of SpaCCC's 60 dev notes are in
    # MultiClinAI's Spanish train set), and a model must not be scored on notes it read.
    exclude_dev_overlap: bool = True
    postprocess: bool = True
    # A trained clinicalner model folder whose weights start the run (same labels, scheme,
    # head and CRF): fine-tuning further, e.g. on pseudo-labels (``clinicalner self-train``).
    init_from: str = ""

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
        # Whether the stride was chosen (given, or kept from a config that had one): a chosen
        # stride stays when ``replace`` changes the window, a default one follows it.
        self._stride_given = self.stride is not None
        if self.stride is None:
            self.stride = default_stride(self.max_length)
        if not 0 < self.stride <= self.max_length - 2:
            raise ValueError(
                f"stride must be between 1 and max_length - 2 ({self.max_length - 2}), not {self.stride}"
            )
        if not 0 <= self.validation < 1:
            raise ValueError(f"validation must be a fraction in [0, 1), not {self.validation}")
        if self.patience < 0:
            raise ValueError(f"patience must be 0 (off) or more, not {self.patience}")
        if self.freeze_layers < 0:
            raise ValueError(f"freeze_layers must be 0 (none) or more, not {self.freeze_layers}")
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
        """A copy with the changes that are not None; they count as named by the user.

        A stride nobody named follows the window: ``max_length=128`` alone gets stride 96.
        """
        given = {k: v for k, v in changes.items() if v is not None}
        data = self.to_dict()
        data.update(given)
        if "stride" not in given and not self._stride_given:
            data["stride"] = None
        out = TrainConfig(**data)
        out._named = self._named | frozenset(given)
        return out

    def with_absolute_paths(self) -> TrainConfig:
        """The same config with corpora, dev, output and a local base model as absolute paths.

        What a model folder saves: its ``train_config.toml`` then works as ``--config`` from
        any folder, wherever the run was started.
        """
        out = self.replace(
            corpora=[_absolute(p) for p in self.corpora] or None,
            dev=[_absolute(p) for p in self.dev] or None,
            output=_absolute(self.output) if self.output else None,
            base_model=_absolute(self.base_model) if Path(self.base_model).expanduser().is_dir() else None,
        )
        out._named = self._named
        return out

    @classmethod
    def from_dict(
        cls, data: dict[str, Any], where: str = "<config>", base: str | Path | None = None
    ) -> TrainConfig:
        """A config from parsed TOML; relative paths in it are read from ``base``.

        ``base`` defaults to the folder of ``where`` when ``where`` names a file (the config
        file the data came from), else the current folder; see :func:`resolve_config_paths`.
        """
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise CorpusError(f"unknown training option(s): {', '.join(unknown)}", where)
        if base is None and Path(where).is_file():
            base = Path(where).parent
        resolved = resolve_config_paths(data, Path(base)) if base is not None else data
        out = cls(**resolved)
        out._named = frozenset(data)
        return out

    @classmethod
    def load(cls, path: str | Path) -> TrainConfig:
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise CorpusError(f"not valid TOML: {exc}", path) from None
        except FileNotFoundError:
            raise CorpusError("no such config file", path) from None
        data.pop(RUN_TABLE, None)  # a saved model's record of its run, not a setting
        data = data.get("train", data)
        return cls.from_dict(data, str(path), base=path.parent)


#: The overlap of sliding windows when only the window is given: 192 of 256 subwords.
DEFAULT_STRIDE_RATIO = 192 / 256


def default_stride(max_length: int) -> int:
    """The stride for a window nobody gave one for: 3/4 of it (192 for 256, 96 for 128).

    Why scale: a fixed 192 does not fit a 128-subword window, and the overlap that was
    measured (BENCHMARKS.md) is a share of the window; tune keeps the ratio the same way.
    """
    return max(1, min(max_length - 2, round(max_length * DEFAULT_STRIDE_RATIO)))


def _absolute(path: str) -> str:
    return os.path.abspath(Path(path).expanduser())


def resolve_config_paths(data: dict[str, Any], base: Path) -> dict[str, Any]:
    """``corpora``, ``dev`` and a local ``base_model`` of a config file, read from its folder.

    A relative path means relative to the config file (as in benchmark configs), so a config
    works from any current folder. A path that is not there but is found from the current
    folder is taken from there (configs written by earlier versions stored paths as typed); a
    path found nowhere is made relative to the config file, so the error names where it was
    looked for. A ``base_model`` is only a path when it exists there or starts with ``.`` or
    ``~``: else it is an encoder name (``multilingual-e5-small``, ``org/name``).
    """

    def one(value: Any) -> Any:
        if not isinstance(value, str) or not value:
            return value
        p = Path(value).expanduser()
        if p.is_absolute():
            return str(p)
        here = base / p
        if here.exists() or not p.exists():
            return os.path.abspath(here)
        return os.path.abspath(p)

    out = dict(data)
    for key in ("corpora", "dev"):
        if isinstance(out.get(key), list):
            out[key] = [one(v) for v in out[key]]
    model = out.get("base_model")
    if isinstance(model, str) and model:
        p = Path(model).expanduser()
        if not p.is_absolute() and ((base / p).is_dir() or model.startswith((".", "~"))):
            out["base_model"] = one(model)
    return out


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
