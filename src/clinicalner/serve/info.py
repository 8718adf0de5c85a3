"""What ``GET /v1/model`` says about the loaded tagger, read from its folder.

Labels and the kind of tagger always; for a trained model also the base encoder, a digest of
the training configuration (two services answering with the same digest run the same recipe)
and the validation scores of the epoch that was kept.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from clinicalner.text.abbreviations import LANGUAGES


def model_info(tagger: Any, path: str | Path) -> dict[str, Any]:
    """A JSON-ready description of ``tagger`` loaded from ``path``."""
    path = Path(path)
    info: dict[str, Any] = {
        "name": getattr(tagger, "name", path.name),
        "kind": type(tagger).__name__,
        "labels": list(tagger.labels),
        "languages": list(LANGUAGES),
        "base_model": None,
        "training_config_digest": None,
        "validation": None,
    }
    config = getattr(tagger, "config", None)
    if config is not None and getattr(config, "base_model", None):
        info["base_model"] = config.base_model
    folder = path if path.is_dir() else None
    if folder is not None and (folder / "train_config.toml").is_file():
        data = (folder / "train_config.toml").read_bytes()
        info["training_config_digest"] = "sha256:" + hashlib.sha256(data).hexdigest()
    if folder is not None and (folder / "metrics.json").is_file():
        info["validation"] = _validation(folder / "metrics.json")
    return info


def _validation(path: Path) -> dict[str, Any] | None:
    """The kept epoch's dev scores (``dev_*`` keys of its history entry), if any."""
    try:
        metrics = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    best = metrics.get("best_epoch")
    for entry in metrics.get("history", []):
        if entry.get("epoch") == best:
            scores = {k: v for k, v in entry.items() if k.startswith("dev_")}
            return {"epoch": best, **scores} if scores else None
    return None
