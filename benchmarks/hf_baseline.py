"""What the benchmark scripts share: where the corpora are, and whether a model run finished.

The Hugging Face baseline lives in ``hf_recipe.py`` (the recipe) and ``bench_hf_recipe.py``
(its training with selection on validation, its scores and its speed beside ours).
"""

from __future__ import annotations

import os
from pathlib import Path

CORPORA = Path(
    os.environ.get("CLINICALNER_CORPORA", Path(__file__).resolve().parents[2] / "shared" / "corpora")
)


def finished(model_dir: Path) -> bool:
    """A model folder from a run that ended: weights saved and no checkpoint of an interrupted run.

    The training loop saves weights after every epoch, so weights alone do not mean the run
    finished; a killed benchmark must resume, not reuse a one-epoch model as if it were done.
    """
    from clinicalner.train.loop import checkpoint_dir

    return (model_dir / "model.safetensors").is_file() and not checkpoint_dir(model_dir).is_dir()


def interrupted(model_dir: Path) -> bool:
    """Whether ``model_dir`` has a checkpoint to resume (pass it as ``train_model(resume=...)``)."""
    from clinicalner.train.loop import checkpoint_dir

    return (checkpoint_dir(model_dir) / "state.json").is_file()
