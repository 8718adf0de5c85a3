"""One corpus format to another (what ``clinicalner convert IN OUT --to FORMAT`` runs)."""

from __future__ import annotations

from pathlib import Path

from clinicalner.errors import CorpusError
from clinicalner.io import iter_documents, write_corpus
from clinicalner.io.common import WriteReport
from clinicalner.io.options import ReaderOptions


def convert(
    input: str | Path,
    output: str | Path,
    to: str,
    format: str | None = None,
    lenient: bool = False,
    *,
    language: str | None = None,
    options: ReaderOptions | None = None,
) -> WriteReport:
    """Read ``input`` (format detected unless given) and write it to ``output`` as ``to``.

    Streams documents where the output format allows it. The report says what was written,
    what the output format could not hold, and (lenient) what was skipped while reading.
    An output inside the input folder (or a folder holding the input) is refused: the reader
    would meet what is being written, and replacing the folder would delete the input.
    """
    _check_apart(Path(input), Path(output))
    skipped: list[CorpusError] = []
    docs = iter_documents(input, format, lenient=lenient, language=language, skipped=skipped, options=options)
    report = write_corpus(docs, output, to)
    report.skipped = skipped
    return report


def _check_apart(input: Path, output: Path) -> None:
    src, dst = input.resolve(), output.resolve()
    if src == dst:
        raise CorpusError("the output is the input: choose another output path", output)
    if src.is_dir() and dst.is_relative_to(src):
        raise CorpusError(
            f"the output is inside the input folder {input}: the reader would read what is being "
            "written; choose an output outside it",
            output,
        )
    if src.is_relative_to(dst):
        raise CorpusError(
            f"the output folder holds the input {input}: replacing it would delete the input; "
            "choose an output outside it",
            output,
        )
