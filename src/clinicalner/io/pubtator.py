"""PubTator: ``PMID|t|title``, ``PMID|a|abstract``, then tab-separated mention lines.

The document text is ``title + " " + abstract`` (title, one space, abstract: the offsets
of BC5CDR and BioRED run over that), even when the abstract is empty; the title alone when
there is no abstract line. The writer splits a text at its first line break unless
``metadata["title_end"]`` (set by the reader) says where the title ends, and writes line
breaks as spaces: one character for one, so no offset moves.

Mention lines are ``PMID start end text type [id [more...]]``. The id column and any
further ones (BC5CDR's composite mentions carry their parts) are kept per span in
``metadata["pubtator"]["ids"]`` under ``"start end label"`` and written back. Relation lines
(``PMID type arg1 arg2 [...]``: BC5CDR's CID, BioRED's relations) are not spans; they are
kept as column lists in ``metadata["pubtator"]["relations"]`` and written back too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
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
    span_surface,
    split_from_name,
)

_TITLE = re.compile(r"^([^|\t]*)\|([ta])\|(.*)$", re.DOTALL)
_SNIFF = re.compile(r"^\s*([^|\t\s]+)\|[ta]\|")


def looks_like_pubtator(head: str, named: bool = False) -> bool:
    """Whether ``head`` starts as a PubTator file: a title or abstract line, then another
    line of the same document (its abstract, a mention or relation line).

    One line is not enough: a clinical note may well begin with ``2|t|``, and a folder of
    notes must not be taken for PubTator (or rejected as "mixed formats") by its text.
    ``named``: the file name says PubTator, so the first line is enough.
    """
    lines = head.lstrip("\ufeff").split("\n")
    m = _SNIFF.match(lines[0])
    if m is None:
        return False
    if named:
        return True
    pmid = m.group(1).strip()
    return len(lines) > 1 and lines[1].lstrip().startswith((f"{pmid}|", f"{pmid}\t"))


class _Doc:
    def __init__(self, pmid: str, line: int) -> None:
        self.pmid = pmid
        self.line = line
        self.title: str | None = None
        self.abstract: str | None = None
        self.mentions: list[tuple[int, int, int, str, str, list[str]]] = []  # line, s, e, text, type, extra
        self.relations: list[list[str]] = []

    @property
    def text(self) -> str:
        title = self.title or ""
        return f"{title} {self.abstract}" if self.abstract is not None else title


def read_file(path: Path, problems: Problems, language: str | None = None) -> Iterator[Document]:
    """The documents of one PubTator file, in order, one at a time."""
    path = Path(path)
    meta: dict[str, Any] = {"source": str(path)}
    split = split_from_name(path.name)
    if split:
        meta["split"] = split
    current: _Doc | None = None
    offset = 0
    with open_regular(path) as f:
        for no, raw in enumerate(f, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                problems.report(
                    CorpusError(
                        f"not valid UTF-8: byte 0x{raw[e.start]:02x} at byte offset {offset + e.start} "
                        f"({e.reason}); re-save the file as UTF-8",
                        path,
                        no,
                    )
                )
                offset += len(raw)
                continue
            offset += len(raw)
            if no == 1:
                line = line.removeprefix(BOM)
            line = line.rstrip("\r\n")
            if not line.strip():
                if current is not None:
                    yield from _finish(current, path, problems, language, meta)
                    current = None
                continue
            m = _TITLE.match(line)
            if m:
                pmid, kind, body = m.groups()
                if kind == "t":
                    if current is not None:
                        yield from _finish(current, path, problems, language, meta)
                    current = _Doc(pmid, no)
                    current.title = body
                elif current is None or current.pmid != pmid:
                    problems.report(
                        CorpusError(f"abstract line for {pmid!r} without its title line", path, no)
                    )
                else:
                    current.abstract = body
                continue
            cols = line.split("\t")
            if len(cols) < 3:
                problems.report(
                    CorpusError("not a PubTator line (title, abstract, mention or relation)", path, no)
                )
                continue
            if current is None:
                problems.report(CorpusError("annotation line before any title line (PMID|t|...)", path, no))
                continue
            if cols[0] != current.pmid:
                problems.report(
                    CorpusError(
                        f"line for document {brief(cols[0])} inside document {current.pmid!r}", path, no
                    )
                )
                continue
            if len(cols) >= 3 and is_number(cols[1]) and is_number(cols[2]):
                if len(cols) < 5:
                    problems.report(
                        CorpusError(
                            f"mention line has {len(cols)} columns; expected PMID, start, end, text, type [, id]",
                            path,
                            no,
                        )
                    )
                    continue
                current.mentions.append((no, int(cols[1]), int(cols[2]), cols[3], cols[4], cols[5:]))
            elif _looks_like_mention(cols, current):
                problems.report(
                    CorpusError(
                        f"mention line with bad offsets: start {brief_numbers(cols[1])} and end {brief_numbers(cols[2])} must be "
                        "whole numbers (PMID, start, end, text, type [, id])",
                        path,
                        no,
                    )
                )
            else:
                current.relations.append(cols[1:])
    if current is not None:
        yield from _finish(current, path, problems, language, meta)


_NUMBER_LIKE = re.compile(r"^\s*[-+]?\.?\d")


def _looks_like_mention(cols: list[str], doc: _Doc) -> bool:
    """Whether a line with unreadable offsets was meant as a mention, not a relation.

    Relations are ``PMID TYPE ARG1 ARG2 [...]`` (BioRED's gene ids make ARG1 a number), so a
    mention is recognised by a start that reads like a number (``5``, ``12a``, ``-1``, ``0.0``),
    a negative end, or a whole-number end with the line's text ending there or its type being
    a mention type of the document.
    """
    if len(cols) < 5:
        return False
    if _NUMBER_LIKE.match(cols[1]) or re.match(r"^\s*-\d", cols[2]):
        return True
    if not is_number(cols[2]):
        return False
    end, stored = int(cols[2]), cols[3]
    text = doc.text
    if stored and end <= len(text) and text[end - len(stored) : end] == stored:
        return True
    return any(m[4] == cols[4] for m in doc.mentions)


def _finish(
    d: _Doc, path: Path, problems: Problems, language: str | None, meta: dict[str, Any]
) -> Iterator[Document]:
    text = d.text
    doc = Document(d.pmid, text, [], language, None, dict(meta))
    spans: list[Span] = []
    ids: dict[str, list[str]] = {}
    for no, s, e, stored, label, extra in d.mentions:
        if s >= e:
            problems.report(CorpusError(f"empty or reversed span {s}-{e} ({label})", path, no))
            continue
        try:
            span = doc.check_span(make_span(s, e, label, stored), str(path), no)
        except CorpusError as err:
            problems.report(err)
            continue
        spans.append(span)
        if extra:
            ids.setdefault(f"{s} {e} {label}", extra)
    doc.spans = spans
    doc.metadata["title_end"] = len(d.title or "")
    pub: dict[str, Any] = {}
    if ids:
        pub["ids"] = ids
    if d.relations:
        pub["relations"] = d.relations
    if pub:
        doc.metadata["pubtator"] = pub
    yield doc


# ---------------------------------------------------------------------------------------------
# Writing


def _title_end(doc: Document) -> int:
    text = doc.text
    te = doc.metadata.get("title_end")
    if isinstance(te, int) and 0 <= te <= len(text) and (te == len(text) or text[te] == " "):
        return te
    nl = text.find("\n")
    return nl if nl >= 0 else len(text)


def _flat(s: str) -> str:
    # A title or abstract is one line: a line break becomes a space (one character for one,
    # so no offset moves).
    return s.replace("\r", " ").replace("\n", " ")


def document_lines(doc: Document, report: WriteReport) -> list[str]:
    need_text(doc, "PubTator")
    pmid = doc.id
    if not pmid or any(c in pmid for c in "|\t\r\n"):
        raise CorpusError(f"document id {pmid!r} cannot be a PubTator id (no '|', tab or line break)")
    te = _title_end(doc)
    lines = [f"{pmid}|t|{_flat(doc.text[:te])}\n"]
    if te < len(doc.text):  # no abstract line for a text that is all title: it reads back unchanged
        lines.append(f"{pmid}|a|{_flat(doc.text[te + 1 :])}\n")
    pub = doc.metadata.get("pubtator") or {}
    ids = pub.get("ids") or {}
    for span in doc.spans:
        if span.is_discontinuous:
            report.drop(doc, span, "discontinuous (PubTator holds one start and end per mention)")
            continue
        if not span.label or any(c in span.label for c in "\t\r\n"):
            report.drop(doc, span, "label is empty or holds a tab or line break")
            continue
        stored = _flat(span_surface(doc, span)).replace("\t", " ")
        extra = ids.get(f"{span.start} {span.end} {span.label}") or []
        lines.append("\t".join([pmid, str(span.start), str(span.end), stored, span.label, *extra]) + "\n")
        report.spans += 1
    for rel in pub.get("relations") or []:
        lines.append("\t".join([pmid, *map(str, rel)]) + "\n")
    return lines


def write_file(documents: Iterable[Document], path: Path) -> WriteReport:
    """Documents as PubTator, one blank line apart; line breaks of the texts become spaces.

    That (one character for one: no offset moves) is said once in the report, with a count
    and the first few document ids.
    """
    report = WriteReport(Path(path), "pubtator")
    flattened: list[str] = []
    with atomic_write(path) as f:
        for doc in documents:
            f.writelines(document_lines(doc, report))
            f.write("\n")
            report.tally_metadata(doc, ("pubtator",))
            if any(c in doc.text for c in "\r\n"):
                flattened.append(doc.id)
            report.documents += 1
    if flattened:
        shown = ", ".join(flattened[:3]) + (", ..." if len(flattened) > 3 else "")
        report.notes.append(
            f"{len(flattened)} documents: line breaks in the text written as spaces, offsets unchanged ({shown})"
        )
    return report
