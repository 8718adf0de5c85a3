"""One corpus format to another (what ``clinicalner convert IN OUT [--to FORMAT]`` runs)."""

from __future__ import annotations

from pathlib import Path

from clinicalner.errors import CorpusError
from clinicalner.io import iter_documents, write_corpus
from clinicalner.io.common import WriteReport
from clinicalner.io.destination import check_output, writes_folder
from clinicalner.io.formats import format_from_path
from clinicalner.io.options import ReaderOptions


def convert(
    input: str | Path,
    output: str | Path,
    to: str | None = None,
    format: str | None = None,
    lenient: bool = False,
    *,
    language: str | None = None,
    options: ReaderOptions | None = None,
) -> WriteReport:
    """Read ``input`` (format detected unless given) and write it to ``output`` as ``to``.

    Without ``to``, the output's suffix says the format, as for ``predict`` and ``ensemble``
    (:func:`clinicalner.io.formats.format_from_path`: ``.tsv``, ``.jsonl``, ``.conll``,
    ``.pubtator``; no suffix is a BRAT folder); an unknown suffix fails before anything is read.

    Streams documents where the output format allows it. The report says what was written,
    what the output format could not hold, and (lenient) what was skipped while reading.
    An output inside the input folder (or a folder holding the input) is refused: the reader
    would meet what is being written, and replacing the folder would delete the input.
    """
    to = to or format_from_path(output, "--to")
    check_output(output, folder=writes_folder(output, to), inputs=[input])
    skipped: list[CorpusError] = []
    docs = iter_documents(input, format, lenient=lenient, language=language, skipped=skipped, options=options)
    report = write_corpus(docs, output, to)
    report.skipped = skipped
    return report
