"""Domain-adaptive continued pretraining: masked-language-model training on unlabelled notes.

Why: general multilingual encoders have seen little clinical text. A few hours of masked-word
prediction on the notes a hospital already has (no annotation needed) is the cheapest known way
to move an encoder toward the domain before fine-tuning ("don't stop pretraining"); the shared
tasks' best systems started from clinically adapted encoders. The result is a normal encoder
folder that ``clinicalner train --base-model DIR`` takes as its base.

Choices: the standard BERT recipe (15 % of subwords chosen; of those 80 % masked, 10 % random,
10 % kept) through ``transformers``' own collator; texts packed into full windows; word
embeddings frozen by default as in span training (they are most of the parameters and most of
the optimiser's time on a CPU; the output layer stays tied to them); a time budget, because on a
CPU "an hour of adaptation" is the unit a user plans with.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


@dataclass
class AdaptResult:
    output: Path
    steps: int
    texts: int
    windows: int
    seconds: float
    losses: list[float] = field(default_factory=list)  # mean loss per logged interval


def read_texts(paths: Sequence[str | Path]) -> list[str]:
    """Distinct non-empty texts from corpora in any format, .txt files or folders of them."""
    from clinicalner.io import detect_format, read_corpus

    seen: dict[str, None] = {}
    for p in paths:
        path = Path(p)
        if path.is_file() and path.suffix.lower() == ".txt":
            texts: Iterable[str] = [path.read_text(encoding="utf-8")]
        else:
            texts = (d.text for d in read_corpus(path, detect_format(path)).documents)
        for t in texts:
            if t.strip():
                seen.setdefault(t, None)
    if not seen:
        raise ValueError("no text to adapt on: " + ", ".join(str(p) for p in paths))
    return list(seen)


def pack(texts: Sequence[str], tokenizer: Any, max_length: int) -> list[list[int]]:
    """Token ids of all texts, separated by the tokenizer's separator and cut into full windows
    of ``max_length`` (special tokens included); the last partial window is kept if long enough."""
    cls, sep = tokenizer.cls_token_id, tokenizer.sep_token_id
    if cls is None or sep is None:
        cls, sep = tokenizer.bos_token_id, tokenizer.eos_token_id
    body = max_length - 2
    stream: list[int] = []
    for ids in tokenizer(list(texts), add_special_tokens=False)["input_ids"]:
        stream.extend(ids)
        stream.append(sep)
    windows = [[cls, *stream[i : i + body], sep] for i in range(0, len(stream), body)]
    return [w for w in windows if len(w) >= min(32, max_length)]


def adapt_encoder(
    base: str | Path,
    texts: Sequence[str | Path],
    output: str | Path,
    *,
    max_minutes: float = 60.0,
    max_steps: int = 0,
    epochs: int = 1,
    batch_size: int = 16,
    learning_rate: float = 5e-5,
    max_length: int = 256,
    mlm_probability: float = 0.15,
    freeze_embeddings: bool = True,
    seed: int = 13,
    device: str = "auto",
    progress: bool = True,
) -> AdaptResult:
    """Masked-language-model training of ``base`` on ``texts`` until ``epochs`` passes, or
    ``max_steps`` steps, or ``max_minutes`` of training, whichever comes first; the encoder (no
    MLM head) and its tokenizer are written to ``output`` with ``adapt_config.json``."""
    import torch
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
    from transformers import AutoModelForMaskedLM, AutoTokenizer, DataCollatorForLanguageModeling

    from clinicalner.atomic import atomic_dir
    from clinicalner.encoders.build import resolve_encoder
    from clinicalner.model.precision import autocast, resolve_precision
    from clinicalner.predict.engine import pick_device

    out = Path(output)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise FileExistsError(f"{out}: exists and is not empty; choose a new folder for the adapted encoder")
    torch.manual_seed(seed)
    dev = pick_device(device)
    source = resolve_encoder(base)
    docs = read_texts(texts)
    tokenizer = AutoTokenizer.from_pretrained(source)
    windows = pack(docs, tokenizer, max_length)
    if not windows:
        raise ValueError("the texts are too short to make one training window")
    model = AutoModelForMaskedLM.from_pretrained(source)
    if freeze_embeddings:
        model.get_input_embeddings().weight.requires_grad_(False)
    model.to(dev)
    collator = DataCollatorForLanguageModeling(
        tokenizer, mlm_probability=mlm_probability, return_tensors="pt"
    )
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=learning_rate, weight_decay=0.01)
    per_epoch = math.ceil(len(windows) / batch_size)
    total = per_epoch * epochs if not max_steps else min(max_steps, per_epoch * epochs)
    warmup = max(1, total // 20)
    precision = resolve_precision("auto", dev)
    rng = torch.Generator().manual_seed(seed)
    step, losses, recent = 0, [], []
    t0 = time.perf_counter()
    budget = max_minutes * 60
    model.train()
    with Progress(
        TextColumn("[bold]adapt"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} steps"),
        TextColumn("loss {task.fields[loss]:.3f}"),
        TimeElapsedColumn(),
        disable=not progress,
    ) as bar:
        task = bar.add_task("adapt", total=total, loss=float("nan"))
        done = False
        for _ in range(epochs):
            order = torch.randperm(len(windows), generator=rng).tolist()
            for b in range(0, len(order), batch_size):
                batch = collator([{"input_ids": windows[i]} for i in order[b : b + batch_size]])
                batch = {k: v.to(dev) for k, v in batch.items()}
                factor = min(1.0, (step + 1) / warmup) * max(0.0, (total - step) / max(1, total - warmup))
                for g in optimizer.param_groups:
                    g["lr"] = learning_rate * min(1.0, factor)
                with autocast(precision, dev):
                    loss = model(**batch).loss
                loss.float().backward()
                torch.nn.utils.clip_grad_norm_(params, 1.0)
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
                step += 1
                recent.append(float(loss.detach()))
                if len(recent) == 10:
                    losses.append(round(sum(recent) / len(recent), 4))
                    recent = []
                bar.update(task, completed=step, loss=float(loss.detach()))
                if step >= total or time.perf_counter() - t0 > budget:
                    done = True
                    break
            if done:
                break
    if recent:
        losses.append(round(sum(recent) / len(recent), 4))
    seconds = time.perf_counter() - t0
    encoder = model.base_model  # the encoder without the MLM head: what span training loads
    with atomic_dir(out) as tmp:
        encoder.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        record = {
            "base": str(base),
            "texts": [str(t) for t in texts],
            "distinct_texts": len(docs),
            "windows": len(windows),
            "steps": step,
            "seconds": round(seconds, 1),
            "settings": {
                "max_minutes": max_minutes,
                "max_steps": max_steps,
                "epochs": epochs,
                "batch_size": batch_size,
                "learning_rate": learning_rate,
                "max_length": max_length,
                "mlm_probability": mlm_probability,
                "freeze_embeddings": freeze_embeddings,
                "seed": seed,
            },
            "losses": losses,
        }
        (tmp / "adapt_config.json").write_text(json.dumps(record, indent=2), encoding="utf-8")
    log.info("adapted %s on %d texts for %d steps", base, len(docs), step)
    return AdaptResult(out, step, len(docs), len(windows), seconds, losses)


__all__ = ["AdaptResult", "adapt_encoder", "pack", "read_texts"]
