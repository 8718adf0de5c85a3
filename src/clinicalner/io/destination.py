"""Where a command may write: checked before any work, for every command that writes.

Two mistakes used to surface only at the end of a run, as a traceback from the final rename
(``IsADirectoryError``, ``PermissionError``) or worse, as a success: an output path that is
an existing folder or an unwritable place, and an output that is one of the inputs
(``predict LEX gold/ -o gold/`` replaced the gold annotations with predictions).
:func:`check_output` refuses both before anything is read or computed.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from clinicalner.errors import CorpusError

#: Formats written as a folder of files (``tsv``/``multiclinai`` too unless the path ends in .tsv).
FOLDER_FORMATS = frozenset({"brat", "txt", "tsv", "multiclinai"})


def writes_folder(path: str | Path, fmt: str) -> bool:
    """Whether writing ``fmt`` to ``path`` makes a folder (see ``clinicalner.io.write_corpus``)."""
    if fmt in ("tsv", "multiclinai"):
        return Path(path).suffix.lower() != ".tsv"
    return fmt in FOLDER_FORMATS


def check_output(
    output: str | Path,
    *,
    folder: bool = False,
    inputs: Iterable[str | Path | None] = (),
    models: Iterable[str | Path | None] = (),
) -> None:
    """Raise :class:`CorpusError` naming ``output`` when it cannot or must not be written.

    ``folder``: the output is a folder (replaced as a whole) rather than a file. ``inputs``:
    what the command reads; the output may not be one of them, hold one, or lie inside an
    input folder (a reader would meet what is being written). ``models``: what the command
    loads; the output may not be one of them or hold one, but may sit inside a model folder.
    """
    out = Path(output)
    for given in inputs:
        if given is not None:
            check_apart(Path(given), out)
    for given in models:
        if given is not None:
            check_apart(Path(given), out, inside_ok=True)
    if out.is_symlink() and not out.exists():
        raise CorpusError("is a symbolic link to nothing (or a loop); choose another output path", out)
    if out.exists():
        if folder and not out.is_dir():
            raise CorpusError("exists and is not a folder; this output is a folder: choose another path", out)
        if not folder and out.is_dir():
            raise CorpusError("is a folder; this output is one file: give a file name", out)
        if not folder and not out.is_file():
            raise CorpusError("is not a regular file (a FIFO, a device...); choose another output path", out)
    _check_writable(out)


def check_apart(input: Path, output: Path, *, inside_ok: bool = False) -> None:
    """The output may not be the input, hold it, or (unless ``inside_ok``) lie inside it."""
    # realpath, not Path.resolve: a symlink loop must reach the readers' clear error, not raise here
    src, dst = Path(os.path.realpath(input)), Path(os.path.realpath(output))
    if src == dst:
        raise CorpusError(f"the output is the input {input}: choose another output path", output)
    if not inside_ok and src.is_dir() and dst.is_relative_to(src):
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


def _check_writable(out: Path) -> None:
    """The nearest existing folder above ``out`` must be a folder we can create files in.

    Tried for real (a temp file created and removed): permission bits do not tell for root,
    read-only mounts or special file systems.
    """
    parent = out.absolute().parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise CorpusError(f"{parent} is not a folder, so nothing can be written below it", out)
    try:
        fd, tmp = tempfile.mkstemp(prefix=".clinicalner-check.", suffix=".tmp", dir=parent)
    except OSError as e:
        raise CorpusError(f"cannot write in {parent}: {e.strerror}", out) from None
    os.close(fd)
    os.unlink(tmp)
