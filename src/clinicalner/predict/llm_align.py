"""Turn what a language model wrote back into exact character offsets of the original text.

A model asked to echo a text with ``<span class="...">`` markup rarely echoes it perfectly: it
collapses whitespace (CRLF becomes a space), fixes a typo, drops a word or adds a preamble.
A model asked to list mentions returns strings, not offsets. Both are mapped back here, with
tolerance, and what cannot be mapped is reported rather than guessed.

All comparisons happen on the folded search form of :mod:`clinicalner.predict.lexicon`
(case- and accent-insensitive, whitespace runs as one space), whose offset map leads back to
the original characters.
"""

from __future__ import annotations

import difflib
import html
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from clinicalner.predict.lexicon import FoldedText, fold_term, joins_words

_OPEN = re.compile(r"""<span\b[^<>]*?\bclass\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'<>]+))[^<>]*>""", re.I)
_CLOSE = re.compile(r"</span\s*>", re.I)
_TAG = re.compile(f"{_OPEN.pattern}|{_CLOSE.pattern}", re.I)
_FENCE = re.compile(r"^\s*```[\w-]*[ \t]*\n?(.*?)\n?```\s*$", re.S)
_ENTITY_REF = re.compile(r"&(?:[A-Za-z]+|#\d+|#x[0-9A-Fa-f]+);")


def strip_fences(content: str) -> str:
    """The body of a reply wrapped in a Markdown code fence, else the reply itself."""
    m = _FENCE.match(content)
    return m.group(1) if m else content


@dataclass(frozen=True)
class Mention:
    """A mention in the model's own text: ``[start, end)`` of the echo, its class and surface."""

    start: int
    end: int
    cls: str
    text: str


def parse_html_spans(content: str, *, unescape: bool = True) -> tuple[str, list[Mention]]:
    """Split an HTML-marked echo into its plain text and the marked mentions.

    Only ``<span class=...>`` and ``</span>`` are markup; anything else (even ``<br>``) is
    text, because clinical notes contain ``<`` too. Nested spans are kept; an unclosed
    span is dropped. ``unescape`` decodes ``&amp;`` and friends the model may have added.
    """
    content = strip_fences(content)
    plain: list[str] = []
    length = 0
    stack: list[tuple[int, str]] = []
    mentions: list[Mention] = []
    pos = 0

    def add_text(piece: str) -> None:
        nonlocal length
        if unescape and "&" in piece:
            piece = html.unescape(piece)
        plain.append(piece)
        length += len(piece)

    for m in _TAG.finditer(content):
        add_text(content[pos : m.start()])
        pos = m.end()
        if m.group(0).lstrip("<").lstrip().startswith("/"):
            if stack:
                start, cls = stack.pop()
                mentions.append(Mention(start, length, cls, ""))
        else:
            cls = next(g for g in m.groups()[:3] if g is not None)
            stack.append((length, cls.strip().lower()))
    add_text(content[pos:])
    text = "".join(plain)
    mentions = [Mention(m.start, m.end, m.cls, text[m.start : m.end]) for m in mentions]
    mentions.sort(key=lambda m: (m.start, m.end))
    return text, mentions


def needs_unescape(original: str) -> bool:
    """Decode entities in the echo only when the original has none of its own."""
    return _ENTITY_REF.search(original) is None


def parse_list(content: str) -> list[str] | None:
    """The strings of a JSON list reply (UniNER style), tolerating fences and chatter around it.

    Returns None when no list can be read, so the caller can count a malformed reply.
    """
    content = strip_fences(content).strip()
    if not content:
        return []
    candidates = [content]
    a, b = content.find("["), content.rfind("]")
    if 0 <= a < b:
        candidates.append(content[a : b + 1])
    for candidate in candidates:
        try:
            value = json.loads(candidate)
        except json.JSONDecodeError:
            continue
        if isinstance(value, list):
            return [str(v) for v in value if isinstance(v, str | int | float) and str(v).strip()]
    return None


class _Squeezed:
    """A folded text without its spaces, pointing back to original offsets."""

    def __init__(self, text: str) -> None:
        self.folded = FoldedText.fold(text)
        f = self.folded.text
        codes = np.frombuffer(f.encode("utf-32-le"), dtype=np.uint32)
        self.keep = np.flatnonzero(codes != 32)  # squeezed index -> folded index
        self.text = f.replace(" ", "")
        # folded index -> squeezed index of the first non-space at or after it
        self.to_squeezed = np.searchsorted(self.keep, np.arange(len(f) + 1))

    def folded_index(self, i: int) -> int:
        """Folded index of raw offset ``i`` (first folded character produced at or after it)."""
        offsets = self.folded.offsets
        if offsets is None:
            return min(i, len(self.folded.text))
        return int(np.searchsorted(offsets, i, side="left"))

    def original_start(self, k: int) -> int:
        return self.folded.start(int(self.keep[k]))

    def original_end(self, k: int) -> int:
        """Original end offset of squeezed character ``k`` (exclusive)."""
        return self.folded.end(int(self.keep[k]) + 1)


class EchoAligner:
    """Maps ranges of a model's echo of ``original`` back onto ``original``.

    Identical texts after folding and dropping whitespace map directly (the usual case: the
    model only reflowed whitespace). Otherwise the common prefix and suffix are matched
    directly and :class:`difflib.SequenceMatcher` aligns the differing middle, character by
    character; echo characters inside replaced or inserted stretches have no counterpart.
    """

    def __init__(self, original: str, echo: str) -> None:
        self.original = original
        self._orig = _Squeezed(original)
        self._echo = _Squeezed(echo)
        a, b = self._orig.text, self._echo.text
        self.identical = a == b
        self._map = np.full(len(b), -1, dtype=np.int64)  # echo squeezed -> original squeezed
        if self.identical:
            self._map[:] = np.arange(len(b))
            return
        p = 0
        limit = min(len(a), len(b))
        while p < limit and a[p] == b[p]:
            p += 1
        s = 0
        while s < limit - p and a[len(a) - 1 - s] == b[len(b) - 1 - s]:
            s += 1
        self._map[:p] = np.arange(p)
        if s:
            self._map[len(b) - s :] = np.arange(len(a) - s, len(a))
        mid_a, mid_b = a[p : len(a) - s], b[p : len(b) - s]
        if mid_a and mid_b:
            matcher = difflib.SequenceMatcher(None, mid_a, mid_b, autojunk=False)
            for block in matcher.get_matching_blocks():
                if block.size:
                    self._map[p + block.b : p + block.b + block.size] = np.arange(
                        p + block.a, p + block.a + block.size
                    )

    def map_range(self, start: int, end: int, *, min_similarity: float = 0.8) -> tuple[int, int] | None:
        """Original ``[start, end)`` for echo ``[start, end)``, or None when it cannot be placed.

        A mention whose first or last character has no counterpart is placed by the nearest
        aligned character inside it (a substituted letter), then accepted only if the
        original stretch reads like the mention (similarity ratio on the folded forms).
        """
        echo, orig = self._echo, self._orig
        lo = int(echo.to_squeezed[echo.folded_index(start)])
        hi = int(echo.to_squeezed[echo.folded_index(end)])
        if hi <= lo:
            return None
        mapped = self._map[lo:hi]
        inside = np.flatnonzero(mapped >= 0)
        if len(inside) == 0:
            return None
        first, last = int(inside[0]), int(inside[-1])
        o_lo = int(mapped[first]) - first
        o_hi = int(mapped[last]) + (hi - lo - 1 - last)
        o_lo, o_hi = max(o_lo, 0), min(o_hi, len(orig.text) - 1)
        if o_hi < o_lo:
            return None
        if len(inside) != hi - lo or o_hi - o_lo != hi - lo - 1:
            want = echo.text[lo:hi]
            got = orig.text[o_lo : o_hi + 1]
            if difflib.SequenceMatcher(None, want, got, autojunk=False).ratio() < min_similarity:
                return None
        return orig.original_start(o_lo), orig.original_end(o_hi)


def find_occurrences(text: str, mention: str, folded: FoldedText | None = None) -> list[tuple[int, int]]:
    """Every place ``mention`` occurs in ``text``: case-, accent- and whitespace-insensitive.

    An occurrence must start and end on word boundaries (``ca`` is not found in ``cancer``).
    Pass ``folded`` when searching many mentions in one text.
    """
    key = fold_term(mention)
    if not key:
        return []
    folded = folded or FoldedText.fold(text)
    f = folded.text
    out: list[tuple[int, int]] = []
    i = f.find(key)
    while i >= 0:
        j = i + len(key)
        left_ok = i == 0 or not (joins_words(f[i - 1]) and joins_words(f[i]))
        right_ok = j == len(f) or not (joins_words(f[j - 1]) and joins_words(f[j]))
        if left_ok and right_ok and folded.on_char_boundary(i) and folded.on_char_boundary(j):
            out.append((folded.start(i), folded.end(j)))
        i = f.find(key, i + 1)
    return out


def nearest(occurrences: Sequence[tuple[int, int]], position: float) -> tuple[int, int] | None:
    """The occurrence whose start is closest to an expected position."""
    if not occurrences:
        return None
    return min(occurrences, key=lambda o: (abs(o[0] - position), o[0]))


# -- DNT's enumerated-token style ---------------------------------------------------------

_TOKEN_LINE = re.compile(r"^\s*(?:[-*]\s*)?`?\s*(\d+)\s*:\s*(.*\S)\s*:\s*([^:`]+?)\s*`?\s*$")
#: Labels a model writes for "no entity" (ignored, not counted as unknown).
OUTSIDE_LABELS = frozenset({"o", "none", "outside", "-", "null"})


def parse_token_lines(content: str) -> list[tuple[int, str, str]] | None:
    """``<index> : <token> : <label>`` lines as (index, token, lower-case label), in reply order.

    None when the reply has text but no such line (malformed); an empty list for ``none`` or
    an empty reply. Lines that are not of that shape (a preamble) are skipped.
    """
    content = strip_fences(content).strip()
    rows = []
    for line in content.splitlines():
        m = _TOKEN_LINE.match(line)
        if m:
            rows.append((int(m.group(1)), m.group(2).strip(), m.group(3).strip().lower()))
    if rows or not content or content.strip("`'\". ").lower() in OUTSIDE_LABELS:
        return rows
    return None


def place_token(words: Sequence[str], index: int, token: str, slack: int = 3) -> int | None:
    """The position of ``token`` given its (possibly miscounted) 0-based ``index``.

    The index removes the ambiguity of repeated words; a model that miscounts by a few is
    forgiven by looking ``slack`` positions either side (nearest first). Case is ignored.
    """
    want = token.casefold()
    for delta in range(slack + 1):
        for j in (index - delta, index + delta) if delta else (index,):
            if 0 <= j < len(words) and words[j].casefold() == want:
                return j
    return None


def group_token_labels(labelled: dict[int, str]) -> list[tuple[int, int, str]]:
    """Runs of consecutive word positions with the same label, as (first, last, label).

    One label per word and no B-/I- (DNT's simplified, IO labelling): two adjacent mentions of
    one type read as one, the price of the simpler answer.
    """
    runs: list[tuple[int, int, str]] = []
    for j in sorted(labelled):
        label = labelled[j]
        if runs and runs[-1][1] == j - 1 and runs[-1][2] == label:
            runs[-1] = (runs[-1][0], j, label)
        else:
            runs.append((j, j, label))
    return runs
