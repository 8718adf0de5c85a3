"""Sentence splitting with character offsets, tuned for clinical notes in seven languages.

Sentences are the unit windows are packed from, so a wrong split costs only context, while a
missed split only makes a window fuller; the rules therefore lean towards *not* splitting
when in doubt (abbreviations, decimals, lower-case continuations).

Rules:

- Blank lines always end a sentence, and so does a line break before a list-like line
  (``- item``, ``* item``, ``• item``, ``1. item``, ``2) item``, ``a) item``, ``IV. item``).
  Other single line breaks do not (hard-wrapped text); pass ``every_line=True`` for
  line-oriented files (eligibility criteria, one finding per line).
- ``.``, ``!``, ``?``, ``…``, ``。`` (and runs of them) followed by whitespace end a sentence, closing
  quotes and brackets after them included (``... (sic).)``), unless:

  * the next word starts with a lower-case letter (``aprox. cada``, ``¡ay! qué``), unless it
    is a Dutch elided article (``... borst. 's Nachts``: Dutch and unknown language only);
  * the word before a ``.`` is a *prefix* abbreviation of the language (``Dr.``, ``p.ej.``,
    ``Fig.``, ``vs.``: see :mod:`clinicalner.text.abbreviations`) or a single capital, an
    initial or a genus (``J. Smith``, ``E. coli``, ``B. Henselae``);
  * the word before a ``.`` is another abbreviation (``etc.``, ``mg.``, ``i.v.``, any dotted
    form like ``b.i.d.``) and the next word does not start with a capital;
  * the ``.`` closes a list number at the start of a line (``1. Fiebre``).

- A ``.`` between digits (``38.5``) or not followed by whitespace (``paciente.El``) never
  splits: only whitespace after the stop makes a candidate.

Every returned span is trimmed of surrounding whitespace, non-empty, and the spans are in
order and disjoint; every non-space character of the text lies in exactly one of them.
"""

from __future__ import annotations

import itertools
import re

from clinicalner.text.abbreviations import abbreviation_kind

_BLANK_LINE = re.compile(r"[^\S\r\n]*(?:\r\n|\r|\n|$)")
_LIST_ITEM = re.compile(
    r"[^\S\r\n]*(?:[-*•·‣⁃▪◦●○–—+>]|\d{1,3}[.)]|[A-Za-z][.)]|(?:[IVXLC]+|[ivxlc]+)[.)])(?=[^\S\r\n])"
)
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_TERMINATOR = re.compile(r"(?:[.!?…。！？]+)[\"'”’»)\]}]*(?=\s|$)")
_OPENERS = "\"'“‘«([{¿¡-–—•*"
_WORD_BEFORE = re.compile(r"[^\s\"'“‘«(\[{¿¡]+$")
_LOOKBACK = 64  # longest abbreviation looked at; keeps the splitter linear on long lines
_ELISION = re.compile(r"\s+['’][stn][^\S\r\n]+\w")
_LINE_START_NUMBER = re.compile(r"[^\S\n\r]*(?:\d{1,3}|[A-Za-z]|[IVXLC]+|[ivxlc]+)$")


def sentence_spans(
    text: str, language: str | None = None, *, every_line: bool = False
) -> list[tuple[int, int]]:
    """Half-open character offsets of the sentences of ``text``, in order."""
    spans: list[tuple[int, int]] = []
    for start, end in _segments(text, every_line):
        _split_segment(text, start, end, language, spans)
    return spans


def _segments(text: str, every_line: bool) -> list[tuple[int, int]]:
    """Cut at the hard boundaries that line structure gives: blank lines and list items."""
    cuts: list[int] = [0]
    if every_line:
        cuts.extend(m.end() for m in _LINE_BREAK.finditer(text))
    else:
        for m in _LINE_BREAK.finditer(text):
            if _LIST_ITEM.match(text, m.end()) or _BLANK_LINE.match(text, m.end()):
                cuts.append(m.end())
    cuts.append(len(text))
    return [(a, b) for a, b in itertools.pairwise(cuts) if a < b]


def _split_segment(text: str, start: int, end: int, language: str | None, out: list[tuple[int, int]]) -> None:
    sent_start = start
    for m in _TERMINATOR.finditer(text, start, end):
        if _is_boundary(text, m, start, end, language):
            _emit(text, sent_start, m.end(), out)
            sent_start = m.end()
    _emit(text, sent_start, end, out)


def _is_boundary(text: str, m: re.Match[str], seg_start: int, seg_end: int, language: str | None) -> bool:
    first = _next_letter(text, m.end(), seg_end)
    if first is not None and first.islower():
        first = _after_elision(text, m.end(), seg_end, language)
    if first is not None and first.islower():
        return False
    if not m.group().startswith("."):
        return True
    if _closes_list_number(text, seg_start, m.start()):
        return False
    word_match = _WORD_BEFORE.search(text, max(seg_start, m.start() - _LOOKBACK), m.start())
    if word_match is None:
        return True
    kind = abbreviation_kind(word_match.group(), language)
    if kind == "prefix":
        return False
    if kind == "other":
        return first is not None and first.isupper()
    return True


def _after_elision(text: str, pos: int, end: int, language: str | None) -> str | None:
    """The first letter of the word after a Dutch elided article (``'s Nachts``, ``'t Is``):
    a sentence opens with the article in lower case and puts its capital on the next word.
    Else the next word's first letter itself."""
    if language in ("nl", None):
        m = _ELISION.match(text, pos, end)
        if m is not None:
            return text[m.end() - 1]
    return _next_letter(text, pos, end)


def _closes_list_number(text: str, seg_start: int, pos: int) -> bool:
    """Whether ``text[:pos]`` ends with a list number alone at the start of its line (``\n 12``)."""
    m = _LINE_START_NUMBER.search(text, max(seg_start, pos - 16), pos)
    return m is not None and (m.start() == seg_start or text[m.start() - 1] in "\r\n")


def _next_letter(text: str, pos: int, end: int) -> str | None:
    """The first letter or digit of the next word, skipping whitespace and opening punctuation."""
    i = pos
    while i < end and (text[i].isspace() or text[i] in _OPENERS):
        i += 1
    return text[i] if i < end and text[i].isalnum() else None


def _emit(text: str, start: int, end: int, out: list[tuple[int, int]]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if start < end:
        out.append((start, end))
