"""The word pre-tokeniser: one compiled regex, character offsets kept.

Words are the unit every tag sequence is written over, so their boundaries decide which
annotated spans are representable: a gold span that starts or ends inside a word cannot be
tagged exactly. The rules therefore cut *finer* wherever annotators disagree about where a
mention stops, and keep together only what nobody splits. The same rules serve all seven
languages (es, en, nl, it, ro, sv, cs) so that a multilingual model sees one segmentation.
Measured on the shared corpora, every MultiClinAI (en, es) gold span starts and ends on a
word boundary; the few misses elsewhere are annotations that cut a word (``[hipoventilació]n``).

Rules, tried in this order at each position:

1. Dotted abbreviations keep their inner dots, and leave the final dot as its own token:
   ``p.ej.`` -> ``p.ej`` ``.``, ``i.v.`` -> ``i.v`` ``.``, ``T.A.C.`` -> ``T.A.C`` ``.`` (groups
   of 1-3 letters; without a final dot only single letters, ``T.A.C``). Annotators both
   include and exclude that dot (``[T.A.C.] se`` but ``[T.A.C].`` at a sentence end), so both
   must be representable; the post-processor decides. Single-group abbreviations (``Dr.``,
   ``aprox.``) are a word and a ``.``.
2. Unit fractions built from known units stay one token: ``mg/dl``, ``mg/kg/día``, ``UI/L``,
   ``ml/min``, ``lat/min``, and the dose forms and time words of all seven languages
   (``cp/die``, ``tbl/den``, ``tabl/dag``, ``cp/zi``, ``mg/uur``). Any other slash is its own token (``HTA/DM`` -> ``HTA`` ``/`` ``DM``),
   because the two sides are often two mentions.
3. Numbers are digits with inner ``.`` or ``,`` groups: ``2,5``, ``38.5``, ``13.300``.
   Letters and digits never share a token: ``500mg`` -> ``500`` ``mg``, ``38.5ºC`` -> ``38.5``
   ``ºC``, ``6.8mg/dl`` -> ``6.8`` ``mg/dl``, ``HbA1c`` -> ``HbA`` ``1`` ``c``, ``renal7,8`` ->
   ``renal`` ``7,8`` (a footnote glued to a mention). ``x`` between digits is its own token
   (``4x4`` -> ``4`` ``x`` ``4``); ``°C``/``°F`` (degree sign) is one token.
4. Words are runs of letters with their combining marks (decomposed accents, soft hyphens and
   zero-width joiners stay inside a word; superscripts count as letters: ``m²``).
5. Everything else is one character per token, with its combining marks: hyphens
   (``Guillain-Barré`` -> ``Guillain`` ``-`` ``Barré``; ``[melanoma]-prone``,
   ``ex-[fumador]`` and ``Pre-[operative]`` are annotated that way), apostrophes
   (``dell'addome``, ``Crohn's``), parentheses, brackets, punctuation, ``%``, ``+``. An emoji
   keeps its skin-tone modifier, variation selector and zero-width-joined parts, and a
   regional-indicator pair (a flag) is one token.

No token ever contains whitespace, and zero-width spaces / BOMs are separators, not tokens.
"""

from __future__ import annotations

import re
import sys
import unicodedata


def _mark_classes() -> tuple[str, str]:
    """Bodies of two character classes holding every combining mark (Mn, Mc, Me): BMP, astral.

    ``re`` has no ``\\p{M}``; scanning planes 0-1 and the variation selectors of plane 14
    finds them all (planes 2-3 hold only ideographs) in a few tens of milliseconds. The astral
    ranges are kept apart because ``re`` tests a class with astral ranges range by range, which
    made every word five times slower; behind a cheap "is astral" lookahead they cost nothing.
    """
    ranges: list[tuple[int, int]] = []
    start: int | None = None
    for cp in [*range(0x20000), *range(0xE0000, 0xE01F0), sys.maxunicode + 1]:
        is_mark = cp <= sys.maxunicode and unicodedata.category(chr(cp)).startswith("M")
        if is_mark and start is None:
            start = cp
        elif not is_mark and start is not None:
            ranges.append((start, cp - 1))
            start = None

    def body(rs: list[tuple[int, int]]) -> str:
        return "".join(chr(a) if a == b else f"{chr(a)}-{chr(b)}" for a, b in rs)

    return body([r for r in ranges if r[1] < 0x10000]), body([r for r in ranges if r[0] >= 0x10000])


_BMP_MARKS, _ASTRAL_MARKS = _mark_classes()
_MARK = rf"(?:[{_BMP_MARKS}]|(?=[\U00010000-\U0010ffff])[{_ASTRAL_MARKS}])"
# what stays inside a word: marks, soft hyphen, zero-width (non-)joiner
_CLING = rf"(?:[{_BMP_MARKS}\u00ad\u200c\u200d]|(?=[\U00010000-\U0010ffff])[{_ASTRAL_MARKS}])"
_SEP = "\u200b\u2060\ufeff"  # zero-width space, word joiner, BOM: separators, never tokens
_L = r"[^\W\d_]"  # a letter (also superscript digits and other non-decimal numerals)
_LM = rf"{_L}{_CLING}*"  # a letter with the marks that cling to it
_NUM = r"\d+(?:[.,]\d+)*"

# Units that may appear on either side of a unit fraction. Time words of the seven languages
# are here because doses are written per day: mg/día, mg/dag, mg/zi, mg/giorno, mg/den.
_UNITS: tuple[str, ...] = tuple(
    sorted(
        [
            "mg",
            "g",
            "gr",
            "kg",
            "mcg",
            "µg",
            "μg",
            "ug",
            "ng",
            "pg",
            "ml",
            "l",
            "dl",
            "cl",
            "µl",
            "μl",
            "ul",
            "mmol",
            "µmol",
            "μmol",
            "umol",
            "nmol",
            "pmol",
            "mol",
            "meq",
            "mosm",
            "ui",
            "iu",
            "u",
            "mu",
            "mui",
            "ku",
            "cc",
            "cm",
            "mm",
            "m",
            "km",
            "mmhg",
            "cmh2o",
            "kcal",
            "cal",
            "gotas",
            "gtt",
            "comp",
            "cp",
            "cpr",
            "cps",
            "tab",
            "tabl",
            "tbl",
            "caps",
            "amp",
            "puff",
            "dosis",
            "lat",
            "latidos",
            "resp",
            "rpm",
            "lpm",
            "cel",
            "cél",
            "cells",
            "cell",
            "h",
            "hr",
            "hrs",
            "hora",
            "horas",
            "min",
            "s",
            "seg",
            "sec",
            "sek",
            "d",
            "día",
            "dia",
            "días",
            "day",
            "days",
            "dag",
            "den",
            "zi",
            "giorno",
            "die",
            "uur",
            "ora",
            "tim",
            "hod",
            "sem",
            "semana",
            "week",
            "wk",
            "vecka",
            "týden",
            "settimana",
            "săptămână",
            "mes",
            "month",
            "año",
            "year",
        ],
        key=len,
        reverse=True,
    )
)
_UNIT = rf"(?:{'|'.join(map(re.escape, _UNITS))})[23²³]?"

# A cheap test that a dot followed by a letter is near, before trying the abbreviation rules.
_ABBR_GUARD = r"(?=[^\W\d_][^.\s]{0,12}\.[^\W\d_])"

_TOKEN = re.compile(
    "|".join(
        [
            # 1. dotted abbreviations: inner dots kept, the final dot left for its own token
            rf"{_ABBR_GUARD}{_LM}(?:{_LM}){{0,2}}(?:\.{_LM}(?:{_LM}){{0,2}})+(?=\.(?!{_L}))",
            rf"{_ABBR_GUARD}{_LM}(?:\.{_LM})+(?!{_L})",
            # 2. unit fractions
            rf"(?=[^\W\d_]{{1,8}}[23²³]?/)(?i:{_UNIT}(?:/{_UNIT})+)(?![^\W_])",
            # 3. numbers, the x of dimensions, degrees
            _NUM,
            r"(?<=\d)[xX×](?=\d)",
            r"°[CFcf](?![^\W_])",
            # 4. words
            rf"{_L}(?:{_L}|{_CLING})*",
            # 5. flags, then any other single character with what clings to it
            "[\U0001f1e6-\U0001f1ff]{2}",
            rf"[^\s{_SEP}](?:{_MARK}|[\U0001f3fb-\U0001f3ff]|\u200d[^\s{_SEP}])*",
        ]
    )
)


def word_spans(text: str, language: str | None = None) -> list[tuple[int, int]]:
    """Half-open character offsets of the words of ``text``, in order, never overlapping.

    ``language`` is accepted for symmetry with :func:`~clinicalner.text.sentences.sentence_spans`;
    the rules are the same for every language of the task (see the module docstring).
    """
    del language  # one segmentation for all languages, on purpose
    return [m.span() for m in _TOKEN.finditer(text)]


def words(text: str, language: str | None = None) -> list[str]:
    """The word strings themselves; for inspection and tests."""
    return [text[a:b] for a, b in word_spans(text, language)]
