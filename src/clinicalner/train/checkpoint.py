"""Checkpoints, resume and output-folder safety shared by every training loop.

A checkpoint holds the model, the optimiser and the RNG state at an epoch end, plus a run
key (data fingerprint and the settings that shape the run): resuming refuses a checkpoint
made with other data or settings instead of silently mixing two runs. Span tagging and
text classification both train through these functions.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

CHECKPOINT_SUFFIX = ".checkpoint"

log = logging.getLogger(__name__)


def checkpoint_dir(output: str | Path) -> Path:
    output = Path(output)
    return output.parent / f".{output.name}{CHECKPOINT_SUFFIX}"


def versions() -> dict[str, str]:
    import torch
    import transformers

    import clinicalner

    return {
        "clinicalner": clinicalner.__version__,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
    }


def save_checkpoint(
    ckpt: Path,
    model: Any,
    optimizer: Any,
    epoch: int,
    step: int,
    history: list[dict[str, Any]],
    best_f1: float | None,
    best_epoch: int,
    run_key: dict[str, Any],
) -> None:
    import torch
    from safetensors.torch import save_file

    from clinicalner.atomic import atomic_dir

    with atomic_dir(ckpt) as tmp:
        save_file(
            {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()},
            str(tmp / "model.safetensors"),
        )
        # Optimiser state is tensors and numbers only; torch.load(weights_only=True) reads it without unpickling code.
        rng = {"optimizer": optimizer.state_dict(), "rng": torch.get_rng_state()}
        if torch.cuda.is_available():
            rng["cuda_rng"] = torch.cuda.get_rng_state_all()
        torch.save(rng, tmp / "optimizer.pt")
        (tmp / "state.json").write_text(
            json.dumps(
                {
                    "epoch": epoch,
                    "step": step,
                    "history": history,
                    "best_f1": best_f1,
                    "best_epoch": best_epoch,
                    "run": run_key,
                }
            )
        )


def load_checkpoint(
    ckpt: Path, model: Any, optimizer: Any, run_key: dict[str, Any]
) -> tuple[int, int, list[dict[str, Any]], float | None, int]:
    """Restore an interrupted run, refusing a checkpoint made with other data or settings.

    Resuming someone else's checkpoint would silently mix two runs; the data fingerprint and
    the settings that shape the model and the schedule are stored with it and compared.
    """
    import torch
    from safetensors.torch import load_file

    state = json.loads((ckpt / "state.json").read_text())
    saved = state.get("run")
    if saved != run_key:
        if saved is None:
            raise ValueError(f"{ckpt}: checkpoint has no run record; delete it or train without --resume")
        if saved.get("data") != run_key["data"]:
            why = "the training data differ"
        else:
            diff = sorted(
                k
                for k in set(saved["config"]) | set(run_key["config"])
                if saved["config"].get(k) != run_key["config"].get(k)
            )
            why = "these settings differ: " + ", ".join(diff)
        raise ValueError(f"{ckpt}: cannot resume, {why}; delete the checkpoint or train without --resume")
    model.load_state_dict(load_file(str(ckpt / "model.safetensors"), device="cpu"), strict=True)
    extra = torch.load(ckpt / "optimizer.pt", weights_only=True, map_location="cpu")
    optimizer.load_state_dict(extra["optimizer"])
    torch.set_rng_state(extra["rng"])
    if "cuda_rng" in extra and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(extra["cuda_rng"])
    return state["epoch"], state["step"], state["history"], state["best_f1"], state["best_epoch"]


def check_resumable(output: Path, ckpt: Path) -> None:
    """``resume`` needs a checkpoint; without one, only a new or empty output starts afresh.

    A run that finishes deletes its checkpoint, so ``--resume --epochs 2`` on a finished
    one-epoch model would otherwise retrain from zero and replace that model without a word.
    """
    if (ckpt / "state.json").is_file():
        return
    if output.is_dir() and any(output.iterdir()):
        held = "a finished model" if (output / "clinicalner.json").is_file() else "files"
        raise FileExistsError(
            f"{output}: nothing to resume: no checkpoint of an interrupted run ({ckpt.name} beside it; "
            f"a run that finishes deletes it), and the folder holds {held}; train without --resume "
            "to replace it, or choose another --output"
        )
    log.warning("%s: no checkpoint to resume (nothing was interrupted there): starting fresh", output)


def check_output(output: Path) -> None:
    """Refuse an output that is not ours to replace.

    The model is written to a temporary folder and swapped in, which replaces whatever was
    there: fine for an earlier model, a disaster for a project folder or ``.``.
    """
    if output.exists() and not output.is_dir():
        raise FileExistsError(f"{output}: exists and is a file; choose a folder for the model")
    if output.is_dir() and any(output.iterdir()) and not (output / "clinicalner.json").is_file():
        raise FileExistsError(
            f"{output}: folder exists, is not empty and holds no clinicalner model; "
            "choose a new folder (it would be replaced)"
        )
    cwd = Path.cwd().resolve()
    if output == cwd or output in cwd.parents:
        raise FileExistsError(f"{output}: is the current folder or contains it; choose a new folder")
