"""Classification heads: the per-type layer on top of the encoder's hidden states."""

from __future__ import annotations

from torch import nn


def make_head(kind: str, hidden: int, n_tags: int, dropout: float, mlp_hidden: int) -> nn.Module:
    """``linear``: dropout + one projection. ``mlp``: three layers, which the shared-task
    reports found helps when one frozen-ish encoder feeds several types."""
    if kind == "linear":
        return nn.Sequential(nn.Dropout(dropout), nn.Linear(hidden, n_tags))
    if kind == "mlp":
        return nn.Sequential(
            nn.Dropout(dropout),
            nn.Linear(hidden, mlp_hidden),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(mlp_hidden, mlp_hidden),
            nn.GELU(),
            nn.Linear(mlp_hidden, n_tags),
        )
    raise ValueError(f"unknown head {kind!r}")
