"""Hyper-parameter search with Optuna: TPE sampling, median pruning on the per-epoch dev F1.

The search is described in the same TOML file as a training run: a ``[train]`` table (the
fixed settings, with ``dev`` required) and a ``[search]`` table naming the space, e.g.::

    [search]
    learning_rate = { low = 1e-5, high = 1e-4, log = true }
    batch_size = [8, 16, 32]
    head = ["linear", "mlp"]
    crf = [true, false]
    epochs = { low = 3, high = 10 }

A list is a categorical choice; a table with ``low``/``high`` is an int range when both are
integers, else a float range (``log`` and ``step`` optional). The study lives in a database
(SQLite in the output folder by default; any SQLAlchemy URL lets several machines share it),
so an interrupted search resumes where it stopped.

When ``max_length`` is searched and ``stride`` is not, each trial's stride keeps the base
config's stride/window ratio (the default 192/256: a quarter of each window overlaps), so a
window size never meets a stride it cannot take. A sampled combination the training config
refuses (``label_strategy = "all"`` with ``BIOES``) prunes that trial, with the reason kept as
its ``invalid`` user attribute, and the study goes on.

The TPE sampler is seeded with ``seed`` plus the number of trials already in the study, so a
resumed search never proposes again what the first run tried. A study in a server database
(PostgreSQL, MySQL: a study shared between machines) is sampled unseeded instead: machines
joining together would otherwise see the same count and propose the same trials.
"""

from __future__ import annotations

import logging
import shutil
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from clinicalner.atomic import atomic_write
from clinicalner.errors import CorpusError
from clinicalner.extras import require
from clinicalner.train.config import TrainConfig

log = logging.getLogger(__name__)


@dataclass
class TuneResult:
    study_name: str
    storage: str
    best_value: float | None
    best_params: dict[str, Any]
    best_config: Path
    trials: int


def parse_space(space: dict[str, Any], where: str) -> dict[str, Any]:
    """Check the search table against TrainConfig fields, so a typo fails before any training."""
    names = {f.name for f in fields(TrainConfig)}
    for key, spec in space.items():
        if key not in names:
            raise CorpusError(f"[search] names {key!r}, which is not a training option", where)
        if isinstance(spec, list):
            if not spec:
                raise CorpusError(f"[search] {key}: empty list of choices", where)
        elif isinstance(spec, dict):
            if "low" not in spec or "high" not in spec:
                raise CorpusError(f"[search] {key}: a range needs low and high", where)
            if spec["low"] > spec["high"]:
                raise CorpusError(f"[search] {key}: low is above high", where)
        else:
            raise CorpusError(f"[search] {key}: give a list of choices or a {{low, high}} range", where)
    return space


def suggest(trial: Any, space: dict[str, Any]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for key, spec in space.items():
        if isinstance(spec, list):
            params[key] = trial.suggest_categorical(key, spec)
        elif isinstance(spec["low"], int) and isinstance(spec["high"], int) and not spec.get("log_float"):
            params[key] = trial.suggest_int(
                key, spec["low"], spec["high"], step=spec.get("step", 1), log=spec.get("log", False)
            )
        else:
            params[key] = trial.suggest_float(
                key,
                float(spec["low"]),
                float(spec["high"]),
                step=spec.get("step"),
                log=spec.get("log", False),
            )
    return params


def trial_config(base: TrainConfig, params: dict[str, Any], output: str) -> TrainConfig:
    """The training config of one trial; ``ValueError`` when the combination cannot train.

    A searched window size without a searched stride scales the stride with it (see the module
    docstring): the base stride fits the base window only.
    """
    params = dict(params)
    if "max_length" in params and "stride" not in params:
        ratio = base.stride / base.max_length
        window = int(params["max_length"])
        params["stride"] = max(1, min(window - 2, round(window * ratio)))
    return base.replace(output=output, **params)


def sampler_seed(seed: int, storage: str, trials_so_far: int) -> int | None:
    """``seed`` + trials already in the study; None (unseeded) for a shared server database."""
    if not storage.startswith("sqlite:"):
        return None
    return seed + trials_so_far


def tune(
    config: str | Path,
    trials: int = 20,
    storage: str | None = None,
    study_name: str | None = None,
    output: str | Path | None = None,
    seed: int = 0,
    keep_models: bool = False,
    progress: bool = True,
) -> TuneResult:
    """Run (or resume) a search; write ``best_config.toml`` ready for ``clinicalner train --config``."""
    require({"optuna": "tune", "torch": "train"}, "clinicalner tune")
    import optuna

    path = Path(config)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise CorpusError(f"not valid TOML: {exc}", path) from None
    base = TrainConfig.from_dict(data.get("train", {}), str(path))
    space = parse_space(data.get("search", {}), str(path))
    if not base.dev:
        raise CorpusError("[train] needs a dev corpus: trials are compared by dev strict F1", path)
    if not base.corpora:
        raise CorpusError("[train] needs corpora to train on", path)
    out = Path(output or base.output or f"{path.stem}-tune")
    out.mkdir(parents=True, exist_ok=True)
    storage = storage or f"sqlite:///{(out / 'study.db').resolve()}"
    study_name = study_name or path.stem

    from clinicalner.train.loop import load_corpora, train_model

    train_docs = load_corpora(base.corpora)
    dev_docs = [d for c in load_corpora(base.dev) for d in c]

    study = optuna.create_study(
        study_name=study_name,
        storage=storage,
        load_if_exists=True,
        direction="maximize",
        pruner=optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1),
    )
    study.sampler = optuna.samplers.TPESampler(seed=sampler_seed(seed, storage, len(study.trials)))

    def objective(trial: optuna.Trial) -> float:
        params = suggest(trial, space)
        trial_dir = out / "trials" / f"{trial.number:04d}"
        try:
            cfg = trial_config(base, params, str(trial_dir))
        except ValueError as exc:
            # Not a bad score: a combination that cannot train. Pruned, so the study goes on.
            trial.set_user_attr("invalid", str(exc))
            log.warning("trial %d: %s; pruned", trial.number, exc)
            raise optuna.TrialPruned(str(exc)) from None

        def report(epoch: int, metrics: dict[str, Any]) -> None:
            value = metrics.get("val_strict_f1", metrics.get("dev_strict_f1"))
            if value is None:
                return
            trial.report(value, epoch)
            if trial.should_prune():
                raise optuna.TrialPruned()

        try:
            result = train_model(
                cfg, progress=progress, on_epoch=report, train_docs=train_docs, dev_docs=dev_docs
            )
        finally:
            if not keep_models:
                shutil.rmtree(trial_dir, ignore_errors=True)
                from clinicalner.train.loop import checkpoint_dir

                shutil.rmtree(checkpoint_dir(trial_dir), ignore_errors=True)
        return float(result.best_f1 or 0.0)

    finished = len([t for t in study.trials if t.state.is_finished()])
    remaining = max(0, trials - finished)
    if remaining:
        study.optimize(objective, n_trials=remaining, gc_after_trial=True)
    best_trials = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    best_params = study.best_params if best_trials else {}
    best_value = study.best_value if best_trials else None
    best = trial_config(base, best_params, base.output)
    best_path = out / "best_config.toml"
    with atomic_write(best_path) as f:
        f.write(
            f"# best of {len(study.trials)} trials, dev strict F1 {best_value}\n[train]\n" + best.to_toml()
        )
    return TuneResult(study_name, storage, best_value, best_params, best_path, len(study.trials))
