"""What a saved model needs to be rebuilt and to tag exactly as it was trained."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

SCHEME_TAGS: dict[str, tuple[str, ...]] = {
    "IO": ("O", "I"),
    "BIO": ("O", "B", "I"),
    "BIOES": ("O", "B", "I", "E", "S"),
}


@dataclass
class ModelConfig:
    """Per-type heads share one tag alphabet (``O B I`` for BIO), so spans of different types may overlap.

    ``label_strategy`` says which subwords carry a word's tag: ``first`` (the usual recipe) or
    ``all`` (continuation subwords get the inside tag). ``max_length`` counts subwords including
    the two special tokens; ``stride`` is the step between sliding-window starts at tagging time
    (windows overlap by ``max_length - 2 - stride`` subwords and their logits are averaged there).
    ``windows`` is how the training windows were cut; tagging cuts the same way by default
    (a model trained on whole sentences is tagged on whole sentences, with no overlap to pay
    for). Models saved before the field existed read as ``sliding``.
    """

    labels: list[str]
    scheme: str = "BIO"
    head: str = "linear"
    crf: bool = False
    label_strategy: str = "first"
    base_model: str = ""
    max_length: int = 256
    stride: int = 192
    windows: str = "sliding"
    dropout: float = 0.1
    mlp_hidden: int = 256
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.scheme not in SCHEME_TAGS:
            raise ValueError(f"unknown scheme {self.scheme!r}; choose one of {sorted(SCHEME_TAGS)}")
        if self.head not in ("linear", "mlp"):
            raise ValueError(f"unknown head {self.head!r}; choose 'linear' or 'mlp'")
        if self.label_strategy not in ("first", "all"):
            raise ValueError(f"unknown label strategy {self.label_strategy!r}; choose 'first' or 'all'")
        if not self.labels:
            raise ValueError("a model needs at least one label")
        if self.max_length < 8:
            raise ValueError("max_length must be at least 8 subwords")
        if self.windows not in ("sentence", "sliding", "span_centred"):
            raise ValueError(f"unknown windows {self.windows!r}; choose sentence, sliding or span_centred")

    @property
    def tagging_windows(self) -> str:
        """How to cut documents at tagging time: like training, span-centred read as sentences."""
        return "sliding" if self.windows == "sliding" else "sentence"

    @property
    def tags(self) -> tuple[str, ...]:
        return SCHEME_TAGS[self.scheme]

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})

    @classmethod
    def load(cls, path: str | Path) -> ModelConfig:
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
