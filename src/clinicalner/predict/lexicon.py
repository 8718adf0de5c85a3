"""A dictionary tagger: every listed term found in the text becomes a span.

Matching is case- and accent-insensitive and tolerant of whitespace (``diabetes\\r\\nmellitus``
matches ``diabetes mellitus``), but the spans it returns are exact character ranges of the
original text: the text is folded once into a search string that keeps, for every folded
character, the index of the original character it came from.

The search runs an Aho-Corasick automaton (``pyahocorasick``, an optional dependency) over the
folded text, so its cost grows with the text, not with the number of terms; without the
package a pure-Python trie walked from each word start gives the same spans, more slowly.
A match must start and end on word boundaries and, where matches overlap, the longest wins.
"""

from __future__ import annotations

import json
import logging
import os
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from clinicalner.atomic import atomic_dir
from clinicalner.document import Document, Span
from clinicalner.errors import CorpusError, Problems, quote
from clinicalner.io.common import decode, read_bytes, split_lines

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
TERMS_FILE = "lexicon.tsv"
BACKENDS = ("auto", "ahocorasick", "python")

# Accents are the marks of the combining-diacritics blocks. Stripping every nonspacing mark
# (Unicode category Mn) would also delete Devanagari vowel signs and Hebrew points, which
# change the word rather than decorate it.
_DIACRITICS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")


@lru_cache(maxsize=65536)
def fold_char(char: str) -> str:
    """The search form of one character: casefolded, accents dropped, any whitespace a space.

    May be empty (a lone combining accent) or longer than one character (``ß`` -> ``ss``).
    NFC at the end recomposes what NFD split but did not strip (Hangul syllables), so text
    that has no accents keeps its length.
    """
    if char.isspace():
        return " "
    folded = unicodedata.normalize("NFD", char.casefold())
    folded = _DIACRITICS.sub("", folded)
    return unicodedata.normalize("NFC", folded)


def _in_spaceless_script(char: str) -> bool:
    """Scripts written without spaces between words: a word boundary may fall anywhere."""
    cp = ord(char)
    return (
        0x0E00 <= cp <= 0x0EFF  # Thai, Lao
        or 0x1000 <= cp <= 0x109F  # Myanmar
        or 0x1780 <= cp <= 0x17FF  # Khmer
        or 0x3040 <= cp <= 0x30FF  # Hiragana, Katakana
        or 0x3400 <= cp <= 0x4DBF  # CJK extension A
        or 0x4E00 <= cp <= 0x9FFF  # CJK unified ideographs
        or 0xF900 <= cp <= 0xFAFF  # CJK compatibility ideographs
        or 0x20000 <= cp <= 0x3FFFF  # CJK extensions B and later
    )


@lru_cache(maxsize=65536)
def joins_words(char: str) -> bool:
    """Whether ``char`` belongs to a word that a boundary may not cut.

    Letters, digits, ``_`` and marks (a Devanagari vowel sign is part of its word) do;
    punctuation, spaces and symbols (emoji) do not, and neither do characters of scripts
    written without spaces, so that a Chinese or Thai term can be found inside a run.
    """
    if _in_spaceless_script(char):
        return False
    return char.isalnum() or char == "_" or unicodedata.category(char).startswith("M")


def _codes(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)


@dataclass(frozen=True)
class FoldedText:
    """A text in search form, with the way back to original character offsets.

    ``offsets[i]`` is the index in the original text of the character that produced folded
    character ``i``; ``None`` means the folding kept every character in place (the common
    case for text without ``ß``, decomposed accents or whitespace runs).
    """

    text: str
    offsets: np.ndarray | None
    original_length: int

    @classmethod
    def fold(cls, text: str) -> FoldedText:
        table: dict[int, str] = {}
        uneven = False
        for char in set(text):
            folded = fold_char(char)
            if folded != char:
                table[ord(char)] = folded
            if len(folded) != 1:
                uneven = True
        out = text.translate(table) if table else text
        offsets: np.ndarray | None = None
        if uneven:
            codes = _codes(text)
            uniq, inverse = np.unique(codes, return_inverse=True)
            widths = np.fromiter((len(fold_char(chr(c))) for c in uniq), dtype=np.int64, count=len(uniq))
            offsets = np.repeat(np.arange(len(text), dtype=np.int64), widths[inverse])
        if "  " in out:
            # Keep the first space of every run: one space stands for any whitespace run.
            spaces = _codes(out) == 32
            keep = np.ones(len(out), dtype=bool)
            keep[1:] = ~(spaces[1:] & spaces[:-1])
            base = offsets if offsets is not None else np.arange(len(out), dtype=np.int64)
            offsets = base[keep]
            out = re.sub(" {2,}", " ", out)
        return cls(out, offsets, len(text))

    def start(self, i: int) -> int:
        """Original offset where folded character ``i`` starts."""
        if i >= len(self.text):
            return self.original_length
        return i if self.offsets is None else int(self.offsets[i])

    def end(self, j: int) -> int:
        """Original end offset of a folded range ending at ``j`` (exclusive).

        The range ends where the next folded character starts, so trailing combining
        accents of the last character belong to it.
        """
        return self.start(j)

    def on_char_boundary(self, i: int) -> bool:
        """False inside the expansion of one character (between the two ``s`` of ``ß``)."""
        if self.offsets is None or i <= 0 or i >= len(self.text):
            return True
        return bool(self.offsets[i] != self.offsets[i - 1])

    def word_flags(self) -> np.ndarray:
        """``flags[i]`` is True where folded character ``i`` joins words (see :func:`joins_words`)."""
        if not self.text:
            return np.zeros(0, dtype=bool)
        codes = _codes(self.text)
        uniq, inverse = np.unique(codes, return_inverse=True)
        table = np.fromiter((joins_words(chr(c)) for c in uniq), dtype=bool, count=len(uniq))
        return table[inverse]

    def boundaries(self) -> np.ndarray:
        """``b[i]`` (0 <= i <= len) is True where a match may start or end: not inside a word."""
        flags = self.word_flags()
        b = np.ones(len(self.text) + 1, dtype=bool)
        if len(flags) > 1:
            b[1:-1] = ~(flags[1:] & flags[:-1])
        return b


def fold_term(term: str) -> str:
    """The key a term is stored and searched under."""
    return FoldedText.fold(term).text.strip(" ")


@dataclass(frozen=True)
class Term:
    """One lexicon entry: a surface form (as written in the source), its label and an optional score."""

    surface: str
    label: str
    score: float | None = None


class _PythonTrie:
    """Fallback search: a dict trie walked from each position where a match may start."""

    _END = ""

    def __init__(self, keys: list[str]) -> None:
        self.root: dict = {}
        for index, key in enumerate(keys):
            node = self.root
            for char in key:
                node = node.setdefault(char, {})
            node[self._END] = index

    def candidates(self, text: str, starts: Iterable[int]) -> Iterator[tuple[int, int, int]]:
        root, end_key, n = self.root, self._END, len(text)
        for i in starts:
            node = root.get(text[i])
            k = i + 1
            while node is not None:
                index = node.get(end_key)
                if index is not None:
                    yield i, k, index
                if k >= n:
                    break
                node = node.get(text[k])
                k += 1


class _Automaton:
    """pyahocorasick behind the same interface as the trie."""

    def __init__(self, keys: list[str]) -> None:
        import ahocorasick

        self.automaton = ahocorasick.Automaton()
        for index, key in enumerate(keys):
            self.automaton.add_word(key, (len(key), index))
        self.automaton.make_automaton()

    def candidates(self, text: str) -> Iterator[tuple[int, int, int]]:
        for last, (length, index) in self.automaton.iter(text):
            yield last + 1 - length, last + 1, index


def _have_ahocorasick() -> bool:
    try:
        import ahocorasick  # noqa: F401
    except ImportError:
        return False
    return True


class LexiconTagger:
    """Tags every occurrence of a known term; implements :class:`~clinicalner.predict.tagger.Tagger`.

    ``across_labels=True`` resolves overlaps between all matches (flat output, as most corpora
    annotate); ``False`` resolves them per label, so that a disease and a symptom may overlap
    as they do in corpora annotated one entity type at a time.
    """

    def __init__(
        self,
        terms: Iterable[Term],
        *,
        name: str = "lexicon",
        across_labels: bool = True,
        backend: str = "auto",
        source: str | None = None,
    ) -> None:
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, not {backend!r}")
        self.name = name
        self.across_labels = across_labels
        self.source = source
        # how it was built (min_count, ...), saved in config.json so a lexicon says how it was made
        self.build_options: dict[str, object] = {}
        self.terms: list[Term] = []
        self._keys: list[str] = []
        seen: dict[str, int] = {}
        for term in terms:
            key = fold_term(term.surface)
            if not key:
                continue
            if key in seen:
                if self.terms[seen[key]].label != term.label:
                    first = self.terms[seen[key]].label
                    raise ValueError(
                        f"term {quote(term.surface)} has two labels: {quote(first)} and {quote(term.label)}"
                    )
                continue
            seen[key] = len(self.terms)
            self.terms.append(term)
            self._keys.append(key)
        self.labels: tuple[str, ...] = tuple(sorted({t.label for t in self.terms}))
        if backend == "auto":
            backend = "ahocorasick" if _have_ahocorasick() else "python"
        self.backend = backend
        self._matcher: _Automaton | _PythonTrie | None = None

    def __len__(self) -> int:
        return len(self.terms)

    # -- construction -------------------------------------------------------------------

    @classmethod
    def from_documents(
        cls,
        documents: Iterable[Document],
        min_count: int = 1,
        *,
        min_length: int = 2,
        labels: Iterable[str] | None = None,
        name: str = "lexicon",
        across_labels: bool = True,
        backend: str = "auto",
    ) -> LexiconTagger:
        """Collect the annotated mentions of training documents.

        A term (in search form) seen with several labels takes the most frequent one (ties:
        the alphabetically first, so the result never depends on document order); its score
        is the share of its mentions carrying that label. Terms seen fewer than ``min_count``
        times or shorter than ``min_length`` characters are left out: one-letter terms match
        everywhere. Discontinuous mentions are skipped (their surface is not a phrase).
        """
        wanted = set(labels) if labels is not None else None
        label_counts: dict[str, Counter[str]] = defaultdict(Counter)
        surfaces: dict[str, Counter[str]] = defaultdict(Counter)
        first_seen: dict[str, int] = {}
        for doc in documents:
            for span in doc.spans:
                if span.is_discontinuous or (wanted is not None and span.label not in wanted):
                    continue
                # a bare TSV has no document text, but each row keeps its mention
                surface = (doc.text[span.start : span.end] if doc.text else span.text).strip()
                key = fold_term(surface)
                if len(key) < min_length:
                    continue
                label_counts[key][span.label] += 1
                surfaces[key][surface] += 1
                first_seen.setdefault(key, len(first_seen))
        terms = []
        for key in sorted(label_counts, key=first_seen.__getitem__):
            counts = label_counts[key]
            total = sum(counts.values())
            if total < min_count:
                continue
            label, votes = min(counts.items(), key=lambda kv: (-kv[1], kv[0]))
            surface = surfaces[key].most_common(1)[0][0]
            terms.append(Term(surface, label, round(votes / total, 6)))
        log.info("lexicon: %d terms from training spans (min_count=%d)", len(terms), min_count)
        return cls(terms, name=name, across_labels=across_labels, backend=backend, source="documents")

    @classmethod
    def from_tsv(
        cls,
        path: str | Path,
        *,
        name: str | None = None,
        across_labels: bool = True,
        backend: str = "auto",
        lenient: bool = False,
    ) -> LexiconTagger:
        """Read a term list: ``term<TAB>label[<TAB>score]`` per line (see :func:`read_term_list`)."""
        path = Path(path)
        terms, _ = read_term_list(path, lenient=lenient)
        return cls(
            terms,
            name=name or path.stem,
            across_labels=across_labels,
            backend=backend,
            source=str(path),
        )

    # -- persistence --------------------------------------------------------------------

    def save(self, path: str | Path) -> Path:
        """Write a folder (``config.json`` + ``lexicon.tsv``) that :meth:`load` reads back.

        An existing lexicon folder is replaced; anything else at ``path`` (a file, a folder
        holding other files) is refused before anything is written.
        """
        path = Path(path)
        check_lexicon_output(path)
        # a term that cannot be written fails first, naming where it came from
        rows = [term_row(term, self.source or path) for term in self.terms]
        with atomic_dir(path) as tmp:
            with (tmp / TERMS_FILE).open("w", encoding="utf-8", newline="") as f:
                f.write("term\tlabel\tscore\n")
                f.writelines(rows)
            config = {
                "kind": "lexicon",
                "format_version": FORMAT_VERSION,
                "name": self.name,
                "labels": list(self.labels),
                "terms": len(self.terms),
                "across_labels": self.across_labels,
                "source": self.source,
            }
            if self.build_options:
                config["build"] = dict(self.build_options)
            (tmp / CONFIG_FILE).write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", "utf-8")
        return path

    @classmethod
    def load(
        cls, path: str | Path, *, backend: str = "auto", across_labels: bool | None = None
    ) -> LexiconTagger:
        """Read a folder written by :meth:`save`, or a plain TSV term list.

        ``across_labels`` overrides the folder's own setting (a TSV has none: default True),
        so that a caller's choice is never silently dropped.
        """
        path = Path(path)
        if path.is_file():
            return cls.from_tsv(
                path, backend=backend, across_labels=True if across_labels is None else across_labels
            )
        config_path = path / CONFIG_FILE
        if not os.path.lexists(config_path):
            raise CorpusError(f"not a lexicon folder (no {CONFIG_FILE})", path)
        config = read_config(config_path)
        if config.get("kind") != "lexicon":
            raise CorpusError(
                f"kind is {config.get('kind')!r}, expected 'lexicon': not a lexicon folder (nor a trained "
                "model, which holds clinicalner.json)",
                config_path,
            )
        if config["format_version"] > FORMAT_VERSION:
            raise CorpusError(
                f"format_version {config['format_version']} is newer than this version reads "
                f"({FORMAT_VERSION})",
                config_path,
            )
        tagger = cls.from_tsv(
            path / TERMS_FILE,
            name=config.get("name") or path.name,
            across_labels=bool(config.get("across_labels", True)) if across_labels is None else across_labels,
            backend=backend,
        )
        tagger.source = config.get("source")
        tagger.build_options = dict(config.get("build") or {})
        return tagger

    # -- tagging ------------------------------------------------------------------------

    def _get_matcher(self) -> _Automaton | _PythonTrie:
        if self._matcher is None:
            self._matcher = (
                _Automaton(self._keys) if self.backend == "ahocorasick" else _PythonTrie(self._keys)
            )
        return self._matcher

    def find(self, text: str) -> list[Span]:
        """All lexicon spans of ``text``, sorted, overlaps resolved longest first."""
        if not self.terms or not text:
            return []
        folded = FoldedText.fold(text)
        ftext = folded.text
        bounds = folded.boundaries()
        matcher = self._get_matcher()
        if isinstance(matcher, _Automaton):
            raw = matcher.candidates(ftext)
        else:
            starts = np.flatnonzero(bounds[:-1] & (_codes(ftext) != 32)).tolist()
            raw = matcher.candidates(ftext, starts)
        found = [
            (i, j, index)
            for i, j, index in raw
            if bounds[i] and bounds[j] and folded.on_char_boundary(i) and folded.on_char_boundary(j)
        ]
        # Longest first, then leftmost; ties between equal ranges cannot occur (one label per key).
        found.sort(key=lambda m: (m[0] - m[1], m[0]))
        # One occupancy mask per group: checking and marking a range are C-speed byte scans.
        taken: dict[str | None, bytearray] = {}
        spans: list[Span] = []
        for i, j, index in found:
            term = self.terms[index]
            group = None if self.across_labels else term.label
            occupied = taken.get(group)
            if occupied is None:
                occupied = taken[group] = bytearray(len(ftext))
            if occupied.find(1, i, j) != -1:
                continue
            occupied[i:j] = b"\x01" * (j - i)
            start, end = folded.start(i), folded.end(j)
            spans.append(Span(start, end, term.label, text[start:end], term.score))
        spans.sort(key=lambda s: (s.start, s.end, s.label))
        return spans

    def tag(self, documents: Iterable[Document]) -> Iterator[Document]:
        for doc in documents:
            yield doc.with_spans(self.find(doc.text))


# -- term lists ----------------------------------------------------------------------------

# How many conflicting terms an error message names (all are counted).
SHOWN_CONFLICTS = 5
_TAG_COLUMN = re.compile(r"^(?:[BIESLU]-.+|O)$")


@dataclass
class TermListReport:
    """What reading a term list found besides its terms.

    ``conflicts``: terms (in search form) listed with two or more labels; with ``lenient``
    each keeps one label and ``conflict_lines_dropped`` counts the lines that lost.
    ``skipped``: malformed lines skipped with ``lenient``.
    """

    path: Path
    lines: int = 0
    duplicates: int = 0
    conflicts: int = 0
    conflict_lines_dropped: int = 0
    skipped: list[CorpusError] = field(default_factory=list)


def read_term_list(path: str | Path, *, lenient: bool = False) -> tuple[list[Term], TermListReport]:
    """The terms of ``term<TAB>label[<TAB>score]`` lines, in order of first appearance.

    Blank lines and lines starting with ``#`` are skipped, and so is a first line
    ``term<TAB>label...`` (a header). A term listed twice with one label is kept once. A term
    listed with different labels once case and accents are folded (``Fiebre`` SYMPTOM,
    ``fiebre`` DISEASE) cannot be matched as both: every such conflict is reported at once
    (count and the first few, by line), not one per run. With ``lenient`` each keeps its most
    frequent label (ties: the first listed) and the report counts the lines dropped; malformed
    lines are skipped and counted instead of stopping.
    """
    path = Path(path)
    report = TermListReport(path)
    problems = Problems(lenient, report.skipped)
    entries: dict[str, list[tuple[int, Term]]] = {}
    if path.is_dir():
        raise CorpusError("is a folder, not a term list (term<TAB>label lines)", path)
    text, _ = decode(read_bytes(path), path)  # not UTF-8: an error naming the file and line
    for lineno, line in enumerate(split_lines(text), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cols = line.split("\t")
        if lineno == 1 and [c.strip().lower() for c in cols[:2]] == ["term", "label"]:
            continue
        term = _term_line(cols, path, lineno, problems)
        if term is None:
            continue
        report.lines += 1
        entries.setdefault(fold_term(term.surface), []).append((lineno, term))
    terms: list[Term] = []
    conflicts: list[tuple[int, str]] = []  # (line where a second label appears, description)
    for listed in entries.values():
        labels = Counter(t.label for _, t in listed)
        report.duplicates += len(listed) - len(labels)
        if len(labels) == 1:
            terms.append(listed[0][1])
            continue
        first_label = {}
        for lineno, t in listed:
            first_label.setdefault(t.label, (lineno, t))
        second_line = sorted(line for line, _ in first_label.values())[1]
        conflicts.append(
            (
                second_line,
                "; ".join(f"line {n} {quote(t.surface)} {t.label[:80]}" for n, t in first_label.values()),
            )
        )
        # most frequent label, ties to the first listed (dicts keep insertion order)
        label = max(labels, key=lambda lab: labels[lab])
        terms.append(first_label[label][1])
        report.conflict_lines_dropped += sum(1 for _, t in listed if t.label != label)
    report.conflicts = len(conflicts)
    if conflicts and not lenient:
        conflicts.sort()
        shown = " | ".join(text for _, text in conflicts[:SHOWN_CONFLICTS])
        more = f" | and {len(conflicts) - SHOWN_CONFLICTS} more" if len(conflicts) > SHOWN_CONFLICTS else ""
        raise CorpusError(
            f"{len(conflicts)} term(s) listed with two or more labels once case and accents are folded: "
            f"{shown}{more}. Give each term one label, or --lenient to keep its most frequent (then "
            "first) label",
            path,
            conflicts[0][0],
        )
    if report.conflict_lines_dropped:
        log.info(
            "%s: %d term(s) listed with several labels; kept one label each, dropped %d line(s)",
            path,
            report.conflicts,
            report.conflict_lines_dropped,
        )
    return terms, report


def _term_line(cols: list[str], path: Path, lineno: int, problems: Problems) -> Term | None:
    """One ``term, label[, score]`` row, or None when it is malformed and skipped (lenient)."""
    if len(cols) not in (2, 3):
        problems.report(
            CorpusError(
                f"expected 2 or 3 tab-separated columns (term, label[, score]), found {len(cols)}",
                path,
                lineno,
            )
        )
        return None
    surface, label = cols[0].strip(), cols[1].strip()
    if surface.startswith("\\"):
        surface = surface[1:]  # an escaped leading '#' or '\' (see term_row)
    if not surface or not label:
        problems.report(CorpusError("empty term or label", path, lineno))
        return None
    score: float | None = None
    if len(cols) == 3 and cols[2].strip():
        try:
            score = float(cols[2])
        except ValueError:
            problems.report(CorpusError(f"score {cols[2]!r} is not a number", path, lineno))
            return None
    if not fold_term(surface):
        problems.report(CorpusError(f"term {quote(surface)} is empty once folded", path, lineno))
        return None
    return Term(surface, label, score)


def term_row(term: Term, source: str | Path | None = None) -> str:
    """The ``lexicon.tsv`` line of a term, such that :func:`read_term_list` reads it back.

    Whitespace runs in a surface become one space (matching folds whitespace the same way, so
    the lexicon finds what it found before); a surface starting with ``#`` (a comment line) or
    ``\\`` gets a ``\\`` in front. A label with a tab, a line break or spaces at its ends cannot
    be written faithfully: it is an error naming the term, not a broken file.
    """
    surface = " ".join(term.surface.split())
    if surface.startswith(("#", "\\")):
        surface = "\\" + surface
    label = term.label
    if not label or any(c in label for c in "\t\r\n") or label != label.strip():
        raise CorpusError(
            f"term {quote(term.surface)} has the label {quote(label)}, which holds a tab, a line break "
            "or spaces at its ends: a lexicon.tsv cannot hold it; fix the label in the source",
            source,
        )
    score = "" if term.score is None else repr(term.score)
    return f"{surface}\t{label}\t{score}\n"


def read_config(path: Path) -> dict[str, Any]:
    """A lexicon folder's ``config.json``, every field it uses of the right type, or an error."""
    text, _ = decode(read_bytes(path), path)
    try:
        config = json.loads(text)
    except json.JSONDecodeError as e:
        raise CorpusError(f"invalid JSON: {e.msg}", path, e.lineno) from None
    if not isinstance(config, dict):
        raise CorpusError("must hold a JSON object (kind, format_version, name...)", path)
    version = config.setdefault("format_version", 0)
    if not isinstance(version, int) or isinstance(version, bool):
        raise CorpusError(f"format_version must be an integer, not {quote(version)}", path)
    for key, kind, want in (
        ("name", str, "a string"),
        ("source", str, "a string"),
        ("across_labels", bool, "true or false"),
        ("build", dict, "an object"),
    ):
        if config.get(key) is not None and not isinstance(config[key], kind):
            raise CorpusError(f"{key} must be {want}, not {quote(config[key])}", path)
    return config


def looks_like_term_list(path: str | Path) -> bool:
    """Whether a file reads as a term list rather than a corpus.

    A ``.tsv`` or ``.txt`` file whose first lines all have two or three tab-separated columns
    (term, label[, score]): a MultiClinAI TSV has five (``filename`` first), a CoNLL file's
    second column is a tag (``B-X``, ``O``), a note has no tabs.
    """
    p = Path(path)
    if not p.is_file() or p.suffix.lower() not in (".tsv", ".txt"):
        return False
    from clinicalner.io.detect import head

    rows = [
        line.rstrip("\r").split("\t")
        for line in head(p, 16384).split("\n")[:-1]  # the last piece may be cut
        if line.strip() and not line.lstrip().startswith("#")
    ][:20]
    if not rows:
        return False
    if [c.strip().lower() for c in rows[0][:2]] == ["term", "label"]:
        return True
    for cols in rows:
        if len(cols) not in (2, 3) or not cols[0].strip() or _TAG_COLUMN.match(cols[1].strip()):
            return False
        if cols[0].strip().lower() in ("filename", "file", "doc_id"):
            return False
        if len(cols) == 3 and cols[2].strip():
            try:
                float(cols[2])
            except ValueError:
                return False
    return True


def check_lexicon_output(path: Path) -> None:
    """Refuse to replace anything at ``path`` but a lexicon folder (a corpus, a home folder)."""
    if not path.exists():
        return
    if not path.is_dir():
        raise CorpusError("exists and is not a folder; a lexicon is a folder: choose another path", path)
    ours = {CONFIG_FILE, TERMS_FILE}
    other = sorted(f.name for f in path.iterdir() if f.name not in ours)
    if other:
        raise CorpusError(
            f"holds files that are not a lexicon's ({', '.join(other[:3])}); it would be replaced: "
            "choose an empty or new folder",
            path,
        )


# -- building from the command line ----------------------------------------------------------


@dataclass
class LexiconBuild:
    """What ``clinicalner lexicon`` built: where, from what, and the counts it prints."""

    output: Path
    source: str  # "terms" or the corpus format
    terms: int
    labels: dict[str, int]  # terms per label
    documents: int | None = None
    conflicts: int = 0
    conflict_lines_dropped: int = 0
    skipped: int = 0


def build_lexicon(
    input: str | Path,
    output: str | Path,
    format: str | None = None,
    labels: Sequence[str] | None = None,
    min_count: int | None = None,
    min_length: int | None = None,
    across_labels: bool = True,
    lenient: bool = False,
) -> LexiconBuild:
    """Build a lexicon folder from a term list or from a corpus's annotated mentions.

    ``format``: ``"terms"`` for a term list (``term<TAB>label[<TAB>score]``), a corpus format,
    or None to tell them apart (:func:`looks_like_term_list`). ``min_count`` (default 1) and
    ``min_length`` (default 2) filter mentions of a corpus; a term list is taken as written,
    so they are refused there rather than ignored. ``labels`` keeps only those labels.
    ``lenient``: see :func:`read_term_list`; for a corpus, malformed lines are skipped.
    """
    from clinicalner.io import FORMATS, read_corpus
    from clinicalner.io.destination import check_output

    src, out = Path(input), Path(output)
    if format is not None and format != "terms" and format not in FORMATS:
        raise ValueError(f"unknown input format {format!r}; expected terms or one of {', '.join(FORMATS)}")
    if not src.exists():
        raise CorpusError("no such file or folder", src)
    if src.is_dir() and out.resolve().is_relative_to(src.resolve()):
        raise CorpusError("the lexicon folder would be inside the corpus it reads: choose another path", out)
    check_output(out, folder=True, inputs=[src])
    check_lexicon_output(out)
    wanted = list(labels) if labels else None
    is_terms = format == "terms" or (format is None and looks_like_term_list(src))
    if is_terms:
        given = [f"--{n}" for n, v in (("min-count", min_count), ("min-length", min_length)) if v is not None]
        if given:
            raise ValueError(
                f"{src}: {' and '.join(given)} only apply to a corpus (they filter its mentions); a term "
                "list is taken as written: edit the list instead"
            )
        terms, report = read_term_list(src, lenient=lenient)
        if wanted is not None:
            terms = [t for t in terms if t.label in wanted]
        tagger = LexiconTagger(terms, name=out.name, across_labels=across_labels, source=str(src))
        build = LexiconBuild(
            out,
            "terms",
            len(tagger),
            {},
            conflicts=report.conflicts,
            conflict_lines_dropped=report.conflict_lines_dropped,
            skipped=len(report.skipped),
        )
    else:
        corpus = read_corpus(src, format, lenient=lenient)
        tagger = LexiconTagger.from_documents(
            corpus.documents,
            1 if min_count is None else min_count,
            min_length=2 if min_length is None else min_length,
            labels=wanted,
            name=out.name,
            across_labels=across_labels,
        )
        tagger.source = str(src)
        tagger.build_options = {
            "format": corpus.format,
            "min_count": 1 if min_count is None else min_count,
            "min_length": 2 if min_length is None else min_length,
        }
        build = LexiconBuild(
            out, corpus.format, len(tagger), {}, documents=len(corpus), skipped=len(corpus.skipped)
        )
    if wanted is not None:
        tagger.build_options["labels"] = wanted
    if not len(tagger):
        what = "term list" if is_terms else f"{build.source} corpus"
        kept = f" of labels {', '.join(wanted)}" if wanted is not None else ""
        raise CorpusError(f"no terms{kept} in this {what}: nothing to save", src)
    build.labels = dict(Counter(t.label for t in tagger.terms).most_common())
    tagger.save(out)
    log.info("lexicon: %d terms, %d labels -> %s", build.terms, len(build.labels), out)
    return build
