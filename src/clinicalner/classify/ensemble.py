"""Voting over text classifiers, DNT's three ways, over any mix of encoder, TF-IDF and LLM predictions.

- ``hard``: each member votes its label; the most votes win (a tie goes to the label with
  the higher summed probability, then to the first member's label).
- ``soft``: the mean of the members' probabilities; argmax (for two classes: P >= 0.5), or
  the positive class when its mean reaches ``threshold``.
- ``weighted``: as soft, each member's probabilities weighted (DNT: by its validation F1).

Members must predict the same texts; a missing id is an error, not a silent abstention.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from clinicalner.classify.data import TextPrediction

METHODS = ("hard", "soft", "weighted")


def _classes(members: Sequence[Sequence[TextPrediction]]) -> list[str]:
    classes: dict[str, None] = {}
    for preds in members:
        for p in preds:
            classes.update(dict.fromkeys(p.probabilities))
            classes[p.label] = None
    return sorted(classes)


def vote_texts(
    members: Sequence[Sequence[TextPrediction]],
    method: str = "soft",
    weights: Sequence[float] | None = None,
    positive: str | None = None,
    threshold: float | None = None,
    names: Sequence[str] | None = None,
) -> list[TextPrediction]:
    """One prediction per text of the first member, in its order."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    if len(members) < 2:
        raise ValueError("an ensemble needs at least two members")
    names = list(names) if names is not None else [f"member {k + 1}" for k in range(len(members))]
    if method == "weighted" and weights is None:
        raise ValueError("weighted voting needs one weight per member (e.g. each member's validation F1)")
    if weights is not None:
        if len(weights) != len(members):
            raise ValueError(f"{len(weights)} weights for {len(members)} members")
        if any(w < 0 for w in weights) or sum(weights) <= 0:
            raise ValueError("weights must be non-negative and not all zero")
    w = np.asarray(weights if (method == "weighted" and weights is not None) else [1.0] * len(members))
    index = [{p.id: p for p in preds} for preds in members]
    order = [p.id for p in members[0]]
    for name, idx in zip(names, index, strict=True):
        missing = [i for i in order if i not in idx]
        extra = len(set(idx) - set(order))
        if missing or extra:
            raise ValueError(
                f"{name} does not predict the same texts as {names[0]} "
                f"({len(missing)} missing, first {missing[:3]}; {extra} extra)"
            )
    classes = _classes(members)
    if positive is not None and positive not in classes:
        raise ValueError(f"positive class {positive!r} is not one of {classes}")
    if method != "hard":
        for name, idx in zip(names, index, strict=True):
            lacking = next((i for i in order if set(idx[i].probabilities) != set(classes)), None)
            if lacking is not None:
                raise ValueError(
                    f"{name}: text {lacking!r} has no probability for every class {classes}; "
                    "soft voting needs them (use --method hard)"
                )
    out: list[TextPrediction] = []
    for doc_id in order:
        preds = [idx[doc_id] for idx in index]
        probs = np.asarray([[p.probabilities.get(c, 0.0) for c in classes] for p in preds])
        mean = (w[:, None] * probs).sum(axis=0) / w.sum()
        if method == "hard":
            votes = Counter(p.label for p in preds)
            top = max(votes.values())
            tied = [c for c in classes if votes.get(c, 0) == top]
            if len(tied) == 1:
                label = tied[0]
            else:
                best = max(mean[classes.index(c)] for c in tied)
                winners = [c for c in tied if mean[classes.index(c)] == best]
                label = winners[0] if len(winners) == 1 else preds[0].label
            prob = {c: round(votes.get(c, 0) / len(preds), 6) for c in classes}
        else:
            if positive is not None and threshold is not None and len(classes) == 2:
                k = classes.index(positive)
                label = positive if mean[k] >= threshold else classes[1 - k]
            else:
                label = classes[int(mean.argmax())]
            prob = {c: float(round(v, 6)) for c, v in zip(classes, mean, strict=True)}
        first = preds[0]
        flags = sorted({p.flag for p in preds if p.flag})
        language = next((p.language for p in preds if p.language), None)
        seen_marks = {p.seen_language for p in preds} - {None}
        seen = seen_marks.pop() if len(seen_marks) == 1 else None
        out.append(TextPrediction(first.id, label, prob, language, seen, ",".join(flags)))
    return out
