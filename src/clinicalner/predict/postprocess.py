"""Clean predicted spans: word boundaries, stray punctuation, split mentions, tiny spans.

Steps, in order, each switchable in :class:`PostprocessConfig`:

1. ``min_score``: drop spans whose ``score`` is below it (spans without a score are kept).
2. ``snap_to_words``: a span that starts or ends inside a word (a zero-shot tagger's, or an
   LLM's) is widened to the whole word; words are :func:`clinicalner.text.words.word_spans`.
3. ``trim``: whitespace and stray punctuation are cut from both edges, repeatedly:

   * ``, ; : . ! ? ¡ ¿ … - – — _ / \\ | * • ·`` at an edge go;
   * a bracket or quote is kept when its partner is inside the span (``hepatitis C (VHC)``,
     ``(sub)agudo``), dropped when unpaired, and a pair wrapping the whole span goes
     (``(fiebre)`` -> ``fiebre``);
   * a final ``.`` is kept when it ends a dotted abbreviation (``vía i.v.``, ``T.A.C. de``)
     unless punctuation or a line end follows it, in which case it is doing double duty as
     the sentence's full stop (``[T.A.C].\\n``, ``[C.C].:``). Single-word abbreviations
     (``aprox.``, ``mg.``) lose the dot: at a span's end it is nearly always a full stop.
   * ``%``, ``+``, ``°``, ``#`` and letters/digits are content and never trimmed.
4. ``merge``: spans of one type separated by at most ``merge_max_gap`` characters, all of
   them in ``merge_joiners`` (hyphen, slash, space), become one (``COVID`` ``-`` ``19``,
   ``dolor`` ``torácico`` written as one mention split by the model); touching or overlapping
   spans of one type merge too. The merged score is the lower one. On surface characters
   alone this step is blind: ``HTA/DM`` and ``fiebre tos`` are often two mentions, and a
   perfect tagger would lose about 2 % of gold spans to it (measured on MultiClinAI and
   SpaCCC gold). A tagger that knows its own word probabilities passes ``may_join``; with
   ``merge_min_ratio`` above 0 two spans separated by a gap are joined only when the model
   itself finds the joined reading plausible: the transformer tagger joins when
   P(continue)/P(split) over the gap is at least ``merge_min_ratio`` (see
   ``TransformerTagger.join_test``). The default is 0, the surface rule, on purpose: at 0.1
   the model's say gains 0.2 to 0.4 strict points on dev text like its training data, but a
   model reading another language or domain splits mentions confidently and wrongly, and
   there asking it costs 9 points (a Spanish model on English MultiClinAI dev: 0.26 against
   0.35 strict F1; BENCHMARKS.md). Opt in with ``--merge-min-ratio`` when the notes look
   like the training data.
5. ``drop_short``: spans shorter than ``min_length`` characters go, unless they are upper-case
   (``K``, a potassium mention) and ``keep_upper_abbreviations`` is set.

Discontinuous spans (``fragments``) are only thresholded and deduplicated. The result is
sorted by ``(start, end, label)``, has one span per key (the best-scored) and ``text`` set to
``doc_text[start:end]``.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

from clinicalner.document import Span
from clinicalner.text.words import word_spans

_STRAY = frozenset(",;:.!?¡¿…-‐‑–—_/\\|*•·")
_PAIRS = {"(": ")", "[": "]", "{": "}", "«": "»", "“": "”", "‘": "’", "‹": "›"}
_CLOSERS = {v: k for k, v in _PAIRS.items()}
_SYMMETRIC = frozenset("\"'")
_DOTTED_ABBREVIATION = re.compile(r"[^\W\d_]\.[^\W\d_]{1,3}$")
_JOINERS = " -/\u00a0\u2010\u2011"  # space, hyphen, slash, no-break space, Unicode hyphens
_SENTENCE_FOLLOWS = re.compile(r"[^\S\r\n]*(?:[\r\n]|$|[,;:.!?])")

#: ``may_join(left, right)``: whether two same-type spans separated by a joiner gap are one mention.
JoinTest = Callable[[Span, Span], bool]


@dataclass(frozen=True)
class PostprocessConfig:
    """Which clean-up steps run, and their thresholds (see the module docstring)."""

    min_score: float | None = None
    snap_to_words: bool = True
    trim: bool = True
    merge: bool = True
    merge_max_gap: int = 1
    merge_joiners: str = _JOINERS
    merge_min_ratio: float = 0.0  # > 0: ask the model before joining across a gap (see step 4)
    drop_short: bool = True
    min_length: int = 2
    keep_upper_abbreviations: bool = True


def postprocess(
    text: str,
    spans: Iterable[Span],
    config: PostprocessConfig = PostprocessConfig(),
    language: str | None = None,
    may_join: JoinTest | None = None,
    words: Sequence[Sequence[int]] | None = None,
) -> list[Span]:
    """Clean ``spans`` predicted on ``text``; see the module docstring for the steps.

    ``may_join`` is the tagger's own opinion on joining two spans across a joiner gap (step 4).
    ``words`` are ``text``'s word offsets when the caller has them already (the tagger
    does); otherwise they are computed with :func:`clinicalner.text.words.word_spans`.
    """
    contiguous: list[Span] = []
    discontinuous: list[Span] = []
    for span in spans:
        if not 0 <= span.start < span.end <= len(text):
            raise ValueError(
                f"span {span.start}-{span.end} ({span.label}) is outside a text of length {len(text)}"
            )
        if config.min_score is not None and span.score is not None and span.score < config.min_score:
            continue
        (discontinuous if span.is_discontinuous else contiguous).append(span)

    if config.snap_to_words and contiguous:
        contiguous = snap_to_words(text, contiguous, language, words)
    if config.trim:
        contiguous = [t for t in (trim_span(text, s) for s in contiguous) if t is not None]
    if config.merge:
        contiguous = merge_spans(text, contiguous, config.merge_max_gap, config.merge_joiners, may_join)
    if config.drop_short:
        contiguous = [s for s in contiguous if _long_enough(text[s.start : s.end], config)]
    return deduplicate([s.with_text(text) for s in contiguous + discontinuous])


def snap_to_words(
    text: str,
    spans: Sequence[Span],
    language: str | None = None,
    words: Sequence[Sequence[int]] | None = None,
) -> list[Span]:
    """Widen each span that cuts a word so it covers that whole word."""
    if words is None:
        words = word_spans(text, language)
    starts = [int(w[0]) for w in words]
    ends = [int(w[1]) for w in words]
    out: list[Span] = []
    for span in spans:
        start, end = span.start, span.end
        i = bisect_right(ends, start)  # first word ending after the span starts
        if i < len(words) and starts[i] < start:
            start = starts[i]
        j = bisect_left(starts, end) - 1  # last word starting before the span ends
        if j >= 0 and ends[j] > end:
            end = ends[j]
        out.append(span if (start, end) == (span.start, span.end) else replace(span, start=start, end=end))
    return out


def trim_span(text: str, span: Span) -> Span | None:
    """The span without edge whitespace and stray punctuation; ``None`` when nothing is left."""
    start, end = span.start, span.end
    changed = True
    while changed and start < end:
        changed = False
        first = text[start]
        if first.isspace() or first in _STRAY or first in _CLOSERS:
            start, changed = start + 1, True
            continue
        if first in _PAIRS or first in _SYMMETRIC:
            partner = _partner_forward(text, start, end)
            if partner is None:
                start, changed = start + 1, True
                continue
            if partner == end - 1:
                start, end, changed = start + 1, end - 1, True
                continue
        last = text[end - 1]
        if last.isspace() or (last in _PAIRS and last not in _CLOSERS):
            end, changed = end - 1, True
        elif last in _STRAY:
            if not (last == "." and _abbreviation_dot(text, start, end)):
                end, changed = end - 1, True
        elif (last in _CLOSERS or last in _SYMMETRIC) and _partner_backward(text, start, end) is None:
            end, changed = end - 1, True
    if start >= end:
        return None
    return span if (start, end) == (span.start, span.end) else replace(span, start=start, end=end)


def _partner_forward(text: str, start: int, end: int) -> int | None:
    """Where the bracket or quote at ``start`` closes inside ``[start, end)``, if it does."""
    opener = text[start]
    closer = opener if opener in _SYMMETRIC else _PAIRS[opener]
    depth = 0
    for i in range(start + 1, end):
        c = text[i]
        if c == closer and depth == 0:
            return i
        if opener not in _SYMMETRIC:
            if c == opener:
                depth += 1
            elif c == closer:
                depth -= 1
    return None


def _partner_backward(text: str, start: int, end: int) -> int | None:
    """Where the bracket or quote at ``end - 1`` opens inside ``[start, end)``, if it does."""
    closer = text[end - 1]
    opener = closer if closer in _SYMMETRIC else _CLOSERS[closer]
    depth = 0
    for i in range(end - 2, start - 1, -1):
        c = text[i]
        if c == opener and depth == 0:
            return i
        if closer not in _SYMMETRIC:
            if c == closer:
                depth += 1
            elif c == opener:
                depth -= 1
    return None


def _abbreviation_dot(text: str, start: int, end: int) -> bool:
    """Whether the ``.`` at ``end - 1`` closes a dotted abbreviation and not also a sentence."""
    if not _DOTTED_ABBREVIATION.search(text, max(start, end - 16), end - 1):
        return False
    return _SENTENCE_FOLLOWS.match(text, end) is None


def merge_spans(
    text: str,
    spans: Sequence[Span],
    max_gap: int = 1,
    joiners: str = _JOINERS,
    may_join: JoinTest | None = None,
) -> list[Span]:
    """Join same-type spans that overlap, touch, or are separated only by a few joiner characters
    (and, across a gap, only where ``may_join`` agrees, when it is given)."""
    allowed = frozenset(joiners)
    by_label: dict[str, list[Span]] = {}
    for span in spans:
        by_label.setdefault(span.label, []).append(span)
    out: list[Span] = []
    for group in by_label.values():
        group.sort(key=lambda s: (s.start, s.end))
        current = group[0]
        for span in group[1:]:
            gap = text[current.end : span.start]
            joined = span.start <= current.end or (
                len(gap) <= max_gap
                and all(c in allowed for c in gap)
                and (may_join is None or may_join(current, span))
            )
            if joined:
                current = replace(
                    current, end=max(current.end, span.end), score=_lower(current.score, span.score)
                )
            else:
                out.append(current)
                current = span
        out.append(current)
    return out


def _lower(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


def _long_enough(surface: str, config: PostprocessConfig) -> bool:
    if len(surface) >= config.min_length:
        return True
    return config.keep_upper_abbreviations and surface.isupper()


def deduplicate(spans: Iterable[Span]) -> list[Span]:
    """One span per ``(start, end, label)`` (and fragments), the best-scored; sorted."""
    best: dict[tuple[int, int, str, tuple[tuple[int, int], ...] | None], Span] = {}
    for span in spans:
        key = (*span.key, span.fragments)
        kept = best.get(key)
        if kept is None or (span.score is not None and (kept.score is None or span.score > kept.score)):
            best[key] = span
    return sorted(best.values(), key=lambda s: (s.start, s.end, s.label, s.fragments or ()))
