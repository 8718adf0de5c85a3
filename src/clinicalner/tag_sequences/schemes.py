"""Label schemes (BIO, IO, BIOES): spans to word tags and back.

Tags are strings. A *typed* tag is ``"B-DISEASE"`` (prefix, dash, label; the label may
itself contain dashes); an *untyped* tag is ``"B"``, ``"I"``, ``"O"``, ``"E"``, ``"S"``.

Representation of entity types. The model has one head per entity type, and each head
predicts its own untyped sequence (``label=...`` here): ``["O", "B", "I", ...]`` for
DISEASE, another for SYMPTOM. A word can then be inside a disease *and* a symptom, so
mentions of different types may overlap, nest or coincide. Within one sequence mentions
cannot overlap; the typed multi-label form (``label=None``) is the classic single sequence,
where mentions of all types compete for the same words.

Reading tags is lenient and follows one policy everywhere (:func:`chunks`, also used by
:func:`clinicalner.tag_sequences.decode.repair`): a tag that cannot continue the open mention
starts a new one (``O I-X`` -> a mention starting at ``I-X``; ``B-X I-Y`` -> two mentions,
X then Y, as conlleval and seqeval read it); ``E-X`` with nothing open is a one-word mention.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from clinicalner.document import Span

SCHEMES: tuple[str, ...] = ("BIO", "IO", "BIOES")
_PREFIXES: dict[str, tuple[str, ...]] = {"BIO": ("B", "I"), "IO": ("I",), "BIOES": ("B", "I", "E", "S")}
_ALL_PREFIXES = frozenset("BIES")

WordSpan = tuple[int, int]
Chunk = tuple[int, int, str | None]  # first word, end word (exclusive), label


class SpanLike(Protocol):
    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...
    @property
    def label(self) -> str: ...


def check_scheme(scheme: str) -> str:
    """The canonical (upper-case) name of a scheme, or a ValueError naming the choices."""
    name = scheme.upper()
    if name not in _PREFIXES:
        raise ValueError(f"unknown tagging scheme {scheme!r}; choose one of {', '.join(SCHEMES)}")
    return name


def tag_names(labels: Sequence[str] | None, scheme: str) -> list[str]:
    """All tags of a scheme: ``"O"`` first, then each label's prefixes in B, I, E, S order.

    ``labels=None`` gives the untyped tags of one per-type head (``["O", "B", "I"]`` for BIO).
    Index 0 is always ``"O"``, so a zero vector or an empty prediction means "outside".
    """
    prefixes = _PREFIXES[check_scheme(scheme)]
    if labels is None:
        return ["O", *prefixes]
    if len(set(labels)) != len(labels):
        raise ValueError(f"duplicate labels in {list(labels)}")
    return ["O"] + [f"{p}-{label}" for label in labels for p in prefixes]


def parse_tag(tag: str) -> tuple[str, str | None]:
    """``"B-DISEASE"`` -> ``("B", "DISEASE")``; ``"B"`` -> ``("B", None)``; ``"O"`` -> ``("O", None)``."""
    if tag == "O":
        return "O", None
    prefix, dash, label = tag.partition("-")
    if prefix not in _ALL_PREFIXES or (dash and not label):
        raise ValueError(f"not a tag: {tag!r} (expected O, or B/I/E/S optionally followed by -LABEL)")
    return prefix, (label if dash else None)


def make_tag(prefix: str, label: str | None) -> str:
    return prefix if prefix == "O" or label is None else f"{prefix}-{label}"


def chunks(tags: Sequence[str]) -> list[Chunk]:
    """Mentions in a tag sequence as ``(first_word, end_word, label)``, read leniently.

    The policy is the module's (a tag that cannot continue the open mention starts a new one),
    so any sequence, valid or not and of any scheme, reads as a list of disjoint mentions.
    """
    out: list[Chunk] = []
    open_start: int | None = None
    open_label: str | None = None

    def close(end: int) -> None:
        nonlocal open_start
        if open_start is not None:
            out.append((open_start, end, open_label))
            open_start = None

    for i, tag in enumerate(tags):
        prefix, label = parse_tag(tag)
        if prefix == "O":
            close(i)
        elif prefix == "B":
            close(i)
            open_start, open_label = i, label
        elif prefix == "S":
            close(i)
            out.append((i, i + 1, label))
        elif prefix == "I":
            if open_start is None or open_label != label:
                close(i)
                open_start, open_label = i, label
        else:  # "E"
            if open_start is not None and open_label == label:
                out.append((open_start, i + 1, label))
                open_start = None
            else:
                close(i)
                out.append((i, i + 1, label))
    close(len(tags))
    return out


def chunks_to_tags(chunk_list: Iterable[Chunk], n_words: int, scheme: str) -> list[str]:
    """Write disjoint mentions as a valid tag sequence of ``scheme``.

    In IO two adjacent mentions of the same type cannot be told apart and read back as one.
    """
    name = check_scheme(scheme)
    tags = ["O"] * n_words
    for start, end, label in chunk_list:
        if name == "IO":
            tags[start:end] = [make_tag("I", label)] * (end - start)
        elif name == "BIO":
            tags[start:end] = [make_tag("B", label)] + [make_tag("I", label)] * (end - start - 1)
        elif end - start == 1:
            tags[start] = make_tag("S", label)
        else:
            inner = [make_tag("I", label)] * (end - start - 2)
            tags[start:end] = [make_tag("B", label), *inner, make_tag("E", label)]
    return tags


@dataclass
class Tagging:
    """Tags for one sequence, and the spans that could not be written exactly.

    ``misaligned``: spans whose start or end falls inside a word (or in whitespace); they are
    tagged on every word they overlap, so they come back wider. ``conflicts``: spans dropped
    because a longer span of the same sequence already holds one of their words.
    ``unplaceable``: spans that overlap no word at all (only whitespace), dropped.
    """

    tags: list[str]
    misaligned: list[SpanLike] = field(default_factory=list)
    conflicts: list[SpanLike] = field(default_factory=list)
    unplaceable: list[SpanLike] = field(default_factory=list)


def spans_to_tags(
    word_spans: Sequence[WordSpan],
    spans: Iterable[SpanLike],
    scheme: str,
    label: str | None = None,
) -> Tagging:
    """Tag words from character spans.

    ``label=None``: one typed sequence over all spans (``B-DISEASE``...). ``label="DISEASE"``:
    the untyped sequence of that type's head (``B``, ``I``...), other types ignored.
    A span covers every word it overlaps. Overlapping spans of one sequence cannot both be
    written: longer spans are placed first (the outer of nested mentions wins; ties go to the
    earlier span) and the others are reported in ``conflicts``. A discontinuous span is
    written as one mention per fragment.
    """
    name = check_scheme(scheme)
    starts = [a for a, _ in word_spans]
    ends = [b for _, b in word_spans]
    result = Tagging(tags=[])
    pieces: list[tuple[int, int, SpanLike]] = []
    for span in spans:
        if label is not None and span.label != label:
            continue
        fragments = getattr(span, "fragments", None) or ((span.start, span.end),)
        for fs, fe in fragments:
            pieces.append((fs, fe, span))
    pieces.sort(key=lambda p: (-(p[1] - p[0]), p[0], p[1]))
    taken = [False] * len(word_spans)
    placed: list[Chunk] = []
    misaligned_ids: set[int] = set()
    for fs, fe, span in pieces:
        lo = bisect_right(ends, fs)
        hi = bisect_left(starts, fe)
        if lo >= hi:
            result.unplaceable.append(span)
            continue
        if any(taken[lo:hi]):
            result.conflicts.append(span)
            continue
        if (starts[lo] != fs or ends[hi - 1] != fe) and id(span) not in misaligned_ids:
            misaligned_ids.add(id(span))
            result.misaligned.append(span)
        taken[lo:hi] = [True] * (hi - lo)
        placed.append((lo, hi, None if label is not None else span.label))
    result.tags = chunks_to_tags(sorted(placed), len(word_spans), name)
    return result


def tags_to_spans(
    tags: Sequence[str],
    word_spans: Sequence[WordSpan],
    scheme: str,
    label: str | None = None,
    text: str | None = None,
) -> list[Span]:
    """Character spans from word tags: start of the first word to end of the last word.

    Untyped tags need ``label`` (the head's type); typed tags keep their own label unless
    ``label`` overrides it. Invalid sequences are read with the module's lenient policy.
    ``text`` fills in ``Span.text``.
    """
    check_scheme(scheme)
    if len(tags) != len(word_spans):
        raise ValueError(f"{len(tags)} tags for {len(word_spans)} words")
    out: list[Span] = []
    for lo, hi, tag_label in chunks(tags):
        name = label if label is not None else tag_label
        if name is None:
            raise ValueError("untyped tags (B, I, O...) need label= to name the entity type")
        start, end = word_spans[lo][0], word_spans[hi - 1][1]
        out.append(Span(start, end, name, text[start:end] if text is not None else ""))
    return out
