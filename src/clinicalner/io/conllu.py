"""CoNLL-U (Universal Dependencies), with entity tags in the MISC column or an extra column.

Offsets: each sentence's text is its ``# text`` line, exactly; every surface token is found
in it from left to right (only whitespace may lie between tokens; anything else is an error
naming the line). A multi-word token (``3-4 della`` over the words ``di`` ``la``) is one
surface token: it is placed by its own form and tagged by the first tag among its range
line and its words. Empty nodes (``5.1``) are skipped. A sentence without ``# text`` is
rebuilt from the surface forms, one space after each unless its MISC says
``SpaceAfter=No`` (or ``SpacesAfter=...``, UDPipe's exact whitespace).

Tags (``--conllu-tags``): ``misc:KEY`` (default ``misc:BioNERLabel``, SiMoNERo's) reads
``KEY=B-DISO`` in the MISC column; ``column:N`` / ``column:NAME`` reads a column (CoNLL-U
Plus). ``_`` and ``O`` are outside; ``B-``/``I-``/``E-``/``S-`` (and ``L-``/``U-``) prefixes
are read as BIO/BIOES; a bare label (``DISO``) continues a span of that label (IO tagging).

Orphan ``I-`` tags (an ``I-X`` after neither ``B-X`` nor ``I-X``: SiMoNERo has about a
hundred, fragments of coordinated mentions, "afecțiuni pulmonare restrictive sau
obstructive") follow ``--conllu-orphans``: ``start`` (default) opens a new span, as
conlleval and the published SiMoNERo scores count them; ``join`` stretches the previous span
of type X in the sentence over the words between. Either way they are counted: per document
in ``metadata["conllu_orphans"]``, and per file in a logged warning.

Writing (:func:`write_file`): one ``# newdoc`` per document, the text kept exact through
``# text`` and UDPipe's ``SpacesBefore``/``SpacesAfter`` (which the reader honours when it
groups sentences into documents).

Documents (``--conllu-documents``): ``sentence`` (one per sentence, id = ``sent_id``),
``newdoc`` (one per ``# newdoc``, id from ``# newdoc id = ...``; its sentences joined by a
newline, a blank line before ``# newpar``), ``file``, or ``auto``: ``newdoc`` when the first
sentence opens one, else ``sentence``.
"""

from __future__ import annotations

import bisect
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clinicalner.atomic import atomic_write
from clinicalner.document import Document, Span, make_span
from clinicalner.errors import CorpusError, Problems
from clinicalner.io.common import WriteReport, brief, decode, need_text, split_from_name
from clinicalner.io.options import ReaderOptions, conllu_tag_source

log = logging.getLogger(__name__)
_TEXT_COMMENT = re.compile(r"#\s*text\s*=(?: )?(.*)")  # "# text = ...", also "#text=..."; not "# text_en"
CONLLU_SUFFIXES = frozenset({".conllu", ".conllup"})
_OUTSIDE = frozenset({"", "_", "O"})
_PREFIXES = {"B": "B", "I": "I", "E": "E", "S": "S", "L": "E", "U": "S"}


@dataclass
class _Token:
    """A surface token: its form, tag, whether a space follows, and where it was read."""

    form: str
    tag: str
    space_after: bool
    line: int
    spaces_before: str | None = None  # UDPipe's SpacesBefore / SpacesAfter, unescaped
    spaces_after: str | None = None


@dataclass
class _Sentence:
    comments: dict[str, str] = field(default_factory=dict)
    tokens: list[_Token] = field(default_factory=list)
    newdoc: str | None = None  # "" for an unnamed # newdoc
    newpar: bool = False
    line: int = 0


_ESCAPES = {"s": " ", "t": "\t", "n": "\n", "r": "\r", "p": "|", "\\": "\\"}


def _unescape(value: str | None) -> str | None:
    """A UDPipe ``SpacesAfter`` / ``SpacesBefore`` value (``\\s\\s``, ``\\r\\n``) as the characters it stands for."""
    if value is None:
        return None
    out, i = [], 0
    while i < len(value):
        if value[i] == "\\" and i + 1 < len(value) and value[i + 1] in _ESCAPES:
            out.append(_ESCAPES[value[i + 1]])
            i += 2
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


def _escape(value: str) -> str:
    return "".join(
        {" ": "\\s", "\t": "\\t", "\n": "\\n", "\r": "\\r", "|": "\\p", "\\": "\\\\"}.get(c, c) for c in value
    )


def _misc(value: str) -> dict[str, str]:
    out: dict[str, str] = {}
    if value in ("", "_"):
        return out
    for item in value.split("|"):
        key, _, val = item.partition("=")
        out[key] = val
    return out


def _sentences(path: Path, problems: Problems, options: ReaderOptions) -> Iterator[_Sentence]:
    """The sentences of a file: comments, surface tokens with their tags."""
    text, _bom = decode(path.read_bytes(), path)
    kind, where = conllu_tag_source(options.conllu_tags)
    column: int | None = where if isinstance(where, int) else None
    sentence = _Sentence()
    mwt_end = 0  # last word id covered by the current multi-word token
    mwt: _Token | None = None
    lines = text.split("\n")
    for no, raw in enumerate(lines, 1):
        line = raw.removesuffix("\r")
        if not line.strip():
            if sentence.tokens or sentence.comments:
                yield sentence
            sentence, mwt_end, mwt = _Sentence(), 0, None
            continue
        if line.startswith("#"):
            if not sentence.line:
                sentence.line = no
            body = line[1:].strip()
            if body.startswith("global.columns") and kind == "column" and isinstance(where, str):
                names = body.partition("=")[2].split()
                if where not in names:
                    raise CorpusError(f"--conllu-tags column:{where}: no such column in {names}", path, no)
                column = names.index(where)
            if body.startswith("newdoc"):
                sentence.newdoc = body.partition("=")[2].strip() if "=" in body else ""
            elif body.startswith("newpar"):
                sentence.newpar = True
            elif (m := _TEXT_COMMENT.match(line)) is not None:
                sentence.comments["text"] = m.group(1)
            elif "=" in body:
                key, _, val = body.partition("=")
                sentence.comments[key.strip()] = val.strip()
            continue
        if not sentence.line:
            sentence.line = no
        cols = line.split("\t")
        if len(cols) < 10:
            problems.report(
                CorpusError(
                    f"a token line needs 10 tab-separated columns, this one has {len(cols)}", path, no
                )
            )
            continue
        tid = cols[0]
        misc = _misc(cols[9])
        if kind == "misc":
            tag = misc.get(str(where), "")
        elif column is None:
            raise CorpusError(
                f"--conllu-tags column:{where}: the file has no '# global.columns' line naming it", path, no
            )
        else:
            tag = cols[column] if column < len(cols) else ""
        tag = tag.strip()
        if "." in tid:
            continue  # an empty node: no surface form
        if "-" in tid:
            first, _, last = tid.partition("-")
            if not (first.isdigit() and last.isdigit()):
                problems.report(CorpusError(f"bad token id {brief(tid)}", path, no))
                continue
            mwt_end = int(last)
            mwt = _Token(
                cols[1],
                tag,
                misc.get("SpaceAfter") != "No",
                no,
                _unescape(misc.get("SpacesBefore")),
                _unescape(misc.get("SpacesAfter")),
            )
            sentence.tokens.append(mwt)
            continue
        if not tid.isdigit():
            problems.report(CorpusError(f"bad token id {brief(tid)}", path, no))
            continue
        if int(tid) <= mwt_end:
            if mwt is not None and mwt.tag in _OUTSIDE and tag not in _OUTSIDE:
                mwt.tag = tag  # a word of a multi-word token carries the tag
            continue
        sentence.tokens.append(
            _Token(
                cols[1],
                tag,
                misc.get("SpaceAfter") != "No",
                no,
                _unescape(misc.get("SpacesBefore")),
                _unescape(misc.get("SpacesAfter")),
            )
        )
    if sentence.tokens or sentence.comments:
        yield sentence


def _place(sentence: _Sentence, path: Path) -> tuple[str, list[tuple[int, int]]]:
    """The sentence text and each token's offsets in it."""
    text = sentence.comments.get("text")
    if text is None:
        parts: list[str] = []
        offsets = []
        pos = 0
        for tok in sentence.tokens:
            offsets.append((pos, pos + len(tok.form)))
            pos += len(tok.form)
            parts.append(tok.form)
            gap = tok.spaces_after if tok.spaces_after is not None else (" " if tok.space_after else "")
            parts.append(gap)
            pos += len(gap)
        if sentence.tokens:  # what follows the last token separates sentences, it is not theirs
            parts.pop()
        return "".join(parts), offsets
    offsets = []
    pos = 0
    for tok in sentence.tokens:
        at = text.find(tok.form, pos)
        if at < 0 or text[pos:at].strip():
            raise CorpusError(
                f"token {brief(tok.form)} is not the next word of the sentence's '# text' "
                f"(looked from character {pos})",
                path,
                tok.line,
            )
        offsets.append((at, at + len(tok.form)))
        pos = at + len(tok.form)
    return text, offsets


def _spans(
    sentence: _Sentence, offsets: list[tuple[int, int]], base: int, orphans: str, path: Path
) -> tuple[list[Span], int]:
    """Spans of one sentence (offsets shifted by ``base``) and how many orphan ``I-`` tags it has."""
    spans: list[Span] = []
    open_: tuple[str, int, int] | None = None  # label, start, end
    last_of: dict[str, int] = {}  # label -> index in spans of its last span in this sentence
    prev_label: str | None = None  # label of the previous token's B-/I- tag
    orphan_count = 0

    def close() -> None:
        nonlocal open_
        if open_ is not None:
            label, a, b = open_
            last_of[label] = len(spans)
            spans.append(make_span(base + a, base + b, label))
            open_ = None

    for tok, (a, b) in zip(sentence.tokens, offsets, strict=True):
        tag = tok.tag
        if tag in _OUTSIDE:
            close()
            prev_label = None
            continue
        prefix, sep, label = tag.partition("-")
        if not sep or prefix not in _PREFIXES or not label:
            prefix, label = "I", tag  # IO tagging: a bare label continues its span
            continues = prev_label == label
        else:
            prefix = _PREFIXES[prefix]
            continues = prev_label == label
            if prefix in ("I", "E") and not continues:
                orphan_count += 1
                if orphans == "join" and label in last_of:
                    close()
                    k = last_of.pop(label)
                    old = spans.pop(k)
                    for lab, idx in list(last_of.items()):
                        if idx > k:
                            last_of[lab] = idx - 1
                    open_ = (label, old.start - base, b)
                    continues = True
        if prefix in ("B", "S") or not continues:
            close()
            open_ = (label, a, b)
        elif open_ is not None:
            open_ = (open_[0], open_[1], b)
        else:  # pragma: no cover - continues implies an open span
            open_ = (label, a, b)
        prev_label = label
        if prefix in ("E", "S"):
            close()
            prev_label = None
    close()
    return spans, orphan_count


def read_file(
    path: Path, problems: Problems, language: str | None = None, options: ReaderOptions | None = None
) -> Iterator[Document]:
    """Documents of one CoNLL-U file, grouped as ``options.conllu_documents`` says."""
    path = Path(path)
    options = options or ReaderOptions()
    mode = options.conllu_documents
    base_meta: dict[str, Any] = {"source": str(path)}
    split = split_from_name(path.name)
    if split:
        base_meta["split"] = split
    total_orphans = 0
    current: dict[str, Any] | None = None
    count = 0

    def new_doc(doc_id: str) -> dict[str, Any]:
        return {
            "id": doc_id,
            "parts": [],
            "spans": [],
            "orphans": 0,
            "length": 0,
            "sent_ids": [],
            "tail": None,
        }

    def add(d: dict[str, Any], piece: str) -> None:
        d["parts"].append(piece)
        d["length"] += len(piece)

    def finish(d: dict[str, Any]) -> Document:
        if mode != "sentence" and d["tail"]:
            add(d, d["tail"])  # the whitespace after the last sentence (SpacesAfter)
        meta = dict(base_meta)
        meta["conllu_orphans"] = d["orphans"]
        if len(d["sent_ids"]) == 1:
            meta["sent_id"] = d["sent_ids"][0]
        doc = Document(d["id"], "".join(d["parts"]), [], language, None, meta)
        doc.spans = [doc.check_span(s, str(path)) for s in d["spans"]]
        return doc

    for k, sentence in enumerate(_sentences(path, problems, options)):
        if k == 0 and mode == "auto":
            mode = "newdoc" if sentence.newdoc is not None else "sentence"
        try:
            text, offsets = _place(sentence, path)
        except CorpusError as err:
            problems.report(err)
            continue
        sent_id = sentence.comments.get("sent_id") or f"{path.stem}-{k + 1}"
        if mode == "sentence" or current is None or (mode == "newdoc" and sentence.newdoc is not None):
            if current is not None:
                yield finish(current)
            count += 1
            if mode == "sentence":
                doc_id = sent_id
            elif mode == "newdoc" and sentence.newdoc:
                doc_id = sentence.newdoc
            elif mode == "file":
                doc_id = path.stem
            else:
                doc_id = f"{path.stem}-{count}"
            current = new_doc(doc_id)
            first = sentence.tokens[0].spaces_before if sentence.tokens else None
            if mode != "sentence" and first:
                add(current, first)  # the whitespace before the first sentence (SpacesBefore)
        else:
            sep = current["tail"]
            add(current, sep if sep is not None else ("\n\n" if sentence.newpar else "\n"))
        spans, n = _spans(sentence, offsets, current["length"], options.conllu_orphans, path)
        add(current, text)
        current["tail"] = sentence.tokens[-1].spaces_after if sentence.tokens else None
        current["spans"].extend(spans)
        current["orphans"] += n
        current["sent_ids"].append(sent_id)
        total_orphans += n
    if current is not None:
        yield finish(current)
    if total_orphans:
        what = (
            "opened new spans"
            if options.conllu_orphans == "start"
            else "joined the previous span of their type"
        )
        log.warning(
            "%s: %d orphan I- tags (an I-X after no B-X/I-X) %s (--conllu-orphans start|join)",
            path,
            total_orphans,
            what,
        )


# ---------------------------------------------------------------------------------------------
# Writing


def write_file(documents: Iterable[Document], path: Path, tag_key: str = "BioNERLabel") -> WriteReport:
    """One CoNLL-U file: ``# newdoc id`` per document, a sentence per line or sentence of its text.

    Exact text: ``# text`` holds each sentence; the whitespace between sentences, before the first
    and after the last goes into UDPipe's ``SpacesAfter`` / ``SpacesBefore`` (omitted where it is
    the reader's default, one newline), so the text and every offset read back unchanged. Spans
    are BIO tags under ``tag_key`` in MISC, on the words of :mod:`clinicalner.text.words` cut at
    span boundaries. What one tag per token cannot hold is counted in the report, not written:
    discontinuous spans, overlapping spans (of one type or two), spans starting or ending on
    whitespace, and spans crossing a line break (a sentence is one ``# text`` line).
    """
    path = Path(path)
    report = WriteReport(path, "conllu")
    empty: list[str] = []
    with atomic_write(path) as f:
        for doc in documents:
            need_text(doc, "CoNLL-U")
            if not doc.id or doc.id != doc.id.strip() or any(c in doc.id for c in "\r\n"):
                raise CorpusError(
                    f"document id {doc.id!r} cannot be a '# newdoc id' (empty, or edged or broken by whitespace)"
                )
            report.tally_metadata(doc)
            block = _document(doc, report, tag_key)
            if block is None:
                empty.append(doc.id)
                continue
            f.write(block)
            report.documents += 1
    if empty:
        shown = ", ".join(empty[:3]) + (", ..." if len(empty) > 3 else "")
        report.notes.append(
            f"{len(empty)} documents without a word not written (CoNLL-U has no empty sentence): {shown}"
        )
    return report


def _sentence_ranges(
    text: str, language: str | None, spans: list[Span], doc: Document, report: WriteReport
) -> tuple[list[tuple[int, int]], list[Span]]:
    """Sentences (no line break inside), joined where a span crosses a sentence end on one line;
    the spans that cross a line break are dropped (reported)."""
    from clinicalner.text.sentences import sentence_spans

    pieces = sentence_spans(text, language, every_line=True)
    if not pieces:
        return [], []
    starts = [a for a, _ in pieces]
    joined = [False] * len(pieces)  # joined[i]: piece i continues piece i - 1
    kept: list[Span] = []
    for span in spans:
        i = max(bisect.bisect_right(starts, span.start) - 1, 0)
        j = max(bisect.bisect_right(starts, span.end - 1) - 1, 0)
        if any(c in text[pieces[k - 1][1] : pieces[k][0]] for k in range(i + 1, j + 1) for c in "\r\n"):
            report.drop(doc, span, "crosses a line break (a CoNLL-U sentence is one '# text' line)")
            continue
        for k in range(i + 1, j + 1):
            joined[k] = True
        kept.append(span)
    out: list[tuple[int, int]] = []
    for k, (a, b) in enumerate(pieces):
        if joined[k] and out:
            out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out, kept


def _document(doc: Document, report: WriteReport, tag_key: str) -> str | None:
    from clinicalner.io.conll import _layer, _tokens, split_at

    text = doc.text
    candidates: list[Span] = []
    for span in doc.spans:
        if span.is_discontinuous:
            report.drop(doc, span, "discontinuous (BIO holds contiguous spans)")
        elif not span.label or any(c.isspace() or c in "|=" for c in span.label):
            report.drop(doc, span, "label is empty or holds whitespace, '|' or '=' (not a MISC value)")
        else:
            candidates.append(span)
    unique = list({s.key: s for s in candidates}.values())
    if len(unique) < len(candidates):
        report.notes.append(f"{doc.id}: {len(candidates) - len(unique)} duplicate spans written once")
    sentences, spans = _sentence_ranges(text, doc.language, unique, doc, report)
    if not sentences:
        for span in spans:
            report.drop(doc, span, "document without a word")
        return None
    toks = split_at(_tokens(text, doc.language), (p for s in spans for p in (s.start, s.end)))
    starts = {a: i for i, (a, _) in enumerate(toks)}
    ends = {b: i for i, (_, b) in enumerate(toks)}
    placed: list[Span] = []
    for label in sorted({s.label for s in spans}):
        kept, _ = _layer(doc, [s for s in spans if s.label == label], starts, ends, report)
        placed.extend(kept)
    single, tags = _layer(doc, placed, starts, ends, None)
    for span in set(placed) - set(single):
        report.drop(doc, span, "overlaps a span of another type (CoNLL-U MISC holds one tag per token)")
    report.spans += len(single)
    lines = [f"# newdoc id = {doc.id}"]
    t = 0
    for k, (a, b) in enumerate(sentences):
        sent_id = doc.metadata.get("sent_id") if len(sentences) == 1 else None
        lines += [f"# sent_id = {sent_id or f'{doc.id}-{k + 1}'}", f"# text = {text[a:b]}"]
        first = t
        while t < len(toks) and toks[t][1] <= b:
            ta, tb = toks[t]
            misc = []
            if t in tags:
                misc.append(f"{tag_key}={tags[t]}")
            last = t + 1 >= len(toks) or toks[t + 1][1] > b
            if not last and toks[t + 1][0] == tb:
                misc.append("SpaceAfter=No")
            if t == first == 0 and a > 0:
                misc.append(f"SpacesBefore={_escape(text[:a])}")
            if last:
                after = text[tb : sentences[k + 1][0]] if k + 1 < len(sentences) else text[tb:]
                if after != ("\n" if k + 1 < len(sentences) else ""):
                    misc.append(f"SpacesAfter={_escape(after)}")
            lines.append(f"{t - first + 1}\t{text[ta:tb]}\t_\t_\t_\t_\t_\t_\t_\t{'|'.join(misc) or '_'}")
            t += 1
        lines.append("")
    return "\n".join(lines) + "\n"
