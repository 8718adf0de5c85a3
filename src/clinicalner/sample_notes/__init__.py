"""Built-in example notes in seven languages, for the demo, the docs and quick experiments.

The notes are written for clinicalner (no real patients) in a readable markup,
``[surface]{LABEL}``, so anyone can read or extend them; offsets are computed on load.
"""

from __future__ import annotations

import re
from importlib import resources

from clinicalner.document import Document, Span
from clinicalner.errors import CorpusError

_MARK = re.compile(r"\[([^\[\]]+)\]\{([A-Z_]+)\}")
LABELS = ("DISEASE", "SYMPTOM", "PROCEDURE")


def parse_marked(text: str, doc_id: str, language: str | None = None, where: str = "<markup>") -> Document:
    """Turn ``[surface]{LABEL}`` markup into a Document with exact offsets."""
    out: list[str] = []
    spans: list[Span] = []
    pos = 0
    length = 0
    for m in _MARK.finditer(text):
        out.append(text[pos : m.start()])
        length += m.start() - pos
        surface = m.group(1)
        spans.append(Span(length, length + len(surface), m.group(2), surface))
        out.append(surface)
        length += len(surface)
        pos = m.end()
    out.append(text[pos:])
    plain = "".join(out)
    if "[" in plain and "]{" in plain:
        raise CorpusError(f"note {doc_id}: unbalanced entity markup", where)
    return Document(doc_id, plain, spans, language=language, annotated_labels=frozenset(LABELS))


def load_examples(split: str | None = None) -> list[Document]:
    """The example notes; ``split`` is ``train``, ``dev`` or None for all."""
    raw = resources.files(__package__).joinpath("notes.txt").read_text(encoding="utf-8")
    docs: list[Document] = []
    header: tuple[str, str, str] | None = None
    lines: list[str] = []

    def flush() -> None:
        if header is None:
            return
        doc = parse_marked("\n".join(lines).strip(), header[0], header[1], "notes.txt")
        doc.metadata.update({"split": header[2], "folder": f"examples/{header[2]}"})
        docs.append(doc)

    for line in raw.splitlines():
        if line.startswith("## "):
            flush()
            parts = line[3:].split()
            header = (parts[0], parts[1], parts[2])
            lines = []
        elif line.startswith("#"):
            continue
        elif header is not None:
            lines.append(line)
    flush()
    return [d for d in docs if split is None or d.metadata["split"] == split]
