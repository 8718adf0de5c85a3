"""The training loop: seeded, resumable, with a progress bar and per-epoch dev scoring.

Why these choices:
- Per-epoch dev strict F1 with our own evaluator, best epoch kept: MultiClinAI is scored
  by strict F1, and loss is a poor proxy for exact span edges.
- Checkpoints at epoch ends hold the model, the optimiser and the RNG state; batches are
  drawn from ``seed + epoch``, so a resumed run retraces an uninterrupted one exactly.
- Word embeddings frozen by default: they are most of a multilingual encoder's
  parameters and most of AdamW's time on a CPU, and fine-tuning them on a few hundred
  documents rarely helps.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from clinicalner.document import Document
from clinicalner.train.checkpoint import (
    check_output,
    check_resumable,
    checkpoint_dir,
    load_checkpoint,
    save_checkpoint,
    versions,
)
from clinicalner.train.config import TrainConfig

log = logging.getLogger(__name__)


@dataclass
class TrainResult:
    output: Path
    best_epoch: int
    best_f1: float | None
    history: list[dict[str, Any]] = field(default_factory=list)
    train_tokens_per_second: float = 0.0
    selected_on: str = "last"  # val, dev or last: what chose best_epoch


def fingerprint(docs: Sequence[Document]) -> str:
    """A hash of ids, texts and spans: two runs on the same data say so."""
    h = hashlib.sha256()
    for d in docs:
        h.update(d.id.encode())
        h.update(hashlib.sha256(d.text.encode()).digest())
        for s in d.sorted_spans():
            h.update(f"{s.start}:{s.end}:{s.label};".encode())
    return h.hexdigest()[:16]


def load_corpora(paths: Sequence[str], lenient: bool = False) -> list[list[Document]]:
    from clinicalner.io import read_corpus

    return [read_corpus(p, lenient=lenient).documents for p in paths]


def _epoch_order(
    examples: Sequence[Any], weights: Sequence[float], seed: int, epoch: int, batch_size: int
) -> list[list[int]]:
    """Batches for one epoch: corpus-weighted sampling, then length-bucketed shuffled batches."""
    rng = np.random.default_rng([seed, epoch])
    sources = np.asarray([ex.source for ex in examples])
    chosen: list[np.ndarray] = []
    for s, w in enumerate(weights):
        idx = np.nonzero(sources == s)[0]
        if idx.size == 0 or w <= 0:
            continue
        whole, frac = math.floor(w), w - math.floor(w)
        chosen.extend([idx] * whole)
        if frac > 0:
            chosen.append(rng.choice(idx, size=max(1, round(frac * idx.size)), replace=False))
    order = np.concatenate(chosen) if chosen else np.zeros(0, dtype=np.int64)
    rng.shuffle(order)
    lengths = np.asarray([len(examples[i].ids) for i in order])
    batches: list[list[int]] = []
    bucket = batch_size * 32
    for a in range(0, len(order), bucket):
        part = order[a : a + bucket]
        part = part[np.argsort(lengths[a : a + bucket], kind="stable")]
        batches.extend(part[b : b + batch_size].tolist() for b in range(0, len(part), batch_size))
    perm = rng.permutation(len(batches))
    return [batches[i] for i in perm]


def train_model(
    config: TrainConfig,
    *,
    resume: bool = False,
    progress: bool = True,
    on_epoch: Callable[[int, dict[str, Any]], None] | None = None,
    train_docs: Sequence[Sequence[Document]] | None = None,
    dev_docs: Sequence[Document] | None = None,
) -> TrainResult:
    """Fit a model as ``config`` says and save the best epoch to ``config.output``.

    ``train_docs``/``dev_docs`` bypass reading ``config.corpora``/``config.dev`` (the API and
    tests pass documents directly). ``on_epoch(epoch, metrics)`` may raise to stop early
    (the hyper-parameter search prunes trials that way).
    """
    import torch
    from rich.console import Console

    from clinicalner.encoders import resolve_encoder
    from clinicalner.model.config import ModelConfig
    from clinicalner.model.inputs import encode_documents, special_ids
    from clinicalner.model.loss import joint_loss
    from clinicalner.model.store import build_model, save_model
    from clinicalner.predict.engine import TransformerTagger, pick_device
    from clinicalner.train.examples import (
        annotating_documents,
        build_examples,
        class_weights,
        collate,
        merge_documents,
    )
    from clinicalner.train.optim import build_optimizer, linear_schedule, optimizer_step

    if not config.output:
        raise ValueError("an output folder is required")
    output = Path(config.output).resolve()
    check_output(output)
    ckpt = checkpoint_dir(output)
    if resume:
        check_resumable(output, ckpt)
    for setting in config.ignored_settings():
        log.warning("crf = true: %s has no effect", setting)
    if config.threads > 0:
        torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    # Device and encoder first: a missing GPU or a mistyped encoder name fails in one line,
    # before minutes of reading and encoding corpora.
    device = pick_device(config.device)
    base = resolve_encoder(config.base_model)

    corpora = [list(c) for c in train_docs] if train_docs is not None else load_corpora(config.corpora)
    if not corpora or not any(corpora):
        raise ValueError("no training documents")
    dev = list(dev_docs) if dev_docs is not None else [d for c in load_corpora(config.dev) for d in c]
    all_docs = [d for c in corpora for d in c]
    labels = list(config.labels) or sorted({s.label for d in all_docs for s in d.spans})
    if not labels:
        raise ValueError("the training documents have no spans")

    mconfig = ModelConfig(
        labels=labels,
        scheme=config.scheme,
        head=config.head,
        crf=config.crf,
        label_strategy=config.label_strategy,
        base_model=config.base_model,
        max_length=config.max_length,
        stride=config.stride,
        windows=config.windows,
        dropout=config.dropout,
    )
    model, tokenizer = build_model(mconfig, base)
    if config.init_from:
        init_weights(model, Path(config.init_from), mconfig)
    if config.freeze_embeddings:
        model.freeze_word_embeddings()
    if config.freeze_layers:
        model.freeze_lower_layers(config.freeze_layers)
    model.to(device)

    # Examples: merge per-type copies within each corpus, drop documents that annotate none
    # of the trained labels (they would only make windows without a loss), encode once, cut
    # into windows.
    merged = [merge_documents(c) for c in corpora]
    docs = [d for c in merged for d in c]
    sources = [k for k, c in enumerate(merged) for _ in c]
    keep = annotating_documents(docs, labels)
    skipped = len(docs) - len(keep)
    if skipped:
        log.info("%d of %d training documents annotate none of %s: skipped", skipped, len(docs), labels)
        if progress:
            print_line(
                Console(),
                f"skipped {skipped} of {len(docs)} training documents: they annotate none of {', '.join(labels)}",
            )
    if not keep:
        raise ValueError(f"no training document annotates any of the labels {', '.join(labels)}")
    docs = [docs[i] for i in keep]
    sources = [sources[i] for i in keep]
    docs, sources, validation, held, excluded = _hold_out(config, docs, sources, dev)
    held_ids = {
        "validation_documents": [d.id for d in validation],
        "excluded_dev_overlap_documents": excluded,
    }
    # What chooses the epoch: validation, else dev; nothing when every epoch replaces the last.
    selection = ("val" if validation else ("dev" if dev else None)) if config.keep_best else None
    if progress:
        Console().print(_split_line(held, len(docs), len(validation), selection))
    encoded = encode_documents(docs, tokenizer)
    specials = special_ids(tokenizer)
    examples = build_examples(
        encoded,
        labels,
        config.scheme,
        mconfig.tags,
        max_length=config.max_length,
        stride=config.stride,
        windows=config.windows,
        label_strategy=config.label_strategy,
        specials=specials,
        sources=sources,
    )
    weights = list(config.corpus_weights) or [1.0] * len(corpora)
    cw = class_weights(examples, len(labels), len(mconfig.tags), config.class_weights)
    cw_t = torch.tensor(cw, device=device) if cw is not None else None

    optimizer, base_lrs = build_optimizer(
        model, config.learning_rate, config.head_learning_rate, config.weight_decay
    )
    batches_per_epoch = len(_epoch_order(examples, weights, config.seed, 0, config.batch_size))
    steps_per_epoch = max(1, math.ceil(batches_per_epoch / config.grad_accum))
    total_steps = steps_per_epoch * config.epochs
    if config.max_steps:
        total_steps = min(total_steps, config.max_steps)
    warmup_steps = int(config.warmup * total_steps)

    lr_factor = linear_schedule(total_steps, warmup_steps)

    start_epoch, step, history = 0, 0, []
    best_f1: float | None = None
    best_epoch = -1
    data_fp = fingerprint([*docs, *validation])
    run_key = _run_key(config, data_fp)
    if resume and (ckpt / "state.json").is_file():
        start_epoch, step, history, best_f1, best_epoch = load_checkpoint(ckpt, model, optimizer, run_key)

    from clinicalner.model.precision import autocast, resolve_precision

    precision = resolve_precision("auto" if config.mixed_precision else "fp32", device)
    pad_id = specials[2]
    tagger = TransformerTagger(
        model,
        tokenizer,
        device=device,
        postprocess=config.postprocess,
        batch_tokens=config.eval_batch_size * config.max_length,
        precision=precision,
    )
    tokens_total, time_total = 0, 0.0
    stopped = False

    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    columns = [
        TextColumn("[bold]epoch {task.fields[epoch]}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} steps"),
        TextColumn("loss {task.fields[loss]:.4f}"),
        TextColumn("{task.fields[tps]:.0f} tok/s"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    ]
    with Progress(*columns, disable=not progress, transient=False) as bar:
        task = bar.add_task(
            "train", total=total_steps, completed=step, epoch=start_epoch + 1, loss=0.0, tps=0.0
        )
        for epoch in range(start_epoch, config.epochs):
            if stopped:
                break
            model.train()
            batches = _epoch_order(examples, weights, config.seed, epoch, config.batch_size)
            losses: list[float] = []
            t0 = time.perf_counter()
            tokens_epoch = 0
            optimizer.zero_grad(set_to_none=True)
            for bi, idx in enumerate(batches):
                arrays = collate([examples[i] for i in idx], pad_id, device, config.max_length)
                batch = {k: torch.from_numpy(v).to(device) for k, v in arrays.items()}
                with autocast(precision, device):
                    em = model(batch["input_ids"], batch["attention_mask"])
                loss = joint_loss(model, em.float(), batch, cw_t) / config.grad_accum
                loss.backward()
                tokens_epoch += int(arrays["attention_mask"].sum())
                losses.append(float(loss.detach()) * config.grad_accum)
                if (bi + 1) % config.grad_accum == 0 or bi + 1 == len(batches):
                    optimizer_step(
                        optimizer,
                        base_lrs,
                        lr_factor(step),
                        [p for p in model.parameters() if p.requires_grad],
                        config.max_grad_norm,
                    )
                    step += 1
                    elapsed = time.perf_counter() - t0
                    bar.update(
                        task,
                        completed=step,
                        epoch=epoch + 1,
                        loss=float(np.mean(losses[-20:])),
                        tps=tokens_epoch / max(elapsed, 1e-9),
                    )
                    if config.max_steps and step >= config.max_steps:
                        stopped = True
                        break
            epoch_time = time.perf_counter() - t0
            tokens_total += tokens_epoch
            time_total += epoch_time
            metrics: dict[str, Any] = {
                "epoch": epoch + 1,
                "step": step,
                "loss": float(np.mean(losses)) if losses else None,
                "train_tokens_per_second": round(tokens_epoch / max(epoch_time, 1e-9), 1),
                "seconds": round(epoch_time, 2),
            }
            improved = True
            model.eval()
            if validation:
                metrics.update(_score_dev(tagger, validation, labels, prefix="val"))
            if dev:
                metrics.update(_score_dev(tagger, dev, labels, prefix="dev"))
            if selection:
                improved = best_f1 is None or metrics[f"{selection}_strict_f1"] > best_f1
            history.append(metrics)
            if improved or not config.keep_best:
                best_f1 = metrics.get(f"{selection}_strict_f1") if selection else None
                best_epoch = epoch + 1
                run_info = {
                    "selected_on": selection or "last",
                    **held,
                    "validation_documents": len(validation),
                }
                _save(
                    save_model,
                    model,
                    tokenizer,
                    output,
                    config,
                    history,
                    best_epoch,
                    data_fp,
                    labels,
                    run_info,
                    held_ids,
                    base,
                )
            else:
                _update_metrics(output, history, best_epoch)
            if config.patience and selection and epoch + 1 - best_epoch >= config.patience:
                stopped = True  # early stop: no better selection score for `patience` epochs
            if epoch + 1 < config.epochs and not stopped:
                save_checkpoint(
                    ckpt, model, optimizer, epoch + 1, step, history, best_f1, best_epoch, run_key
                )
            if progress:
                print_line(bar.console, _epoch_line(metrics))
            if on_epoch is not None:
                on_epoch(epoch + 1, metrics)
    if ckpt.exists():
        import shutil

        shutil.rmtree(ckpt, ignore_errors=True)
    return TrainResult(
        output=output,
        best_epoch=best_epoch,
        best_f1=best_f1,
        history=history,
        train_tokens_per_second=tokens_total / max(time_total, 1e-9),
        selected_on=selection or "last",
    )


def print_line(console: Any, text: str) -> None:
    """One status line, never wrapped: rich wraps at 80 columns when output goes to a file, which
    cut epoch lines mid-field (``dev strict F1`` on one line, its number on the next)."""
    console.print(text, soft_wrap=True, highlight=False, markup=False)


def _epoch_line(m: dict[str, Any]) -> str:
    parts = [f"epoch {m['epoch']}", f"loss {m['loss']:.4f}" if m.get("loss") is not None else ""]
    for prefix, name in (("val", "val"), ("dev", "dev")):
        if f"{prefix}_strict_f1" in m:
            parts.append(f"{name} strict F1 {m[f'{prefix}_strict_f1']:.4f}")
            parts.extend(
                f"{k[len(prefix) + 1 : -3]} {v:.4f}"
                for k, v in m.items()
                if k.startswith(f"{prefix}_") and k.endswith("_f1") and k != f"{prefix}_strict_f1"
            )
    parts.append(f"{m['train_tokens_per_second']:.0f} tok/s")
    return " | ".join(p for p in parts if p)


def _hold_out(
    config: TrainConfig, docs: list[Document], sources: list[int], dev: Sequence[Document]
) -> tuple[list[Document], list[int], list[Document], dict[str, int], list[str]]:
    """(training documents, their sources, validation documents, counts, ids of the excluded
    documents) after the two
    hold-outs: training documents overlapping a dev document are dropped, then the validation
    split is carved from what is left (see :mod:`clinicalner.train.split`)."""
    from clinicalner.text.overlap import overlapping
    from clinicalner.train.split import validation_split

    held = {"excluded_dev_overlap": 0}
    excluded: list[str] = []
    if config.exclude_dev_overlap and dev:
        hit = overlapping([d.text for d in docs], [d.text for d in dev])
        excluded = [d.id for d, h in zip(docs, hit, strict=True) if h]
        held["excluded_dev_overlap"] = sum(hit)
        if held["excluded_dev_overlap"]:
            log.info(
                "%d training documents overlap the dev documents: excluded", held["excluded_dev_overlap"]
            )
        docs = [d for d, h in zip(docs, hit, strict=True) if not h]
        sources = [s for s, h in zip(sources, hit, strict=True) if not h]
        if not docs:
            raise ValueError(
                "every training document overlaps a dev document: nothing left to train on "
                "(--keep-dev-overlap / exclude_dev_overlap=False trains on them anyway)"
            )
    train_idx, val_idx = validation_split([d.text for d in docs], sources, config.validation, config.seed)
    return (
        [docs[i] for i in train_idx],
        [sources[i] for i in train_idx],
        [docs[i] for i in val_idx],
        held,
        excluded,
    )


def _split_line(held: dict[str, int], n_train: int, n_val: int, selection: str | None) -> str:
    chooses = {"val": "validation chooses the epoch", "dev": "dev chooses the epoch (no validation split)"}
    parts = [f"{n_train} training documents", f"{n_val} validation"]
    if held["excluded_dev_overlap"]:
        parts.append(f"{held['excluded_dev_overlap']} excluded (they overlap dev)")
    return ", ".join(parts) + "; " + chooses.get(selection or "", "the last epoch is kept")


def _score_dev(
    tagger: Any, dev: Sequence[Document], labels: Sequence[str], prefix: str = "dev"
) -> dict[str, float]:
    from clinicalner.evaluate import score
    from clinicalner.predict.stream import tag_distinct

    t0 = time.perf_counter()
    pred, _ = tag_distinct(tagger, dev)
    seconds = time.perf_counter() - t0
    report = score(dev, pred, metrics=["strict"], labels=list(labels), breakdowns=("label",))
    out = {
        f"{prefix}_strict_f1": round(report.metric("strict").f1, 4),
        f"{prefix}_tag_seconds": round(seconds, 2),
    }
    for label in labels:
        m = report.breakdowns.get("label", {}).get(label, {}).get("strict")
        if m is not None:
            out[f"{prefix}_{label}_f1"] = round(m.f1, 4)
    return out


def _save(
    save_model: Any,
    model: Any,
    tokenizer: Any,
    output: Path,
    config: TrainConfig,
    history: list[dict[str, Any]],
    best_epoch: int,
    data_fp: str,
    labels: list[str],
    run_info: dict[str, Any],
    held_ids: dict[str, list[str]],
    base: str,
) -> None:
    import datetime

    # Absolute paths: the saved config works as --config from any folder.
    saved = config.with_absolute_paths().replace(labels=labels)
    best = next((h for h in history if h["epoch"] == best_epoch), {})
    run = {
        "best_epoch": best_epoch,
        **run_info,
        **{f"best_{k}": best[k] for k in ("val_strict_f1", "dev_strict_f1") if k in best},
        "data_fingerprint": data_fp,
        **{f"{name}_version": version for name, version in versions().items()},
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
    save_model(
        model,
        tokenizer,
        output,
        extra_files={
            "train_config.toml": saved.to_toml(run=run),
            "metrics.json": {"best_epoch": best_epoch, "history": history},
            "provenance.json": {
                "data_fingerprint": data_fp,
                "versions": versions(),
                "corpora": saved.corpora,
                "dev": saved.dev,
                # Which documents the run held out: a later choice (post-processing, a
                # threshold) is made on the same validation notes, never on dev.
                **held_ids,
            },
        },
        # Frozen embeddings stay in the base encoder: the name given, and the folder it resolved to.
        base_model=config.base_model,
        base_folder=base if Path(base).is_dir() else None,
    )


def _update_metrics(output: Path, history: list[dict[str, Any]], best_epoch: int) -> None:
    from clinicalner.atomic import atomic_write

    if output.is_dir():
        with atomic_write(output / "metrics.json") as f:
            json.dump({"best_epoch": best_epoch, "history": history}, f, indent=2)


# Settings that may change between a crash and --resume without changing the run.
_RESUME_FREE = {"threads", "device", "eval_batch_size", "corpora", "dev", "output", "keep_best", "patience"}


def _run_key(config: TrainConfig, data_fp: str) -> dict[str, Any]:
    data = {k: v for k, v in config.to_dict().items() if k not in _RESUME_FREE}
    return {"data": data_fp, "config": json.loads(json.dumps(data))}


@dataclass
class HeldOut:
    """A trained model's documents as its run divided them (see :func:`held_out_documents`)."""

    train: list[Document]
    validation: list[Document]
    excluded: list[Document]


def held_out_documents(model_dir: str | Path) -> HeldOut:
    """Rebuild the training, validation and dev-overlap-excluded documents of a finished run.

    From the run's ``train_config.toml`` (corpora, dev, labels, seed, split settings), with the
    same functions the run used, so a later choice (post-processing, a threshold, a lexicon's
    minimum count) is made on the notes that chose the epoch and never on dev. When the model
    folder lists the held-out ids, the rebuilt split is checked against them.
    """
    from clinicalner.train.examples import annotating_documents, merge_documents

    model_dir = Path(model_dir)
    config = TrainConfig.load(model_dir / "train_config.toml")
    corpora = load_corpora(config.corpora)
    dev = [d for c in load_corpora(config.dev) for d in c]
    merged = [merge_documents(c) for c in corpora]
    docs = [d for c in merged for d in c]
    sources = [k for k, c in enumerate(merged) for _ in c]
    keep = annotating_documents(docs, config.labels)
    docs, sources = [docs[i] for i in keep], [sources[i] for i in keep]
    every = {d.id: d for d in docs}
    train, _, validation, _, excluded = _hold_out(config, docs, sources, dev)
    provenance = model_dir / "provenance.json"
    saved = json.loads(provenance.read_text(encoding="utf-8")) if provenance.is_file() else {}
    if "validation_documents" in saved and sorted(saved["validation_documents"]) != sorted(
        d.id for d in validation
    ):
        raise ValueError(f"{model_dir}: the rebuilt validation split differs from the one the run recorded")
    return HeldOut(train, validation, [every[i] for i in excluded])


def init_weights(model: Any, folder: Path, mconfig: Any) -> None:
    """Start ``model`` from a trained model folder's weights (``init_from``): the network must
    be the same (labels, scheme, head, CRF), else a ``ValueError`` names what differs."""
    from clinicalner.model.config import ModelConfig
    from clinicalner.model.store import MODEL_CONFIG, load_weights

    if not (folder / MODEL_CONFIG).is_file():
        raise ValueError(f"init_from {folder}: not a clinicalner model folder (no {MODEL_CONFIG})")
    saved = ModelConfig.load(folder / MODEL_CONFIG)
    for name in ("labels", "scheme", "head", "crf", "mlp_hidden"):
        if getattr(saved, name, None) != getattr(mconfig, name, None):
            raise ValueError(
                f"init_from {folder}: its {name} is {getattr(saved, name, None)!r}, this run's is "
                f"{getattr(mconfig, name, None)!r}; they must match"
            )
    load_weights(model, folder)
