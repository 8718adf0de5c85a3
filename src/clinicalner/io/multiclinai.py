"""The MultiClinAI / BSC TSV layout: one TSV of spans beside a ``txt/`` folder of texts.

Two trees are read the same way, by finding every folder that has a ``txt/`` subfolder
(a *group*): the release's ``MultiClinNER-<lang>/MultiClinNER-<lang>-<split>/<type>/``
with ``txt/`` and ``tsv/`` (or ``ann/``), and the simplified ``<lang>/<split>/<type>/``
with ``txt/`` and ``<lang>_<split>_<type>.tsv``. Folder names give language (``cz`` is
read as ``cs``), split and entity type; a document's ``annotated_labels`` is its group's
type (plus any label its group's TSV uses).

A bare ``.tsv`` (a predictions file) has no texts: its documents have ``text == ""`` and
``metadata["has_text"] = False``, their spans are not checked (a reversed or repeated
prediction is kept as written: the official scorers count it as a false positive);
:func:`attach_texts` fills the texts from the reference documents.

TSV quoting: fields may be CSV-quoted (``"a ""b"" c"``, possibly over several lines). A
field that only *starts* with a quote (``"non-A, non-B" hepatitis`` in the real data) is
taken as written. When a text exists, the stored span text decides between both readings.
The writer quotes a field only when it must (leading quote, tab, line break), so it never
writes an unbalanced leading ``"``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from clinicalner.atomic import atomic_dir, atomic_write
from clinicalner.document import Document, Span, make_span, same_surface, surface
from clinicalner.errors import CorpusError, Problems
from clinicalner.io import brat
from clinicalner.io.common import (
    WriteReport,
    bom_shift,
    brief_numbers,
    by_suffix,
    check_replaceable,
    folder_info,
    header_like,
    is_number,
    need_text,
    read_text,
    safe_folder,
    safe_name,
    span_surface,
    split_from_name,
    visible,
    write_plain,
)

HEADER = ("filename", "label", "start_span", "end_span", "text")

_ALIASES = {
    "filename": ("filename", "file", "file_name", "doc_id", "docid", "document", "document_id", "name"),
    "label": ("label", "type", "entity_type", "entity", "tag", "category"),
    "start": ("start_span", "off0", "start", "begin", "start_offset", "offset_start", "start_char"),
    "end": ("end_span", "off1", "end", "end_offset", "offset_end", "end_char"),
    "text": ("text", "span", "mention", "span_text", "entity_text", "surface"),
    "score": ("score", "confidence", "probability", "prob"),
}
_REQUIRED = ("filename", "label", "start", "end")


# ---------------------------------------------------------------------------------------------
# Parsing


@dataclass
class Row:
    """One TSV record: its 1-based line, fields, and the fields as written when quotes were undone."""

    line: int
    fields: list[str]
    raw: list[str] | None = None


def parse_records(content: str) -> Iterator[Row]:
    """Records of a TSV, CSV quoting undone where the quoting is well formed."""
    lines = content.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    i, n = 0, len(lines)
    while i < n:
        no, line = i + 1, lines[i]
        i += 1
        if '"' not in line:
            yield Row(no, (line[:-1] if line.endswith("\r") else line).split("\t"))
            continue
        row, i = _parse_quoted(lines, i - 1)
        row.line = no
        yield row


def _parse_quoted(lines: list[str], i: int) -> tuple[Row, int]:
    """Parse the record starting at ``lines[i]``; returns it and the index of the next line."""
    buf = lines[i]
    nxt = i + 1
    fields: list[str] = []
    raws: list[str] = []
    quoted_any = False
    pos = 0
    while True:
        end_of_record = len(buf) - (1 if buf.endswith("\r") else 0)
        if buf.startswith('"', pos):
            close, buf, nxt = _closing_quote(buf, pos, lines, nxt)
            if close is not None:
                fields.append(buf[pos + 1 : close].replace('""', '"'))
                raws.append(buf[pos : close + 1])
                quoted_any = True
                pos = close + 1
                end_of_record = len(buf) - (1 if buf.endswith("\r") else 0)
                if pos >= end_of_record:
                    break
                pos += 1  # the tab
                continue
        tab = buf.find("\t", pos)
        if tab == -1 or tab >= end_of_record:
            fields.append(buf[pos:end_of_record])
            raws.append(fields[-1])
            break
        fields.append(buf[pos:tab])
        raws.append(fields[-1])
        pos = tab + 1
    return Row(0, fields, raws if quoted_any else None), nxt


def _closing_quote(
    buf: str, pos: int, lines: list[str], nxt: int, max_lines: int = 200
) -> tuple[int | None, str, int]:
    """Index of the quote closing a quoted field opened at ``pos``, or None if it is not one.

    A closing quote must be followed by a tab or the end of the record; a quoted field may
    run over following lines (up to ``max_lines``), which are then consumed.
    """
    j = pos + 1
    extra = 0
    work = buf
    while True:
        k = work.find('"', j)
        if k == -1:
            if extra >= max_lines or nxt + extra >= len(lines):
                return None, buf, nxt
            work = work + "\n" + lines[nxt + extra]
            extra += 1
            continue
        if work.startswith('"', k + 1):
            j = k + 2
            continue
        after = work[k + 1 : k + 2]
        if after in ("", "\t") or work[k + 1 :] == "\r":
            return k, work, nxt + extra
        return None, buf, nxt


@dataclass
class _Columns:
    index: dict[str, int]
    width: int

    def get(self, row: Row, key: str) -> str | None:
        i = self.index.get(key)
        if i is None:
            return None
        if key == "text" and i == self.width - 1 and len(row.fields) > self.width:
            # A text holding raw tabs spills over: take the rest of the line.
            return "\t".join(row.fields[i:])
        return row.fields[i] if i < len(row.fields) else None

    def raw_text(self, row: Row) -> str | None:
        i = self.index.get("text")
        if row.raw is None or i is None or i >= len(row.raw):
            return None
        return "\t".join(row.raw[i:]) if i == self.width - 1 else row.raw[i]


def _columns(first: Row, file: Path) -> tuple[_Columns, bool]:
    """Column positions from the header (or the default order if there is none)."""
    names = [f.strip().lower() for f in first.fields]
    index: dict[str, int] = {}
    for key, aliases in _ALIASES.items():
        for j, name in enumerate(names):
            if name in aliases and key not in index:
                index[key] = j
                break
    if all(k in index for k in _REQUIRED):
        return _Columns(index, len(names)), True
    f = first.fields
    if len(f) >= 4 and is_number(f[2].strip()) and is_number(f[3].strip()):
        width = max(5, len(f)) if len(f) >= 5 else 4
        default = {"filename": 0, "label": 1, "start": 2, "end": 3}
        if width >= 5:
            default["text"] = 4
        return _Columns(default, width), False
    expected = "expected filename, label, start_span, end_span, text (or mark/ann_id, off0, off1, span)"
    if not header_like(first.fields):
        # Not column names: the line may be note text (a JSONL or text file read as TSV).
        length = sum(len(f) for f in first.fields) + len(first.fields) - 1
        raise CorpusError(
            f"the first line is not a TSV header ({length} characters, {len(first.fields)} "
            f"tab-separated field(s)): {expected}; is this file a TSV?",
            file,
            first.line,
        )
    missing = [k for k in _REQUIRED if k not in index]
    raise CorpusError(
        f"TSV header {[f.strip() for f in first.fields]!r} lacks column(s) {missing}: {expected}",
        file,
        first.line,
    )


SpanRow = tuple[str, int, int, str, str, "str | None", "float | None", int]


@dataclass
class RawSpan:
    doc: str
    start: int
    end: int
    label: str
    text: str
    alt_text: str | None
    score: float | None
    line: int


def read_rows(path: Path, problems: Problems) -> Iterator[RawSpan]:
    """The span rows of one TSV, in file order; bad rows go to ``problems``."""
    for t in row_tuples(path, problems):
        yield RawSpan(*t)


def row_tuples(path: Path, problems: Problems) -> Iterator[SpanRow]:
    """:func:`read_rows` as plain tuples (doc, start, end, label, text, alt_text, score, line).

    Why the inner loop is written out: a predictions file can hold half a million rows, and
    reading them was most of ``evaluate``'s time. A plain row (no quotes, the header's number of
    columns, whole-number offsets) is turned into a span right here; any other row goes through
    the general parser (quotes, spilled tabs, bad values and their messages), as before.
    """
    content, _ = read_text(path)
    lines = content.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    records = _records(lines)
    first: Row | None = None
    for i, parsed in records:
        row = parsed or Row(i + 1, _fields(lines[i]))
        if row.fields != [""]:
            first = row
            break
    if first is None:
        return
    cols, had_header = _columns(first, path)
    if not had_header:
        yield from _rows(iter([first]), cols, path, problems)
    ix = cols.index
    fi, li, si, ei = ix["filename"], ix["label"], ix["start"], ix["end"]
    ti, sci, width = ix.get("text"), ix.get("score"), cols.width
    for i, row in records:
        if row is not None:  # quoted: parsed by the general parser already
            yield from _rows(iter([row]), cols, path, problems)
            continue
        f = _fields(lines[i])
        if len(f) == width:
            name, label = f[fi].strip(), f[li].strip()
            a, b = f[si].strip(), f[ei].strip()
            score: float | None = None
            plain = bool(name and label) and a.isascii() and b.isascii() and a.isdecimal() and b.isdecimal()
            if plain and sci is not None and f[sci] != "":
                try:
                    score = float(f[sci])
                except ValueError:
                    plain = False
            if plain:
                if name.lower().endswith(".txt"):  # as the general parser does
                    name = name[:-4]
                text = f[ti] if ti is not None else ""
                yield (name, int(a), int(b), label, text, None, score, i + 1)
                continue
        yield from _rows(iter([Row(i + 1, f)]), cols, path, problems)


def _fields(line: str) -> list[str]:
    return (line[:-1] if line.endswith("\r") else line).split("\t")


def _records(lines: list[str]) -> Iterator[tuple[int, Row | None]]:
    """(index, None) for a line without quotes (the caller splits it), else (index, parsed Row)."""
    i, n = 0, len(lines)
    while i < n:
        line = lines[i]
        if '"' not in line:
            yield i, None
            i += 1
            continue
        row, nxt = _parse_quoted(lines, i)
        row.line = i + 1
        yield i, row
        i = nxt


def _rows(rows: Iterator[Row], cols: _Columns, path: Path, problems: Problems) -> Iterator[SpanRow]:
    for row in rows:
        if row.fields == [""] or (len(row.fields) == 1 and not row.fields[0].strip()):
            continue
        try:
            r = _raw_span(row, cols, path)
        except CorpusError as err:
            problems.report(err)
            continue
        yield (r.doc, r.start, r.end, r.label, r.text, r.alt_text, r.score, r.line)


def _raw_span(row: Row, cols: _Columns, path: Path) -> RawSpan:
    if len(row.fields) <= max(cols.index[k] for k in _REQUIRED):
        raise CorpusError(
            f"expected {cols.width} tab-separated columns, found {len(row.fields)}", path, row.line
        )
    name = (cols.get(row, "filename") or "").strip()
    if name.lower().endswith(".txt"):
        name = name[:-4]
    label = (cols.get(row, "label") or "").strip()
    s, e = (cols.get(row, "start") or "").strip(), (cols.get(row, "end") or "").strip()
    if not name or not label:
        raise CorpusError("empty filename or label", path, row.line)
    start, end = _offset(s), _offset(e)
    if start is None or end is None:
        hint = ""
        truncated = [v for v in (s, e) if _truncates(v)]
        if truncated:
            v = truncated[0]
            hint = (
                f" (the official MultiClinAI scorer truncates {v!r} to {int(float(v))}: "
                "clinicalner.evaluate.multiclinai_official does the same)"
            )
        raise CorpusError(
            f"offsets must be whole numbers, got start {brief_numbers(s)} and end {brief_numbers(e)}{hint}",
            path,
            row.line,
        )
    score_s = cols.get(row, "score")
    score: float | None = None
    if score_s not in (None, ""):
        try:
            score = float(score_s)
        except ValueError:
            raise CorpusError(f"score {brief_numbers(score_s)} is not a number", path, row.line) from None
    return RawSpan(name, start, end, label, cols.get(row, "text") or "", cols.raw_text(row), score, row.line)


def _offset(value: str) -> int | None:
    """A character offset: a whole number, also written as an integral float (``6.0``)."""
    if is_number(value):
        return int(value)
    if not value.isascii():
        return None  # float() reads '１３' and '١٣' as 13: an offset is written in ASCII
    try:
        f = float(value)
    except ValueError:
        return None
    return int(f) if f.is_integer() and f >= 0 else None


def _truncates(value: str) -> bool:
    try:
        f = float(value)
    except ValueError:
        return False
    return math.isfinite(f) and not f.is_integer()


# ---------------------------------------------------------------------------------------------
# Reading


def read_bare(path: Path, problems: Problems, language: str | None = None) -> Iterator[Document]:
    """Documents of a TSV without texts (a predictions file), in order of first appearance."""
    path = Path(path)
    docs: dict[str, list[Span]] = {}
    for doc, start, end, label, text, _, score, _ in row_tuples(path, problems):
        spans = docs.get(doc)
        if spans is None:
            spans = docs[doc] = []
        spans.append(Span(start, end, label, text, score))
    meta: dict[str, Any] = {"has_text": False, "source": str(path)}
    split = split_from_name(path.stem)
    if split:
        meta["split"] = split
    for doc_id, spans in docs.items():
        yield Document(doc_id, "", spans, language, None, dict(meta))


def find_groups(root: Path) -> list[Path]:
    """Folders under ``root`` (itself included) that hold a ``txt/`` folder of texts, sorted."""
    groups = []
    for dirpath, dirnames, _ in os.walk(root):
        dirnames[:] = visible(dirnames)
        here = Path(dirpath)
        if "txt" in dirnames and _is_text_folder(here / "txt"):
            groups.append(here)
        dirnames[:] = [d for d in dirnames if d not in ("txt", "tsv", "ann", "brat")]
    return groups


def _is_text_folder(folder: Path) -> bool:
    names = visible(os.listdir(folder))
    return bool(by_suffix(names, ".txt")) and not by_suffix(names, ".ann")


def read_tree(root: Path, problems: Problems, language: str | None = None) -> Iterator[Document]:
    """Every group of a MultiClinAI-style tree; one group's TSV is held in memory at a time."""
    root = Path(root)
    context = Path(*root.resolve().parts[-3:])
    for group in find_groups(root):
        rel = group.relative_to(root)
        info = folder_info(context / rel)
        meta: dict[str, Any] = {}
        if rel.parts:
            meta["folder"] = info.folder or rel.as_posix()
        elif info.folder:
            meta["folder"] = info.folder  # one type folder read directly: its name says it all
        if info.split:
            meta["split"] = info.split
        yield from _read_group(group, info.language or language, info.annotated_labels, meta, problems)


def _tsv_files(group: Path) -> list[Path]:
    """The group's TSV files (``ES_DEV_DISEASE.TSV`` too), beside ``txt/`` or in ``tsv/``."""
    files: list[Path] = []
    for where in (group, group / "tsv"):
        if where.is_dir():
            files += [where / n for n in visible(os.listdir(where)) if n.lower().endswith(".tsv")]
    return files


def _read_group(
    group: Path,
    language: str | None,
    annotated: frozenset[str] | None,
    meta: dict[str, Any],
    problems: Problems,
) -> Iterator[Document]:
    txt_dir = group / "txt"
    texts = by_suffix(visible(os.listdir(txt_dir)), ".txt")
    stems = list(texts)
    tsvs = _tsv_files(group)
    ann_dir = next((group / d for d in ("ann", "brat") if (group / d).is_dir()), None)
    rows: dict[str, list[tuple[Path, RawSpan]]] = {}
    for tsv in tsvs:
        for r in read_rows(tsv, problems):
            rows.setdefault(r.doc, []).append((tsv, r))
    ann_names = by_suffix(visible(os.listdir(ann_dir)), ".ann") if ann_dir is not None else {}
    have = set(stems)
    for doc_id in rows:
        if doc_id not in have:
            tsv, first = rows[doc_id][0]
            problems.report(
                CorpusError(
                    f"document {doc_id!r} has no text file {txt_dir.name}/{doc_id}.txt "
                    f"({len(rows[doc_id])} span rows skipped)",
                    tsv,
                    first.line,
                )
            )
    labels = {r.label for spans in rows.values() for _, r in spans}
    if annotated is not None:
        annotated = annotated | frozenset(labels)
    for stem in stems:
        if tsvs or ann_dir is None:
            doc = _tsv_document(txt_dir / texts[stem], stem, rows.get(stem, []), problems)
            if doc is None:
                continue
            doc.metadata.update(meta)
            doc.language = language
            doc.annotated_labels = annotated
            yield doc
        else:
            ann = ann_dir / ann_names.get(stem, f"{stem}.ann")
            d = brat.read_pair(
                txt_dir / texts[stem],
                ann if ann.exists() else None,
                problems,
                language=language,
                annotated_labels=annotated,
                metadata=dict(meta),
            )
            if d is not None:
                yield d


def _tsv_document(
    txt: Path, doc_id: str, rows: Sequence[tuple[Path, RawSpan]], problems: Problems
) -> Document | None:
    try:
        text, bom = read_text(txt)
    except CorpusError as err:
        problems.report(err)
        return None
    shift = 0
    if bom:
        shift = bom_shift(text, [(((r.start, r.end),), r.text) for _, r in rows])
    doc = Document(doc_id, text)
    spans = []
    for tsv, r in rows:
        if r.start >= r.end:
            problems.report(
                CorpusError(
                    f"empty or reversed span {r.start}-{r.end} ({r.label}) in document {doc_id!r}",
                    tsv,
                    r.line,
                )
            )
            continue
        start, end = r.start - shift, r.end - shift
        stored = r.text
        if r.alt_text is not None and 0 <= start < end <= len(text):
            here = text[start:end]
            if not same_surface(here, stored) and same_surface(here, r.alt_text):
                stored = r.alt_text  # a leading quote that was part of the text, not CSV quoting
        try:
            spans.append(doc.check_span(make_span(start, end, r.label, stored, r.score), str(tsv), r.line))
        except CorpusError as err:
            problems.report(err)
    doc.spans = spans
    doc.metadata = {"source": str(txt)}
    if bom:
        doc.metadata["bom"] = True
    return doc


def attach_texts(
    documents: Iterable[Document], reference_documents: Iterable[Document], *, include_missing: bool = False
) -> list[Document]:
    """Give documents read from a bare TSV the texts (and language, folder...) of the references.

    Matched by id and folder when both have a folder, else by language and id when both know
    the language, else by id. A parallel corpus may use the same file names in every language
    (translations of one case), so an id the references hold under several languages
    cannot be matched by id alone: that is an error naming how many such
    ids there are (score one language at a time, or give the predictions as a tree whose folders
    name the language). Spans are kept as they are, even when their stored text disagrees with
    the offsets: a prediction may well be wrong, and scoring goes by offsets. A document without
    a reference keeps ``has_text=False``. ``include_missing`` adds, with no spans, the
    references that had no predicted span.
    """
    refs = list(reference_documents)
    by_id: dict[str, list[Document]] = {}
    by_language: dict[tuple[str, str], Document] = {}
    by_folder: dict[tuple[str, str], Document] = {}
    for ref in refs:
        by_id.setdefault(ref.id, []).append(ref)
        if ref.language:
            by_language.setdefault((ref.language, ref.id), ref)
        folder = ref.metadata.get("folder")
        if folder:
            by_folder.setdefault((ref.id, folder), ref)
    out: list[Document] = []
    used: set[int] = set()
    ambiguous: list[Document] = []
    for doc in documents:
        folder = doc.metadata.get("folder")
        ref = by_folder.get((doc.id, folder)) if folder else None
        if ref is None and doc.language:
            ref = by_language.get((doc.language, doc.id))
        if ref is None:
            candidates = by_id.get(doc.id, [])
            if len({c.language for c in candidates}) > 1:
                ambiguous.append(doc)
                continue
            ref = candidates[0] if candidates else None
        if ref is None:
            out.append(doc)
            continue
        used.add(id(ref))
        # A document that has a text of its own keeps it: replacing it with the reference's would
        # hide that the predictions were made on another text (five characters prepended shift
        # every offset), and scoring compares the two texts to count such documents.
        text = doc.text if doc.text and doc.metadata.get("has_text") is not False else ref.text
        n = len(text)
        spans = [
            replace(s, text=surface(text, s.start, s.end, s.fragments)) if not s.text and s.end <= n else s
            for s in doc.spans
        ]
        # The reference knows folder and split (a predictions file name only hints at them);
        # the source stays the predictions file.
        meta = {**doc.metadata, **ref.metadata}
        meta.pop("has_text", None)
        if "source" in doc.metadata:
            meta["source"] = doc.metadata["source"]
        out.append(
            Document(
                doc.id,
                text,
                spans,
                doc.language or ref.language,
                doc.annotated_labels if doc.annotated_labels is not None else ref.annotated_labels,
                meta,
            )
        )
    if ambiguous:
        first = ambiguous[0]
        langs = sorted({str(c.language) for c in by_id[first.id]})
        raise CorpusError(
            f"{len(ambiguous)} predicted document id(s) name documents the reference has under several "
            f"languages (e.g. {first.id!r}: {', '.join(langs)}), and the predictions "
            "do not say the language: score one language at a time (the gold folder of one language), or give "
            "the predictions as a tree "
            "whose folders name the language (MultiClinNER-<lang>/... or <lang>/<split>/<type>/)",
            first.metadata.get("source"),
        )
    if include_missing:
        out.extend(ref.with_spans([]) for ref in refs if id(ref) not in used)
    return out


# ---------------------------------------------------------------------------------------------
# Writing


def quote_field(value: str) -> str:
    """CSV-quote a field only when a plain reader would misread it."""
    if value.startswith('"') or any(c in value for c in "\t\n\r"):
        return '"' + value.replace('"', '""') + '"'
    return value


def tsv_rows(doc: Document, report: WriteReport, scores: bool = False) -> list[str]:
    out = []
    for span in doc.spans:
        if span.is_discontinuous:
            report.drop(doc, span, "discontinuous (the TSV holds one start and end per span)")
            continue
        fields: tuple[str, ...] = (
            doc.id,
            span.label,
            str(span.start),
            str(span.end),
            span_surface(doc, span),
        )
        if scores:
            fields += ("" if span.score is None else f"{span.score:.4f}",)
        out.append("\t".join(quote_field(f) for f in fields) + "\n")
    report.spans += len(out)
    return out


def _header() -> str:
    return "\t".join(HEADER) + "\n"


def write_bare(documents: Iterable[Document], path: Path) -> WriteReport:
    """One TSV of spans, no texts (the shape of a predictions file).

    A sixth column, ``score``, carries each span's confidence (empty when it has none): the
    official scorers read the five columns they need and ignore the others.
    """
    report = WriteReport(Path(path), "tsv")
    with atomic_write(path) as f:
        f.write("\t".join((*HEADER, "score")) + "\n")
        for doc in documents:
            f.writelines(tsv_rows(doc, report, scores=True))
            report.tally_metadata(doc)
            report.documents += 1
    return report


def write_tree(documents: Iterable[Document], path: Path) -> WriteReport:
    """The simplified MultiClinAI tree: ``<folder>/txt/<id>.txt`` + ``<folder>/<folder_with_>.tsv``.

    Documents without ``folder`` metadata go to ``txt/`` and ``<name>.tsv`` at the top.
    """
    path = Path(path)
    check_replaceable(path, {".txt", ".tsv"})
    report = WriteReport(path, "tsv")
    rows: dict[Path, list[str]] = {}
    seen: set[Path] = set()
    with atomic_dir(path) as tmp:
        for doc in documents:
            need_text(doc, "the MultiClinAI tree")
            folder = safe_folder(doc)
            target = folder / "txt" / f"{safe_name(doc.id)}.txt"
            if target in seen:
                raise CorpusError(
                    f"document id {doc.id!r} appears twice in folder {folder.as_posix() or '.'}"
                )
            seen.add(target)
            (tmp / target).parent.mkdir(parents=True, exist_ok=True)
            write_plain(tmp / target, doc.text)
            rows.setdefault(folder, []).extend(tsv_rows(doc, report))
            report.tally_metadata(doc, (), folder)
            report.documents += 1
        for folder, lines in rows.items():
            name = "_".join(folder.parts) if folder.parts else path.name
            write_plain(tmp / folder / f"{name}.tsv", _header() + "".join(lines))
    return report
