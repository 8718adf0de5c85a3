"""The optimiser and learning-rate schedule every clinicalner training run uses.

Shared by span tagging (:mod:`clinicalner.train.loop`) and text classification
(:mod:`clinicalner.classify.train`) so the two recipes cannot drift apart: AdamW with no
weight decay on biases and norms, a separate (higher) learning rate for the freshly
initialised heads, linear warm-up then linear decay to zero.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def build_optimizer(
    model: Any, learning_rate: float, head_learning_rate: float, weight_decay: float
) -> tuple[Any, list[float]]:
    """AdamW over ``model.encoder`` (decay / no decay) and every other trainable parameter (the heads).

    Returns the optimiser and each parameter group's base learning rate, which the schedule scales.
    """
    import torch

    decay, no_decay = [], []
    for name, p in model.encoder.named_parameters():
        if p.requires_grad:
            (no_decay if p.ndim < 2 or "norm" in name.lower() else decay).append(p)
    head_params = [p for n, p in model.named_parameters() if not n.startswith("encoder.") and p.requires_grad]
    optimizer = torch.optim.AdamW(
        [
            {"params": decay, "lr": learning_rate, "weight_decay": weight_decay},
            {"params": no_decay, "lr": learning_rate, "weight_decay": 0.0},
            {"params": head_params, "lr": head_learning_rate, "weight_decay": 0.0},
        ]
    )
    return optimizer, [g["lr"] for g in optimizer.param_groups]


def linear_schedule(total_steps: int, warmup_steps: int) -> Callable[[int], float]:
    """The learning-rate factor of optimiser step ``step``: linear warm-up, then linear decay to 0."""

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / max(1, warmup_steps)
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))

    return factor


def optimizer_step(
    optimizer: Any, base_lrs: list[float], factor: float, parameters: Any, max_grad_norm: float
) -> None:
    """Scale the learning rates, clip the gradients, step and clear them."""
    import torch

    for g, lr0 in zip(optimizer.param_groups, base_lrs, strict=True):
        g["lr"] = lr0 * factor
    torch.nn.utils.clip_grad_norm_(parameters, max_grad_norm)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
