"""CoNLL-style BIO files: one token per line, a blank line between sentences.

Reading takes ``token<TAB>tag`` (or space-separated columns, the tag last, as CoNLL-2003),
and the ``token start end tag [tag...]`` files this module writes. ``-DOCSTART-`` lines
separate documents (``-DOCSTART-<TAB>id`` names one). Without offsets the text is rebuilt
as tokens joined by one space and sentences by a newline; with offsets every token goes
back to its place and the gaps are filled with spaces (a newline between sentences), so
spans keep their original offsets. Tags: BIO, IOB1 (``I-`` opening a span), BIOES/BILOU.

Writing needs words: :func:`clinicalner.text.words.word_spans`. Columns are ``token start end tag``; when spans of different types
overlap anywhere in the file, one more column per label follows, each a BIO layer of that
label alone (the ``tag`` column keeps a non-overlapping selection so that two-column tools
still read something sensible). A word that a span starts or ends inside (``TC cerebra|l``)
is written as two tokens, cut there: the offset columns keep both in place, so reading back
gives the same spans. What BIO cannot hold is reported in the WriteReport, not written:
discontinuous spans, a span overlapping another of its own type, and a span starting or
ending on whitespace (a token holds none). Sentences break at line breaks and sentence ends
(:func:`clinicalner.text.sentences.sentence_spans`), never inside a span.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from clinicalner.atomic import atomic_write
from clinicalner.document import Document, Span, make_span
from clinicalner.errors import CorpusError, Problems
from clinicalner.io.common import (
    BOM,
    WriteReport,
    brief,
    brief_numbers,
    is_number,
    need_text,
    open_regular,
    split_from_name,
    word_tokenizer,
)

DOCSTART = "-DOCSTART-"
_NEWLINE = re.compile("\n")
_SPACE = re.compile(r"\s")
_PREFIXES = {"B", "I", "E", "S", "L", "U"}


# ---------------------------------------------------------------------------------------------
# Reading


class _Token:
    __slots__ = ("line", "offsets", "tags", "text")

    def __init__(self, text: str, tags: list[str], line: int, offsets: tuple[int, int] | None) -> None:
        self.text = text
        self.tags = tags
        self.line = line
        self.offsets = offsets


def read_file(path: Path, problems: Problems, language: str | None = None) -> Iterator[Document]:
    """Documents of one CoNLL file, one at a time."""
    path = Path(path)
    meta: dict[str, Any] = {"source": str(path)}
    split = split_from_name(path.name)
    if split:
        meta["split"] = split
    doc_id: str | None = None
    sentences: list[list[_Token]] = []
    sentence: list[_Token] = []
    count = 0

    def finish() -> Iterator[Document]:
        nonlocal count, sentences, sentence
        if sentence:
            sentences.append(sentence)
        if sentences or doc_id is not None:
            count += 1
            name = doc_id or f"{path.stem}-{count:05d}"
            doc = _build(name, sentences, path, problems, language, meta)
            if doc is not None:
                yield doc
        sentences, sentence = [], []

    offset = 0
    with open_regular(path) as f:
        for no, raw in enumerate(f, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                problems.report(
                    CorpusError(f"not valid UTF-8 at byte offset {offset + e.start} ({e.reason})", path, no)
                )
                offset += len(raw)
                continue
            offset += len(raw)
            if no == 1:
                line = line.removeprefix(BOM)
            line = line.rstrip("\r\n")
            if line.startswith(DOCSTART) and not _token_line(line):
                yield from finish()
                rest = line[len(DOCSTART) :].split()
                doc_id = rest[0] if rest and rest[0] != "-X-" else None
                continue
            if not line.strip():
                if sentence:
                    sentences.append(sentence)
                    sentence = []
                continue
            cols = line.split("\t") if "\t" in line else line.split()
            if len(cols) < 2:
                problems.report(CorpusError("expected a token and a tag separated by a tab", path, no))
                continue
            if len(cols) >= 4 and any(c.isdigit() and not _is_int(c) for c in cols[1:3]):
                problems.report(
                    CorpusError(
                        f"token offsets {brief_numbers(cols[1])} and {brief_numbers(cols[2])} hold digits that "
                        "are not ASCII (superscripts, other scripts): write offsets with 0-9",
                        path,
                        no,
                    )
                )
                continue
            if len(cols) >= 4 and _is_int(cols[1]) and _is_int(cols[2]):
                a, b = int(cols[1]), int(cols[2])
                if b - a != len(cols[0]):
                    problems.report(
                        CorpusError(
                            f"token offsets {a}-{b} do not fit a token of length {len(cols[0])}", path, no
                        )
                    )
                    continue
                sentence.append(_Token(cols[0], cols[3:], no, (a, b)))
            else:
                sentence.append(_Token(cols[0], [cols[-1]], no, None))
    yield from finish()


def _is_int(s: str) -> bool:
    return is_number(s)


def _token_line(line: str) -> bool:
    """A token that happens to read ``-DOCSTART-`` in a file with offsets."""
    cols = line.split("\t")
    return len(cols) >= 4 and _is_int(cols[1]) and _is_int(cols[2])


#: The least a document rebuilt from token offsets may span, whatever the file's size.
MIN_TEXT_LIMIT = 1_000_000


def text_limit(path: Path) -> int:
    """How long a text rebuilt from the token offsets of ``path`` may be.

    A CoNLL file has no text: it is rebuilt with spaces where the offsets leave gaps, so an
    absurd offset (10^12) would be an allocation of terabytes rather than an error. The
    whitespace between tokens is bounded by ten times the file's size (at least a million
    characters): far more than any real note has, far less than a typo asks for.
    """
    try:
        size = path.stat().st_size
    except OSError:
        size = 0
    return max(MIN_TEXT_LIMIT, 10 * size)


def _build(
    doc_id: str,
    sentences: list[list[_Token]],
    path: Path,
    problems: Problems,
    language: str | None,
    meta: dict[str, Any],
) -> Document | None:
    with_offsets = all(t.offsets is not None for s in sentences for t in s)
    mixed = not with_offsets and any(t.offsets is not None for s in sentences for t in s)
    if mixed:
        # the first line whose kind differs from the document's first token names where
        first = sentences[0][0].offsets is not None
        odd = next(t for s in sentences for t in s if (t.offsets is not None) != first)
        problems.report(
            CorpusError(
                f"document {doc_id!r} mixes lines with and without offsets (this line: "
                f"{'none' if first else 'offsets'}; its first token's: {'offsets' if first else 'none'}); "
                "offsets are whole numbers in ASCII digits",
                path,
                odd.line,
            )
        )
        return None
    positions: list[list[tuple[int, int]]] = []
    if with_offsets:
        chars: list[str] = []
        last_end = 0
        limit = text_limit(path)
        for si, sent in enumerate(sentences):
            pos = []
            for ti, tok in enumerate(sent):
                a, b = tok.offsets  # type: ignore[misc]
                if b > limit:
                    problems.report(
                        CorpusError(
                            f"token offsets {a}-{b} lie far beyond any text this file can describe (the "
                            f"text is rebuilt from the tokens and the spaces between them; at most "
                            f"{limit:,} characters here): a typo in the offsets?",
                            path,
                            tok.line,
                        )
                    )
                    return None
                if a < last_end:
                    problems.report(
                        CorpusError(
                            f"token starts at {a}, before the previous token ends ({last_end})",
                            path,
                            tok.line,
                        )
                    )
                    return None
                gap = a - last_end
                if gap:
                    first = "\n" if (ti == 0 and si > 0) else " "
                    chars.append(first + " " * (gap - 1))
                chars.append(tok.text)
                last_end = b
                pos.append((a, b))
            positions.append(pos)
        text = "".join(chars)
    else:
        parts: list[str] = []
        n = 0
        for si, sent in enumerate(sentences):
            if si:
                parts.append("\n")
                n += 1
            pos = []
            for ti, tok in enumerate(sent):
                if ti:
                    parts.append(" ")
                    n += 1
                pos.append((n, n + len(tok.text)))
                parts.append(tok.text)
                n += len(tok.text)
            positions.append(pos)
        text = "".join(parts)
    spans: dict[tuple[int, int, str], Span] = {}
    width = max((len(t.tags) for s in sentences for t in s), default=0)
    for col in range(width):
        for sent, pos in zip(sentences, positions, strict=True):
            for s in _decode(sent, pos, col, path, problems):
                spans.setdefault(s.key, s)
    doc = Document(doc_id, text, [], language, None, dict(meta))
    doc.spans = [
        doc.check_span(s, str(path)) for s in sorted(spans.values(), key=lambda s: (s.start, s.end, s.label))
    ]
    return doc


def _split_tag(tag: str) -> tuple[str, str | None]:
    if tag == "O" or tag == "_" or tag == "-":
        return "O", None
    if len(tag) > 2 and tag[1] in "-_" and tag[0].upper() in _PREFIXES:
        return tag[0].upper(), tag[2:]
    return "?", None


def _decode(
    sent: Sequence[_Token], pos: Sequence[tuple[int, int]], col: int, path: Path, problems: Problems
) -> Iterator[Span]:
    """Spans of one tag column of one sentence; an unreadable tag is a problem on its line."""
    start: int | None = None
    end = 0
    label: str | None = None
    for tok, (a, b) in zip(sent, pos, strict=True):
        tag = tok.tags[col] if col < len(tok.tags) else "O"
        prefix, lab = _split_tag(tag)
        if prefix == "?":
            problems.report(
                CorpusError(f"tag {brief(tag, 40)} is not O, B-X, I-X (or E-, S-, L-, U-)", path, tok.line)
            )
            prefix, lab = "O", None
        continues = prefix in ("I", "E", "L") and label == lab and start is not None
        if not continues and start is not None and label is not None:
            yield make_span(start, end, label)
            start, label = None, None
        if prefix == "O":
            continue
        if not continues:
            start, label = a, lab
        end = b
        if prefix in ("E", "L", "S", "U"):
            yield make_span(start, end, label)  # type: ignore[arg-type]
            start, label = None, None
    if start is not None and label is not None:
        yield make_span(start, end, label)


# ---------------------------------------------------------------------------------------------
# Writing


def _sentence_ends(text: str, language: str | None) -> set[int]:
    """Offsets at which a sentence ends: line breaks and the sentence splitter's ends."""
    from clinicalner.text.sentences import sentence_spans

    ends = {m.start() for m in _NEWLINE.finditer(text)}
    ends.update(e for _, e in sentence_spans(text, language))
    return ends


def _tokens(text: str, language: str | None) -> list[tuple[int, int]]:
    """Word spans with no whitespace inside (a token line cannot hold any)."""
    out = []
    for a, b in word_tokenizer()(text, language):
        piece = text[a:b]
        if piece and _SPACE.search(piece) is None:
            out.append((a, b))
            continue
        i = a
        for j, c in enumerate(piece, a):
            if c.isspace():
                if i < j:
                    out.append((i, j))
                i = j + 1
        if i < b:
            out.append((i, b))
    return out


def split_at(tokens: Sequence[tuple[int, int]], cuts: Iterable[int]) -> list[tuple[int, int]]:
    """Tokens cut at every offset in ``cuts`` that falls strictly inside one of them."""
    points = sorted(set(cuts))
    if not points:
        return list(tokens)
    out: list[tuple[int, int]] = []
    for a, b in tokens:
        i = bisect.bisect_right(points, a)
        while i < len(points) and points[i] < b:
            out.append((a, points[i]))
            a = points[i]
            i += 1
        out.append((a, b))
    return out


def _layer(
    doc: Document,
    spans: Sequence[Span],
    starts: dict[int, int],
    ends: dict[int, int],
    report: WriteReport | None,
) -> tuple[list[Span], dict[int, str]]:
    """Place spans on tokens, greedily, earliest and longest first; report what cannot go."""
    kept: list[Span] = []
    tags: dict[int, str] = {}
    taken_until = -1
    for span in sorted(spans, key=lambda s: (s.start, -s.end, s.label)):
        if span.start < taken_until:
            if report is not None:
                report.drop(doc, span, "overlaps another span of its type (BIO holds one per token)")
            continue
        i, j = starts.get(span.start), ends.get(span.end)
        if i is None or j is None or j < i:
            if report is not None:
                report.drop(doc, span, "starts or ends on whitespace (a token holds none)")
            continue
        tags[i] = f"B-{span.label}"
        for k in range(i + 1, j + 1):
            tags[k] = f"I-{span.label}"
        kept.append(span)
        taken_until = span.end
    return kept, tags


def write_file(documents: Iterable[Document], path: Path) -> WriteReport:
    """Write ``token start end tag [tag_per_label...]`` lines, documents after ``-DOCSTART-\\tid``."""
    path = Path(path)
    report = WriteReport(path, "conll")
    docs = list(documents)
    prepared = []
    labels: set[str] = set()
    layered = False
    duplicates = 0
    for doc in docs:
        need_text(doc, "CoNLL")
        report.tally_metadata(doc)
        if any(c.isspace() for c in doc.id) or not doc.id:
            raise CorpusError(f"document id {doc.id!r} cannot follow -DOCSTART- (it holds whitespace)")
        cuts = (p for span in doc.spans if not span.is_discontinuous for p in (span.start, span.end))
        toks = split_at(_tokens(doc.text, doc.language), cuts)
        starts = {a: i for i, (a, _) in enumerate(toks)}
        ends = {b: i for i, (_, b) in enumerate(toks)}
        per_label: dict[str, list[Span]] = {}
        for span in doc.spans:
            if span.is_discontinuous:
                report.drop(doc, span, "discontinuous (BIO holds contiguous spans)")
                continue
            if not span.label or any(c.isspace() for c in span.label):
                report.drop(doc, span, "label is empty or holds whitespace")
                continue
            per_label.setdefault(span.label, []).append(span)
        placed: dict[str, list[Span]] = {}
        layers: dict[str, dict[int, str]] = {}
        for label, spans in per_label.items():
            unique = list({s.key: s for s in spans}.values())
            duplicates += len(spans) - len(unique)
            placed[label], layers[label] = _layer(doc, unique, starts, ends, report)
        all_placed = [s for v in placed.values() for s in v]
        report.spans += len(all_placed)
        _, main = _layer(doc, all_placed, starts, ends, None)
        if sum(1 for t in main.values() if t.startswith("B-")) < len(all_placed):
            layered = True
        labels.update(per_label)
        prepared.append((doc, toks, main, layers, all_placed))
    columns = sorted(labels) if layered else []
    if duplicates:
        report.notes.append(f"{duplicates} duplicate spans (same offsets and label) written once")
    rewritten: list[str] = []  # documents whose text reads back with other whitespace
    with atomic_write(path) as f:
        for doc, toks, main, layers, placed in prepared:
            f.write(f"{DOCSTART}\t{doc.id}\n\n")
            breaks = _breaks(doc, toks, placed)
            if read_back_text(doc.text, toks, breaks) != doc.text:
                rewritten.append(doc.id)
            col_layers = [layers.get(lab, {}) for lab in columns]
            out = []
            text = doc.text
            for i, (a, b) in enumerate(toks):
                line = f"{text[a:b]}\t{a}\t{b}\t{main.get(i, 'O')}"
                if col_layers:
                    line += "".join("\t" + layer.get(i, "O") for layer in col_layers)
                out.append(line + ("\n\n" if i in breaks else "\n"))
            f.write("".join(out))
            report.documents += 1
    if columns:
        report.notes.append(
            f"spans of different types overlap: one BIO column per label follows 'tag' ({columns})"
        )
    if rewritten:
        shown = ", ".join(rewritten[:3]) + (", ..." if len(rewritten) > 3 else "")
        report.notes.append(
            f"{len(rewritten)} documents: whitespace of the text not kept (CoNLL holds tokens at their "
            "offsets; reading back, a gap becomes spaces, a newline where a sentence starts, and "
            f"trailing whitespace is dropped); span offsets unchanged ({shown})"
        )
    return report


def read_back_text(text: str, toks: Sequence[tuple[int, int]], breaks: set[int]) -> str:
    """The text a reader rebuilds from the tokens written (see :func:`_build`).

    Only tokens and their offsets are in the file: comparing this with the text tells the
    writer which documents come back with other whitespace, so it can say so.
    """
    chars: list[str] = []
    last_end = 0
    for i, (a, b) in enumerate(toks):
        gap = a - last_end
        if gap:
            chars.append(("\n" if i > 0 and i - 1 in breaks else " ") + " " * (gap - 1))
        chars.append(text[a:b])
        last_end = b
    return "".join(chars)


def _breaks(doc: Document, toks: Sequence[tuple[int, int]], spans: Sequence[Span]) -> set[int]:
    """Token indexes after which a sentence ends: at a sentence end, never inside a span."""
    ends = sorted(_sentence_ends(doc.text, doc.language))
    covered = sorted((s.start, s.end) for s in spans)
    starts = [a for a, _ in covered]
    reach = list(itertools.accumulate((e for _, e in covered), max))  # furthest end of spans so far
    out = set()
    for i in range(len(toks) - 1):
        gap_a, gap_b = toks[i][1], toks[i + 1][0]
        k = bisect.bisect_left(ends, gap_a)
        if k == len(ends) or ends[k] > gap_b:
            continue
        j = bisect.bisect_right(starts, gap_a)  # spans starting at or before the gap
        if j == 0 or reach[j - 1] <= gap_a:
            out.add(i)
    out.add(len(toks) - 1)
    return out
