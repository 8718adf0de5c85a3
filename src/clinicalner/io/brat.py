"""BRAT standoff: ``<doc>.txt`` beside ``<doc>.ann``.

Only ``T`` (text-bound) lines become spans. The other kinds are kept, unparsed, in
``metadata["brat"]`` (``relations`` R, ``attributes`` A/M, ``normalizations`` N, ``events``
E, ``equivalences`` *, ``notes`` #, and ``ids``: T id -> index in ``Document.spans``, with
``keys``: T id -> [start, end, label]) so that nothing is lost, but nothing downstream
depends on them. Any other kind is an error. The writer writes them all back, their T
references renumbered, when every span they name is still the one they were written for
(lines whose span is gone are counted in the WriteReport, not written).

A T line whose text holds a line break is sometimes written raw, so the rest of its text
sits on the following lines (Chia does this). Those lines are taken as part of the text
when, joined back with ``\\n``, the text matches the offsets; otherwise each is an error.

Discontinuous spans (``10 15;20 27``) keep their fragments; the stored text is checked in
the file's fragment order (Chia writes ``115 122;84 91``) and then kept in offset order.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clinicalner.atomic import atomic_dir
from clinicalner.document import Document, Span, make_span, same_surface
from clinicalner.errors import CorpusError, Problems, quote
from clinicalner.io.common import (
    WriteReport,
    bom_shift,
    brief,
    brief_numbers,
    by_suffix,
    check_replaceable,
    decode_lines,
    document_slots,
    folder_info,
    is_number,
    read_bytes,
    read_text,
    span_surface,
    visible,
    write_plain,
)

# id, tab: T1, R12, A3, N1, E2, M1, *, #1 (and the kinds we do not know, to name them).
_ID = re.compile(r"^([A-Za-z*#])([\w.-]*)\t")
_KINDS = {
    "R": "relations",
    "A": "attributes",
    "M": "attributes",
    "N": "normalizations",
    "E": "events",
    "*": "equivalences",
    "#": "notes",
}
_SKIP_STEMS = ("readme", "license", "licence")


@dataclass
class _TLine:
    line: int
    tid: str
    label: str
    frags: list[tuple[int, int]]
    stored: str
    continuation: list[tuple[int, str]] = field(default_factory=list)


def parse_ann(
    content: str,
    text: str,
    doc_id: str,
    file: str | Path,
    problems: Problems,
    had_bom: bool = False,
) -> tuple[list[Span], dict[str, Any]]:
    """Spans and other annotations of one ``.ann`` against its text.

    Problems go to ``problems`` in line order (strict: the first one raises).
    """
    errors: list[CorpusError] = []
    tlines: list[_TLine] = []
    other: dict[str, list[str]] = {}
    last_t: _TLine | None = None  # the T line that unparsed lines may continue
    seen: set[str] = set()
    for no, line in enumerate(content.split("\n"), 1):
        if line.endswith("\r"):
            line = line[:-1]
        if not line.strip():
            continue
        m = _ID.match(line)
        if m is None:
            if last_t is not None:
                last_t.continuation.append((no, line))
            else:
                errors.append(_not_annotation(no, file, None))
            continue
        kind = m.group(1)
        ident = m.group(1) + m.group(2)
        if kind == "T":
            t = _parse_t(line, no, file, errors)
            last_t = t
            if t is None:
                continue
            if t.tid in seen:
                errors.append(CorpusError(f"annotation id {t.tid} is used twice", file, no))
                last_t = None
                continue
            seen.add(t.tid)
            tlines.append(t)
        elif kind in _KINDS:
            last_t = None
            other.setdefault(_KINDS[kind], []).append(line)
        else:
            last_t = None
            errors.append(
                CorpusError(
                    f"unknown BRAT annotation kind {brief(ident)}: expected T, R, A, M, N, E, * or #",
                    file,
                    no,
                )
            )

    shift = bom_shift(text, [(t.frags, t.stored) for t in tlines]) if had_bom else 0
    spans: list[Span] = []
    ids: dict[str, int] = {}
    for t in tlines:
        span = _resolve(t, text, shift, doc_id, file, errors)
        if span is not None:
            ids[t.tid] = len(spans)
            spans.append(span)

    for err in sorted(errors, key=lambda e: e.line or 0):
        problems.report(err)
    meta: dict[str, Any] = {}
    if other:
        keys = {tid: [spans[i].start, spans[i].end, spans[i].label] for tid, i in ids.items()}
        meta = {"brat": {**other, "ids": ids, "keys": keys}}
    return spans, meta


def _not_annotation(no: int, file: str | Path, t: _TLine | None) -> CorpusError:
    tail = f" nor continue the text of {t.tid} on line {t.line}" if t is not None else ""
    return CorpusError(
        "not a BRAT annotation line: it does not start with an id and a tab (T1, R1, A1, N1, E1, "
        f"M1, *, #1){tail}; fix or delete the line, or skip it with --lenient",
        file,
        no,
    )


def _parse_t(line: str, no: int, file: str | Path, errors: list[CorpusError]) -> _TLine | None:
    parts = line.split("\t", 2)
    if len(parts) < 2:
        errors.append(CorpusError("T line needs 'T<n>\\tLABEL START END\\tTEXT'", file, no))
        return None
    tid, middle = parts[0], parts[1]
    stored = parts[2] if len(parts) > 2 else ""
    label, _, offsets = middle.strip().partition(" ")
    if is_number(label) and len(offsets.split(";")[0].split()) == 1:
        errors.append(
            CorpusError(
                f"{tid}: missing label: expected 'LABEL START END', got {brief_numbers(middle)}", file, no
            )
        )
        return None
    if not label or not offsets:
        got = f"label {brief(label)} and offsets {brief_numbers(offsets)}" if label else "nothing"
        errors.append(CorpusError(f"{tid}: expected 'LABEL START END', got {got}", file, no))
        return None
    frags: list[tuple[int, int]] = []
    for piece in offsets.split(";"):
        nums = piece.split()
        if len(nums) != 2 or not all(is_number(n) for n in nums):
            errors.append(
                CorpusError(
                    f"{tid}: bad offsets {brief_numbers(offsets)} (expected 'START END[;START END]')",
                    file,
                    no,
                )
            )
            return None
        a, b = int(nums[0]), int(nums[1])
        if a >= b:
            errors.append(CorpusError(f"{tid}: empty or reversed span {a}-{b} ({label})", file, no))
            return None
        frags.append((a, b))
    return _TLine(no, tid, label, frags, stored)


def _resolve(
    t: _TLine, text: str, shift: int, doc_id: str, file: str | Path, errors: list[CorpusError]
) -> Span | None:
    frags = [(a - shift, b - shift) for a, b in t.frags]
    n = len(text)
    for a, b in frags:
        if not (0 <= a < b <= n):
            errors.append(
                CorpusError(
                    f"{t.tid}: span {a}-{b} ({t.label[:80]}) is outside the text of document {quote(doc_id)} "
                    f"(length {n})",
                    file,
                    t.line,
                )
            )
            errors.extend(_not_annotation(no, file, t) for no, _ in t.continuation)
            return None
    expected = " ".join(text[a:b] for a, b in frags)  # file order, as the stored text is
    ok_alone = not t.stored or same_surface(expected, t.stored)
    if t.continuation:
        joined = "\n".join([t.stored, *(s for _, s in t.continuation)])
        if same_surface(expected, joined):
            ok_alone = True
        else:
            errors.extend(_not_annotation(no, file, t) for no, _ in t.continuation)
    if not ok_alone:
        errors.append(
            CorpusError(
                f"{t.tid}: span {frags[0][0]}-{frags[-1][1]} ({t.label[:80]}) of document {quote(doc_id)}: "
                f"the file says {quote(t.stored)} but the text at those offsets is {quote(expected)}",
                file,
                t.line,
            )
        )
        return None
    span = make_span(
        frags[0][0], max(b for _, b in frags), t.label, fragments=frags if len(frags) > 1 else None
    )
    doc = Document(doc_id, text)
    return doc.check_span(span, str(file), t.line)


# ---------------------------------------------------------------------------------------------
# Reading


def read_pair(
    txt: Path,
    ann: Path | None,
    problems: Problems,
    *,
    doc_id: str | None = None,
    language: str | None = None,
    annotated_labels: frozenset[str] | None = None,
    metadata: dict[str, Any] | None = None,
) -> Document | None:
    """One document from a text and its annotations (``ann`` may be None: no spans).

    Returns None when the document had to be skipped (lenient).
    """
    doc_id = doc_id or txt.stem
    try:
        if not txt.exists():
            raise CorpusError(f"no text file {txt.name} for this annotation file", ann or txt)
        text, bom = read_text(txt)
        spans: list[Span] = []
        meta: dict[str, Any] = {}
        if ann is not None and os.path.lexists(ann):
            content, _ = decode_lines(read_bytes(ann), ann, problems)
            spans, meta = parse_ann(content, text, doc_id, ann, problems, had_bom=bom)
    except CorpusError as err:
        problems.report(err)
        return None
    labels = annotated_labels
    if labels is not None:
        labels = labels | {s.label for s in spans}
    md = {**(metadata or {}), **meta, "source": str(txt)}
    if bom:
        md["bom"] = True
    return Document(doc_id, text, spans, language, labels, md)


def read_folder(root: Path, problems: Problems, language: str | None = None) -> Iterator[Document]:
    """Every ``.ann`` under ``root`` (recursively, in name order) with the ``.txt`` beside it.

    A ``.txt`` without ``.ann`` is an unannotated document (README/LICENSE files are not).
    Folder names give language, split and entity type (see ``folder_info``).
    """
    root = Path(root)
    if root.is_file():
        txt, ann = root.parent / f"{root.stem}.txt", root.parent / f"{root.stem}.ann"
        yield from _maybe(read_pair(txt, ann if ann.exists() else None, problems, language=language))
        return
    context = Path(*root.resolve().parts[-3:])
    for dirpath, dirnames, all_names in os.walk(root):
        dirnames[:] = visible(dirnames)
        filenames = visible(all_names)
        here = Path(dirpath)
        rel = here.relative_to(root)
        # A folder named like an annotation file is read (and refused, naming it), not walked.
        anns = by_suffix(filenames + [d for d in dirnames if d.lower().endswith(".ann")], ".ann")
        dirnames[:] = [d for d in dirnames if not d.lower().endswith(".ann")]
        txts = by_suffix(filenames, ".txt")
        stems = sorted(set(anns) | {s for s, n in txts.items() if not n.lower().startswith(_SKIP_STEMS)})
        if not stems:
            continue
        info = folder_info(context / rel)
        meta: dict[str, Any] = {}
        if rel.parts:
            meta["folder"] = info.folder or rel.as_posix()
        if info.split:
            meta["split"] = info.split
        for stem in stems:
            ann = here / anns[stem] if stem in anns else None
            doc = read_pair(
                here / txts.get(stem, f"{stem}.txt"),
                ann,
                problems,
                language=info.language or language,
                annotated_labels=info.annotated_labels,
                metadata=dict(meta),
            )
            yield from _maybe(doc)


def _maybe(doc: Document | None) -> Iterator[Document]:
    if doc is not None:
        yield doc


# ---------------------------------------------------------------------------------------------
# Writing


def ann_lines(doc: Document, report: WriteReport) -> list[str]:
    """T lines for a document's spans, then its other lines; what BRAT cannot hold is reported."""
    lines = []
    new_ids: dict[int, str] = {}  # index in doc.spans -> T id written
    for i, span in enumerate(doc.spans):
        if not span.label or any(c.isspace() for c in span.label):
            report.drop(doc, span, "label is empty or holds whitespace (BRAT labels cannot)")
            continue
        frags = span.fragments or ((span.start, span.end),)
        offsets = ";".join(f"{a} {b}" for a, b in frags)
        stored = _one_line(span_surface(doc, span))
        new_ids[i] = f"T{len(lines) + 1}"
        lines.append(f"{new_ids[i]}\t{span.label} {offsets}\t{stored}\n")
    report.spans += len(lines)
    return lines + _reference_lines(doc, new_ids, report)


# Where each kind of line names other annotations: the space-separated fields of its second
# column, as ``ID`` or ``Role:ID``.
_REF_FIELDS: dict[str, tuple[int, int | None, bool]] = {
    # kind: (first field, one past the last (None: to the end), written Role:ID)
    "relations": (1, None, True),  # R1\tType Arg1:T1 Arg2:T2
    "events": (0, None, True),  # E1\tType:T1 Role:T2 Role:E3
    "attributes": (1, 2, False),  # A1\tName T1 [value]
    "equivalences": (1, None, False),  # *\tType T1 T2 T3
    "normalizations": (1, 2, False),  # N1\tReference T1 DB:ID\tname
    "notes": (1, 2, False),  # #1\tAnnotatorNotes T1\tnote
}


def _refs(kind: str, middle: list[str]) -> list[tuple[int, str, str]]:
    """(field index, prefix, id) of each annotation a line names."""
    first, last, role = _REF_FIELDS[kind]
    out = []
    for j in range(first, len(middle) if last is None else min(last, len(middle))):
        prefix, sep, ident = middle[j].rpartition(":") if role else ("", "", middle[j])
        out.append((j, prefix + sep, ident))
    return out


def _reference_lines(doc: Document, new_ids: dict[int, str], report: WriteReport) -> list[str]:
    """The document's R, E, A/M, ``*``, N and # lines, their T references renumbered.

    T ids change (spans are renumbered T1, T2... in order); the other ids are kept. A line is
    written only if every T it names is still the span it was read with (a prediction copied
    with ``with_spans`` keeps the metadata but not the spans) and every other annotation it names
    is written too; the others are counted in ``report.metadata_lost``.
    """
    brat = doc.metadata.get("brat") or {}
    ids: dict[str, int] = brat.get("ids") or {}
    keys: dict[str, list[Any]] = brat.get("keys") or {}
    tmap: dict[str, str] = {}  # T id read -> T id written, for spans written unchanged
    for tid, i in ids.items():
        if i in new_ids and i < len(doc.spans):
            s = doc.spans[i]
            if tid not in keys or list(keys[tid]) == [s.start, s.end, s.label]:
                tmap[tid] = new_ids[i]
    lines = []  # (kind, id, fields of column 2, other columns, references)
    for kind in _REF_FIELDS:
        for line in brat.get(kind) or []:
            parts = line.split("\t")
            middle = parts[1].split(" ") if len(parts) > 1 else []
            lines.append((kind, parts[0], middle, parts[2:], _refs(kind, middle)))
    known = {ident for _, ident, _, _, _ in lines if ident != "*"}
    alive = set(known)
    changed = True
    while changed:  # a line naming a dropped line is dropped too (an A on a dropped E...)
        changed = False
        for _, ident, _, _, refs in lines:
            if ident in alive and not _refs_alive(refs, tmap, known, alive):
                alive.discard(ident)
                changed = True
    out = []
    for kind, ident, middle, rest, refs in lines:
        if (ident != "*" and ident not in alive) or not _refs_alive(refs, tmap, known, alive):
            report.metadata_lost[f"BRAT {kind} lines (a span they name is not written)"] += 1
            continue
        middle = list(middle)
        for j, prefix, ref in refs:
            if ref in tmap:
                middle[j] = prefix + tmap[ref]
        out.append("\t".join([ident, " ".join(middle), *rest]) + "\n")
    return out


def _refs_alive(
    refs: list[tuple[int, str, str]], tmap: dict[str, str], known: set[str], alive: set[str]
) -> bool:
    """Every T named is written unchanged (T ids are renumbered: a T that is not, a line skipped
    while reading, would name another span), every other line named is written; another id the
    document never had is left as it was (it dangled in the input already)."""
    for _, _, ref in refs:
        if ref.startswith("T") and ref not in tmap:
            return False
        if ref in known and ref not in alive:
            return False
    return True


def _one_line(s: str) -> str:
    # BRAT keeps one annotation per line: a line break inside a span is written as a space.
    # A lone CR is dropped rather than spaced: readers compare texts with CRs removed.
    return s.replace("\r\n", " ").replace("\r", "").replace("\n", " ")


def write_folder(documents: Iterable[Document], path: Path) -> WriteReport:
    """``<folder>/<id>.txt`` + ``<id>.ann`` per document, built aside and swapped in."""
    path = Path(path)
    check_replaceable(path, {".txt", ".ann"})
    report = WriteReport(path, "brat")
    with atomic_dir(path) as tmp:
        for doc, folder, name in document_slots(documents, tmp, "brat"):
            write_plain(tmp / folder / f"{name}.txt", doc.text)
            write_plain(tmp / folder / f"{name}.ann", "".join(ann_lines(doc, report)))
            report.tally_metadata(doc, ("brat",), folder)
            report.documents += 1
    return report
