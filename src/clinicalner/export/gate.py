"""The accuracy gate of an export: the exported graph must tag like the torch model it came from.

Why spans and not logits: what a user gets is spans, and a tiny change of the logits matters
only where it flips a decision; int8 moves every logit a little, so a logit tolerance would
either pass broken graphs or fail every quantised one. The gate tags a few notes with both and
compares the (note, start, end, type) sets: the share that differs (one minus their Jaccard
overlap) must not exceed the tolerance.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from clinicalner.document import Document


class GateError(ValueError):
    """The exported graph tags differently from the torch model beyond the tolerance."""


@dataclass(frozen=True)
class GateResult:
    notes: int
    torch_spans: int
    exported_spans: int
    same: int
    differing_share: float
    tolerance: float
    examples: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return self.differing_share <= self.tolerance

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["examples"] = list(self.examples)  # span strings only, capped: never note text
        out["passed"] = self.passed
        return out


def _keys(docs: Sequence[Document]) -> dict[tuple[int, int, int, str], str]:
    return {(i, s.start, s.end, s.label): s.text for i, d in enumerate(docs) for s in d.spans}


def compare_spans(
    reference: Sequence[Document], candidate: Sequence[Document], tolerance: float
) -> GateResult:
    """How far ``candidate``'s spans are from ``reference``'s (the same notes, in order)."""
    a, b = _keys(reference), _keys(candidate)
    same = len(a.keys() & b.keys())
    union = len(a.keys() | b.keys())
    share = 0.0 if union == 0 else 1.0 - same / union
    diff = sorted(a.keys() ^ b.keys())[:3]
    examples = tuple(
        f"{'torch only' if k in a else 'export only'}: note {k[0]} {k[3]} {k[1]}-{k[2]} "
        f"{(a.get(k) or b.get(k) or '')[:80]!r}"
        for k in diff
    )
    return GateResult(len(reference), len(a), len(b), same, round(share, 4), tolerance, examples)


def check_export(
    torch_tagger: Any, exported_tagger: Any, notes: Sequence[Document], tolerance: float
) -> GateResult:
    """Tag ``notes`` with both taggers and compare; a :class:`GateError` when they differ beyond
    ``tolerance`` (a share of spans, 0 to 1)."""
    if not notes:
        raise ValueError("the accuracy gate needs at least one note to tag")
    blank = [d.with_spans([]) for d in notes]
    result = compare_spans(list(torch_tagger.tag(blank)), list(exported_tagger.tag(blank)), tolerance)
    if result.torch_spans == 0:
        raise GateError(
            f"the torch model finds no span in the {result.notes} gate notes: nothing to compare; "
            "give notes it tags (--check CORPUS)"
        )
    if not result.passed:
        shown = "; ".join(result.examples)
        raise GateError(
            f"the exported graph tags differently from the torch model: {result.differing_share:.1%} of "
            f"spans differ on {result.notes} notes ({result.same} same of {result.torch_spans} torch, "
            f"{result.exported_spans} exported), over the tolerance {tolerance:.1%}; e.g. {shown}. "
            "Nothing was written; keep more layer kinds in float (--keep-float) or raise --tolerance"
        )
    return result


def gate_notes(check: str | Path | None, limit: int) -> list[Document]:
    """The notes the gate tags: the first ``limit`` of a corpus, or the built-in example notes."""
    if check is None:
        from clinicalner.sample_notes import load_examples

        return load_examples()[:limit]
    import itertools

    from clinicalner.io import detect_format, iter_documents

    return list(itertools.islice(iter_documents(check, detect_format(check)), limit))
