"""Fitting models: training configs, examples, the training loop and hyper-parameter search."""

from clinicalner.train.config import TrainConfig

__all__ = ["TrainConfig"]
