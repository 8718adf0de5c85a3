"""A folder of ``.txt`` files: documents without spans, to be tagged.

Read in name order, one file at a time, recursively; the id is the file name without
``.txt`` and the sub-folder path is kept as ``metadata["folder"]``.
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
    files = [(root, Path())] if root.is_file() else _walk(root)
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


def _walk(root: Path) -> Iterator[tuple[Path, Path]]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = visible(dirnames)
        here = Path(dirpath)
        for name in visible(filenames):
            if name.endswith(".txt"):
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
