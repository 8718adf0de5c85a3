"""Fit a text classifier: an encoder with a pooled head, or the TF-IDF baseline.

The span trainer's pieces, shared rather than copied: the optimiser and schedule
(:mod:`clinicalner.train.optim`), checkpoints, resume and output safety
(:mod:`clinicalner.train.checkpoint`), encoder resolution (:mod:`clinicalner.encoders`) and
the model store (:mod:`clinicalner.model.store`). What differs is the data (one label per
text), the imbalance handling (DNT upsamples the positive class, ``upsample = ["ADE=3"]``),
the validation set (dev when given, else a split of train stratified by label x language)
and the selection metric (validation macro F1, after which the positive class's threshold
is chosen on the same validation texts and saved in the model).
"""

from __future__ import annotations

import datetime
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

from clinicalner.classify import metrics as M
from clinicalner.classify.config import ClassifierConfig, ClassifyConfig
from clinicalner.classify.data import LabelledText, read_many
from clinicalner.classify.split import epoch_indices, length_batches, parse_factors, stratified_split

log = logging.getLogger(__name__)


@dataclass
class ClassifyResult:
    output: Path
    best_epoch: int
    best_macro_f1: float | None
    threshold: float | None
    validation: str
    history: list[dict[str, Any]] = field(default_factory=list)
    train_texts_per_second: float = 0.0


@dataclass
class PreparedData:
    train: list[LabelledText]
    valid: list[LabelledText]
    labels: list[str]
    positive: str | None
    languages: list[str]
    validation: str


def fingerprint(texts: Sequence[LabelledText]) -> str:
    """A hash of ids, texts, labels and languages: two runs on the same data say so."""
    h = hashlib.sha256()
    for t in texts:
        h.update(f"{t.id}\t{t.label}\t{t.language}\t".encode())
        h.update(hashlib.sha256(t.text.encode()).digest())
    return h.hexdigest()[:16]


def prepare_data(
    config: ClassifyConfig,
    train_texts: Sequence[Sequence[LabelledText]] | None = None,
    dev_texts: Sequence[LabelledText] | None = None,
) -> PreparedData:
    """Training and validation texts, the labels, the positive class and the training languages."""
    corpora = (
        [list(c) for c in train_texts]
        if train_texts is not None
        else read_many(config.corpora, require_labels=True)
    )
    train = [t for c in corpora for t in c]
    if not train:
        raise ValueError("no training texts")
    unlabelled = [t.id for t in train if t.label is None]
    if unlabelled:
        raise ValueError(f"{len(unlabelled)} training texts have no label (first: {unlabelled[:3]})")
    if dev_texts is not None:
        valid = list(dev_texts)
    elif config.dev:
        valid = [t for c in read_many(config.dev, require_labels=True) for t in c]
    else:
        valid = []
    if valid:
        where = "dev"
    else:
        train, valid = stratified_split(train, config.validation_fraction, config.seed)
        where = (
            f"{config.validation_fraction:.0%} of train, stratified by label x language (seed {config.seed})"
        )
    labels = sorted({str(t.label) for t in train})
    if len(labels) < 2:
        raise ValueError(f"training texts have one label ({labels}); a classifier needs two or more")
    strange = sorted({str(t.label) for t in valid} - set(labels))
    if strange:
        raise ValueError(f"validation labels {strange} never occur in training")
    factors = parse_factors(config.upsample)
    unknown = sorted(set(factors) - set(labels))
    if unknown:
        raise ValueError(f"upsample names label(s) {unknown} that are not training labels {labels}")
    positive: str | None = None
    if config.positive:
        if config.positive not in labels:
            raise ValueError(f"positive class {config.positive!r} is not a training label {labels}")
        positive = config.positive
    elif len(labels) == 2:
        counts = {lab: sum(t.label == lab for t in train) for lab in labels}
        positive = min(labels, key=lambda lab: (counts[lab], lab))
    languages = sorted({t.language for t in train if t.language})
    return PreparedData(train, valid, labels, positive, languages, where)


def validation_metrics(
    valid: Sequence[LabelledText], probs: np.ndarray, config: ClassifierConfig, tune: bool
) -> tuple[dict[str, Any], float | None]:
    """Validation macro F1 at argmax, the positive class's F1, and the tuned threshold (if any)."""
    gold = [str(t.label) for t in valid]
    pred = M.threshold_labels(probs, config.labels, None, None)
    m = M.confusion(gold, pred, config.labels)
    out: dict[str, Any] = {"valid_macro_f1": round(float(M.macro_f1(m)), 4)}
    threshold = None
    if config.positive is not None and len(config.labels) == 2:
        k = config.labels.index(config.positive)
        out[f"valid_{config.positive}_f1"] = round(float(M.per_class(m)["f1"][k]), 4)
        if tune:
            y = np.asarray([g == config.positive for g in gold])
            threshold, f1 = M.best_threshold(y, probs[:, k])
            out["valid_threshold"] = threshold
            out["valid_macro_f1_at_threshold"] = round(f1, 4)
    return out, threshold


def train_classifier(
    config: ClassifyConfig,
    *,
    resume: bool = False,
    progress: bool = True,
    on_epoch: Callable[[int, dict[str, Any]], None] | None = None,
    train_texts: Sequence[Sequence[LabelledText]] | None = None,
    dev_texts: Sequence[LabelledText] | None = None,
) -> ClassifyResult:
    """Fit as ``config`` says and save the best epoch (or C) to ``config.output``.

    ``train_texts``/``dev_texts`` bypass reading ``config.corpora``/``config.dev``.
    ``on_epoch(epoch, metrics)`` may raise to stop the run (tests stand for a crash that way).
    """
    from clinicalner.train.checkpoint import check_output, check_resumable, checkpoint_dir

    if not config.output:
        raise ValueError("an output folder is required")
    output = Path(config.output).resolve()
    check_output(output)
    if resume:
        check_resumable(output, checkpoint_dir(output))
    if config.is_tfidf:
        data = prepare_data(config, train_texts, dev_texts)
        return _train_tfidf(config, data, output, progress)
    return _train_encoder(config, output, resume, progress, on_epoch, train_texts, dev_texts)


def _run_record(
    config: ClassifyConfig, data: PreparedData, history: list[dict[str, Any]], best: int
) -> dict[str, Any]:
    from clinicalner.train.checkpoint import versions

    best_row = next((h for h in history if h["epoch"] == best), {})
    return {
        "best_epoch": best,
        "best_valid_macro_f1": best_row.get("valid_macro_f1"),
        "threshold": best_row.get("valid_threshold"),
        "validation": data.validation,
        "train_texts": len(data.train),
        "valid_texts": len(data.valid),
        "data_fingerprint": fingerprint(data.train + data.valid),
        **{f"{name}_version": v for name, v in _safe_versions(versions).items()},
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }


def _safe_versions(versions: Callable[[], dict[str, str]]) -> dict[str, str]:
    try:
        return versions()
    except ImportError:  # the TF-IDF baseline runs without torch
        import clinicalner

        return {"clinicalner": clinicalner.__version__}


def _extra_files(
    config: ClassifyConfig, data: PreparedData, history: list[dict[str, Any]], best: int
) -> dict[str, Any]:
    saved = config.with_absolute_paths()
    run = _run_record(config, data, history, best)
    return {
        "train_config.toml": saved.to_toml(run=run),
        "metrics.json": {"best_epoch": best, "history": history},
        "provenance.json": {
            "data_fingerprint": run["data_fingerprint"],
            "corpora": saved.corpora,
            "dev": saved.dev,
            "validation": data.validation,
        },
    }


def _train_tfidf(config: ClassifyConfig, data: PreparedData, output: Path, progress: bool) -> ClassifyResult:
    """One fit per value of ``tfidf_c``; the best validation macro F1 is saved (history 'epoch' = try)."""
    from clinicalner.classify.tfidf import fit_tfidf

    factors = parse_factors(config.upsample)
    y = [str(t.label) for t in data.train]
    sample_weight = np.asarray([factors.get(lab, 1.0) for lab in y]) if factors else None
    history: list[dict[str, Any]] = []
    best: tuple[float, int, Any, float | None] | None = None
    seconds = 0.0
    for k, c in enumerate(config.tfidf_c, 1):
        mconfig = ClassifierConfig(
            labels=data.labels, kind="tfidf", base_model="tfidf", positive=data.positive,
            train_languages=data.languages,
        )  # fmt: skip
        clf, fit_seconds = fit_tfidf(
            mconfig,
            [t.text for t in data.train],
            y,
            ngrams=config.tfidf_ngrams,
            c=c,
            sample_weight=sample_weight,
            class_weight=config.class_weights,
            seed=config.seed,
        )
        seconds += fit_seconds
        probs = clf.probabilities([t.text for t in data.valid])
        metrics, threshold = validation_metrics(data.valid, probs, mconfig, config.tune_threshold)
        row = {"epoch": k, "C": c, "seconds": round(fit_seconds, 2), **metrics}
        row["train_texts_per_second"] = round(len(data.train) / max(fit_seconds, 1e-9), 1)
        history.append(row)
        if progress:
            log.info("C=%s: validation macro F1 %.4f", c, metrics["valid_macro_f1"])
        if best is None or metrics["valid_macro_f1"] > best[0]:
            best = (metrics["valid_macro_f1"], k, clf, threshold)
    assert best is not None
    _, best_k, clf, threshold = best
    clf.config.threshold = threshold
    clf.save(output, extra_files=_extra_files(config, data, history, best_k))
    return ClassifyResult(
        output=output,
        best_epoch=best_k,
        best_macro_f1=best[0],
        threshold=threshold,
        validation=data.validation,
        history=history,
        train_texts_per_second=len(data.train) * len(config.tfidf_c) / max(seconds, 1e-9),
    )


# Settings that may change between a crash and --resume without changing the run.
_RESUME_FREE = {"threads", "device", "eval_batch_size", "corpora", "dev", "output", "keep_best"}


def _train_encoder(
    config: ClassifyConfig,
    output: Path,
    resume: bool,
    progress: bool,
    on_epoch: Callable[[int, dict[str, Any]], None] | None,
    train_texts: Sequence[Sequence[LabelledText]] | None,
    dev_texts: Sequence[LabelledText] | None,
) -> ClassifyResult:
    import torch
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from clinicalner.classify.network import TextClassifier
    from clinicalner.classify.predict import EncoderClassifier, encode_texts
    from clinicalner.encoders import resolve_encoder
    from clinicalner.model.store import load_pretrained_encoder, save_model
    from clinicalner.predict.engine import pick_device
    from clinicalner.train.checkpoint import checkpoint_dir, load_checkpoint, save_checkpoint
    from clinicalner.train.optim import build_optimizer, linear_schedule, optimizer_step

    ckpt = checkpoint_dir(output)
    if config.threads > 0:
        torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    device = pick_device(config.device)
    base = resolve_encoder(config.base_model)  # a mistyped encoder fails before reading data
    data = prepare_data(config, train_texts, dev_texts)

    mconfig = ClassifierConfig(
        labels=data.labels,
        kind="encoder",
        base_model=config.base_model,
        pooling=config.pooling,
        max_length=config.max_length,
        dropout=config.dropout,
        positive=data.positive,
        train_languages=data.languages,
    )
    encoder, tokenizer = load_pretrained_encoder(base)
    model = TextClassifier(encoder, mconfig)
    if config.freeze_embeddings:
        model.freeze_word_embeddings()
    model.to(device)

    train_ids = encode_texts(tokenizer, [t.text for t in data.train], config.max_length)
    valid_ids = encode_texts(tokenizer, [t.text for t in data.valid], config.max_length)
    label_index = {lab: k for k, lab in enumerate(data.labels)}
    y = np.asarray([label_index[str(t.label)] for t in data.train], dtype=np.int64)
    train_labels = [str(t.label) for t in data.train]
    lengths = [len(x) for x in train_ids]
    factors = parse_factors(config.upsample)
    loss_weights = _class_weights(y, len(data.labels), config.class_weights)
    cw = torch.tensor(loss_weights, dtype=torch.float32, device=device) if loss_weights is not None else None

    optimizer, base_lrs = build_optimizer(
        model, config.learning_rate, config.head_learning_rate, config.weight_decay
    )
    n_batches = math.ceil(len(epoch_indices(train_labels, factors, config.seed, 0)) / config.batch_size)
    steps_per_epoch = max(1, math.ceil(n_batches / config.grad_accum))
    total_steps = steps_per_epoch * config.epochs
    if config.max_steps:
        total_steps = min(total_steps, config.max_steps)
    lr_factor = linear_schedule(total_steps, int(config.warmup * total_steps))

    start_epoch, step, history = 0, 0, []
    best_f1: float | None = None
    best_epoch = -1
    data_fp = fingerprint(data.train + data.valid)
    run_key = {
        "data": data_fp,
        "config": json.loads(
            json.dumps({k: v for k, v in config.to_dict().items() if k not in _RESUME_FREE})
        ),
    }
    if resume and (ckpt / "state.json").is_file():
        start_epoch, step, history, best_f1, best_epoch = load_checkpoint(ckpt, model, optimizer, run_key)

    predictor = EncoderClassifier(model, tokenizer, device, config.eval_batch_size)
    pad_id = predictor.pad_id
    texts_total, time_total = 0, 0.0
    stopped = False
    columns = [
        TextColumn("[bold]epoch {task.fields[epoch]}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} steps"),
        TextColumn("loss {task.fields[loss]:.4f}"),
        TextColumn("{task.fields[tps]:.1f} texts/s"),
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
            order = epoch_indices(train_labels, factors, config.seed, epoch)
            batches = length_batches(order, lengths, config.batch_size, config.seed, epoch)
            losses: list[float] = []
            t0 = time.perf_counter()
            texts_epoch = 0
            optimizer.zero_grad(set_to_none=True)
            for bi, idx in enumerate(batches):
                from clinicalner.classify.predict import pad_batch

                input_ids, mask = pad_batch([train_ids[i] for i in idx], pad_id)
                logits = model(torch.from_numpy(input_ids).to(device), torch.from_numpy(mask).to(device))
                target = torch.from_numpy(y[idx]).to(device)
                loss = (
                    torch.nn.functional.cross_entropy(logits.float(), target, weight=cw) / config.grad_accum
                )
                loss.backward()
                texts_epoch += len(idx)
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
                        tps=texts_epoch / max(elapsed, 1e-9),
                    )
                    if config.max_steps and step >= config.max_steps:
                        stopped = True
                        break
            epoch_time = time.perf_counter() - t0
            texts_total += texts_epoch
            time_total += epoch_time
            metrics: dict[str, Any] = {
                "epoch": epoch + 1,
                "step": step,
                "loss": round(float(np.mean(losses)), 6) if losses else None,
                "train_texts_per_second": round(texts_epoch / max(epoch_time, 1e-9), 1),
                "seconds": round(epoch_time, 2),
            }
            t1 = time.perf_counter()
            probs = predictor.probabilities_of_ids(valid_ids)
            metrics["valid_texts_per_second"] = round(len(valid_ids) / max(time.perf_counter() - t1, 1e-9), 1)
            scores, threshold = validation_metrics(data.valid, probs, mconfig, config.tune_threshold)
            metrics.update(scores)
            improved = best_f1 is None or metrics["valid_macro_f1"] > best_f1
            history.append(metrics)
            if improved or not config.keep_best:
                best_f1, best_epoch = metrics["valid_macro_f1"], epoch + 1
                mconfig.threshold = threshold
                save_model(
                    model, tokenizer, output, extra_files=_extra_files(config, data, history, best_epoch)
                )
            else:
                from clinicalner.atomic import atomic_write

                with atomic_write(output / "metrics.json") as f:
                    json.dump({"best_epoch": best_epoch, "history": history}, f, indent=2)
            if epoch + 1 < config.epochs and not stopped:
                save_checkpoint(
                    ckpt, model, optimizer, epoch + 1, step, history, best_f1, best_epoch, run_key
                )
            if progress:
                bar.console.print(_epoch_line(metrics))
            if on_epoch is not None:
                on_epoch(epoch + 1, metrics)
    if ckpt.exists():
        import shutil

        shutil.rmtree(ckpt, ignore_errors=True)
    best_row = next((h for h in history if h["epoch"] == best_epoch), {})
    return ClassifyResult(
        output=output,
        best_epoch=best_epoch,
        best_macro_f1=best_f1,
        threshold=best_row.get("valid_threshold"),
        validation=data.validation,
        history=history,
        train_texts_per_second=texts_total / max(time_total, 1e-9),
    )


def _class_weights(y: np.ndarray, n: int, mode: str) -> list[float] | None:
    """Loss weights per class: none, inverse frequency, or its square root (normalised to mean 1)."""
    if mode == "none":
        return None
    counts = np.bincount(y, minlength=n).astype(np.float64)
    w = np.where(counts > 0, counts.sum() / np.maximum(counts, 1.0) / n, 0.0)
    if mode == "sqrt_inverse":
        w = np.sqrt(w)
    w = w / w[w > 0].mean()
    return w.round(6).tolist()


def _epoch_line(m: dict[str, Any]) -> str:
    parts = [f"epoch {m['epoch']}"]
    if m.get("loss") is not None:
        parts.append(f"loss {m['loss']:.4f}")
    parts.append(f"valid macro F1 {m['valid_macro_f1']:.4f}")
    parts.extend(
        f"{k[6:]} {v}"
        for k, v in m.items()
        if k.startswith("valid_") and k not in ("valid_macro_f1",) and not k.endswith("per_second")
    )
    parts.append(f"{m['train_texts_per_second']:.1f} texts/s")
    return " | ".join(parts)
