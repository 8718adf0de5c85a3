"""Write files so that a crash never leaves a half-written result behind.

Everything the toolkit writes goes to a temporary file in the destination folder
and is renamed over the target only once complete (rename is atomic on POSIX and
on Windows for files on one volume).

A process killed mid-write (``kill -9``, a lost SSH session) cannot remove its temp file or
folder. Each one is therefore locked (``flock``) by the process writing it for as long as it
writes, and the next write to the same destination removes the temp files of that name that
nobody holds a lock on: the leftovers of a dead run, never the work of a live one.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no flock, no clean-up of leftovers
    fcntl = None  # type: ignore[assignment]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _lock(fd: int) -> None:
    """Hold an exclusive lock on ``fd`` until it is closed (by us, or by our death)."""
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


def _abandoned(path: Path) -> bool:
    """Whether no live process holds the lock of a temp file or folder of our naming."""
    if fcntl is None:
        return False
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False  # a live writer holds it
    finally:
        os.close(fd)
    return True


def clean_leftovers(path: str | Path) -> list[Path]:
    """Remove what killed writes to ``path`` left beside it; return what was removed.

    Temp files and folders of our naming (``.NAME.XXXXXXXX.tmp``) that no live process holds,
    and ``.NAME.old`` (the previous folder, moved aside during a swap): put back when the
    swap died before the new folder took its place, else removed.
    """
    path = Path(path)
    parent = path.parent
    if fcntl is None or not parent.is_dir():
        return []
    removed: list[Path] = []
    prefix = f".{path.name}."
    for name in os.listdir(parent):
        leftover = parent / name
        if not (name.startswith(prefix) and name.endswith(".tmp") and len(name) > len(prefix) + 4):
            continue
        if leftover.is_symlink() or not _abandoned(leftover):
            continue
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
        removed.append(leftover)
    old = parent / f".{path.name}.old"
    if old.is_dir() and not old.is_symlink() and _abandoned(old):
        if path.exists():
            shutil.rmtree(old, ignore_errors=True)
        else:
            old.rename(path)  # the swap died between its two renames: the previous output is back
        removed.append(old)
    return removed


@contextlib.contextmanager
def atomic_write(
    path: str | Path, mode: str = "w", encoding: str | None = "utf-8", newline: str | None = ""
) -> Iterator[IO]:
    """Open a temp file beside ``path``; on success rename it to ``path``, on error delete it.

    ``newline=''`` by default so that ``\\r\\n`` in note text is written back unchanged.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    clean_leftovers(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    _lock(fd)  # released when the file is closed, or when this process dies
    # mkstemp creates 0600 files; a result file should get the permissions any new file gets.
    os.chmod(tmp, 0o666 & ~_umask())
    try:
        f = os.fdopen(fd, mode) if "b" in mode else os.fdopen(fd, mode, encoding=encoding, newline=newline)
        with f:
            yield f
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """Build a whole output folder under a temp name, then move it into place.

    An existing folder at ``path`` is replaced only after the new one is complete.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    clean_leftovers(path)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    os.chmod(tmp, 0o777 & ~_umask())
    lock = os.open(tmp, os.O_RDONLY)
    try:
        _lock(lock)  # a folder's lock is held on a descriptor of the folder itself
        yield tmp
        if path.exists():
            old = path.with_name(f".{path.name}.old")
            if old.exists():
                shutil.rmtree(old)
            held = os.open(path, os.O_RDONLY)  # locked: the folder moved aside is not a leftover
            try:
                _lock(held)
                path.rename(old)
                tmp.rename(path)
            finally:
                os.close(held)
            shutil.rmtree(old)
        else:
            tmp.rename(path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        os.close(lock)
