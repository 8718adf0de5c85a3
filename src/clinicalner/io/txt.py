"""A folder of ``.txt`` files: documents without spans, to be tagged.

Read in name order, one file at a time, recursively; the id is the file name without
``.txt`` and the sub-folder path is kept as ``metadata["folder"]``.

Two files of one name in different sub-folders (``a.txt`` and ``sub/a.txt``) are an error,
found before any is read: outputs name documents by id alone (the ``filename`` column of a
MultiClinAI TSV, a CoNLL ``-DOCSTART-``), so their spans would be mixed under one name.
Ids are kept as plain file names (never ``sub/a``) so that such a TSV stays valid for the
official scorers. With ``lenient`` the later files of a name are skipped and reported.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from clinicalner.atomic import atomic_dir
from clinicalner.document import Document
from clinicalner.errors import CorpusError, Problems
from clinicalner.io.common import (
    WriteReport,
    check_replaceable,
    folder_info,
    need_text,
    read_text,
    safe_folder,
    safe_name,
    visible,
    write_plain,
)


def read_folder(root: Path, problems: Problems, language: str | None = None) -> Iterator[Document]:
    root = Path(root)
    files = [(root, Path())] if root.is_file() else _unique(list(_walk(root)), root, problems)
    context = Path(*root.resolve().parts[-3:]) if root.is_dir() else Path()
    for f, rel in files:
        try:
            text, bom = read_text(f)
        except CorpusError as err:
            problems.report(err)
            continue
        info = folder_info(context / rel)
        meta: dict[str, Any] = {"source": str(f)}
        if rel.parts:
            meta["folder"] = info.folder or rel.as_posix()
        if info.split:
            meta["split"] = info.split
        if bom:
            meta["bom"] = True
        yield Document(f.stem, text, [], info.language or language, info.annotated_labels, meta)


def _unique(files: list[tuple[Path, Path]], root: Path, problems: Problems) -> list[tuple[Path, Path]]:
    """The files, each id once: a repeated file name is a problem naming both files."""
    first: dict[str, Path] = {}
    out = []
    for f, rel in files:
        if f.stem in first:
            problems.report(
                CorpusError(
                    f"the file name {f.name} is used twice (also {first[f.stem].relative_to(root).as_posix()} "
                    f"in {root}): a document's id is its file name, and outputs (a TSV's filename column) "
                    "name documents by it alone; rename one, or read each folder apart (--lenient skips "
                    "the later ones)",
                    f,
                )
            )
            continue
        first[f.stem] = f
        out.append((f, rel))
    return out


def _walk(root: Path) -> Iterator[tuple[Path, Path]]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = visible(dirnames)
        here = Path(dirpath)
        for name in visible(filenames):
            if name.lower().endswith(".txt"):
                yield here / name, here.relative_to(root)


def write_folder(documents: Iterable[Document], path: Path) -> WriteReport:
    path = Path(path)
    check_replaceable(path, {".txt"})
    report = WriteReport(path, "txt")
    seen: set[Path] = set()
    with atomic_dir(path) as tmp:
        for doc in documents:
            need_text(doc, "txt")
            rel = safe_folder(doc) / f"{safe_name(doc.id)}.txt"
            if rel in seen:
                raise CorpusError(
                    f"document id {doc.id!r} appears twice in folder {rel.parent.as_posix() or '.'}"
                )
            seen.add(rel)
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            write_plain(tmp / rel, doc.text)
            report.documents += 1
            if doc.spans:
                report.unrepresentable["a .txt file holds no spans"] += len(doc.spans)
    return report
