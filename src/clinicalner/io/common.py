"""What every reader and writer shares: decoding files, the BOM rule, folder names, reports.

Decoding is done from bytes so that ``\\r\\n`` stays two characters (offsets in BRAT, TSV
and Chia count the ``\\r``) and a bad byte is reported with its byte offset and line.

The BOM rule: a leading U+FEFF is removed from every text we read. Annotation offsets that
were computed on the file *with* its BOM (brat and Python's ``utf-8`` codec count it as one
character) are shifted back by one; :func:`bom_shift` decides per document from the stored
span texts, and assumes the BOM was counted when there is nothing to compare.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from clinicalner.document import Document, Span, same_surface, surface
from clinicalner.errors import CorpusError, Problems

BOM = "\ufeff"


def brief(value: str, limit: int = 24) -> str:
    """A field of a bad line, for an error message: quoted when short, else only its length.

    Error messages never show note text (PHI). A misread file (a JSONL read as TSV, a text
    column shifted into the offsets) can put a note's words in any field, so a field is shown
    only when it is short and holds no whitespace, which is what offsets, tags, ids and
    labels look like; anything else is described by its length.
    """
    if len(value) <= limit and not any(c.isspace() for c in value):
        return repr(value)
    return f"<{len(value)} characters>"


def brief_numbers(value: str, limit: int = 40) -> str:
    """Like :func:`brief` for a field meant to hold numbers (``12 15;20 27``).

    Shown when it is short and at least half digits (a typo in offsets is worth seeing), else
    described by its length: words there are more likely note text than offsets.
    """
    core = value.strip()
    digits = sum(c.isdigit() for c in core)
    if len(value) <= limit and "\n" not in value and digits * 2 >= len(core.replace(" ", "")):
        return repr(value)
    return f"<{len(value)} characters>"


def header_like(fields: Sequence[str], max_field: int = 40, max_fields: int = 20) -> bool:
    """Whether a first line's fields look like column names, safe to print (see :func:`brief`)."""
    return 1 < len(fields) <= max_fields and all(
        len(f.strip()) <= max_field and len(f.split()) <= 4 for f in fields
    )


def skipped_lines(skipped: Sequence[CorpusError], limit: int = 10) -> list[str]:
    """What lenient reading skipped, one ``file:line: reason`` each: the first ``limit``, then
    ``and N more``. A count alone ("4 problems skipped") leaves the user to guess which lines."""
    out = [str(e) for e in skipped[:limit]]
    if len(skipped) > limit:
        out.append(f"and {len(skipped) - limit} more")
    return out


def visible(names: Iterable[str]) -> list[str]:
    """File or folder names in order, without hidden ones (``.name``).

    Readers never take a dot-file or dot-folder for corpus data: they are temp folders of a
    write in progress (``.out.x1y2.tmp``), editor files and version control.
    """
    return sorted(n for n in names if not n.startswith("."))


def is_number(value: str) -> bool:
    """Whether ``value`` is a whole number written in ASCII digits (``0``-``9`` only).

    ``str.isdigit`` is also true for ``'¹²'``, ``'١٣'`` and ``'１３'``, which ``int()`` then
    refuses (superscripts) or silently reads (other scripts): offsets are ASCII or an error.
    """
    return value.isascii() and value.isdigit()


def by_suffix(names: Iterable[str], suffix: str) -> dict[str, str]:
    """``{stem: name}`` of the names ending in ``suffix``, the suffix compared case-insensitively.

    ``B.TXT`` and ``B.ANN`` are a document as much as ``b.txt`` and ``b.ann``: file systems and
    exports from other systems upper-case names, and a reader that compared suffixes exactly
    skipped such files without a word.
    """
    n = len(suffix)
    return {name[:-n]: name for name in names if name[-n:].lower() == suffix and len(name) > n}


def decode(raw: bytes, file: str | Path) -> tuple[str, bool]:
    """UTF-8 text of ``raw`` without its BOM, and whether there was one.

    A bad byte raises :class:`CorpusError` naming the byte offset and the line it is on.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        raise CorpusError(
            f"not valid UTF-8: byte 0x{raw[e.start]:02x} at byte offset {e.start} ({e.reason}); "
            "re-save the file as UTF-8",
            file,
            line,
        ) from None
    if text.startswith(BOM):
        return text[1:], True
    return text, False


def decode_lines(raw: bytes, file: str | Path, problems: Problems) -> tuple[str, bool]:
    """Like :func:`decode`, but a line holding a bad byte is reported and left empty, the rest kept.

    For line-based annotation files (``.ann``): with lenient reading one bad byte costs one
    line, not the whole document. Line numbers do not move (the bad line stays, emptied).
    """
    try:
        return decode(raw, file)
    except CorpusError:
        pass
    lines: list[str] = []
    offset = 0
    for no, piece in enumerate(raw.split(b"\n"), 1):
        try:
            lines.append(piece.decode("utf-8"))
        except UnicodeDecodeError as e:
            problems.report(
                CorpusError(
                    f"not valid UTF-8: byte 0x{piece[e.start]:02x} at byte offset {offset + e.start} "
                    f"({e.reason}); re-save the file as UTF-8 (--lenient skips just this line)",
                    file,
                    no,
                )
            )
            lines.append("")
        offset += len(piece) + 1
    text = "\n".join(lines)
    if text.startswith(BOM):
        return text[1:], True
    return text, False


def open_regular(path: str | Path) -> BinaryIO:
    """Open a file for reading in binary, refusing anything but a regular file.

    Every reader opens its files through here. A folder, a FIFO, a socket or a device where a
    file is expected is an error naming the path, and so is a symlink loop: opening a FIFO
    would wait forever for a writer, a folder raises ``IsADirectoryError`` deep in a reader.
    The file is opened non-blocking and checked on the open descriptor, so a FIFO is never
    waited on and the check is about the very file that is read.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        if os.path.islink(path):
            raise CorpusError("is a symbolic link to nothing (its target does not exist)", path) from None
        raise CorpusError("file not found", path) from None
    except IsADirectoryError:
        raise CorpusError("is a folder where a file is expected", path) from None
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise CorpusError("is a symbolic link loop, not a file", path) from None
        raise CorpusError(f"cannot be read: {e.strerror}", path) from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        what = "a folder" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode) else "not a regular file"
        raise CorpusError(f"is {what} where a file is expected; give a regular file", path)
    if hasattr(os, "set_blocking"):
        os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def missing(path: Path) -> CorpusError:
    """The error for a path that does not exist: a dangling link or loop is named as such."""
    if path.is_symlink():
        return CorpusError("is a symbolic link to nothing, or a symbolic link loop", path)
    return CorpusError("no such file or folder", path)


def read_bytes(path: str | Path) -> bytes:
    """The bytes of a regular file (see :func:`open_regular`); a read error names the file."""
    with open_regular(path) as f:
        try:
            return f.read()
        except OSError as e:
            raise CorpusError(f"cannot be read: {e.strerror}", path) from None


def read_text(path: str | Path) -> tuple[str, bool]:
    """Read a whole text file exactly (CRLF kept); see :func:`decode`."""
    path = Path(path)
    return decode(read_bytes(path), path)


def split_lines(text: str) -> list[str]:
    """Lines split on ``\\n`` only, each without its trailing ``\\r``.

    ``str.splitlines`` would also split on U+2028, U+0085 and friends, which may sit
    inside note text; annotation files only ever end lines with ``\\n`` or ``\\r\\n``.
    """
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [ln[:-1] if ln.endswith("\r") else ln for ln in lines]


def bom_shift(text: str, pieces: Sequence[tuple[Sequence[tuple[int, int]], str]]) -> int:
    """How much to subtract from offsets read for a text whose BOM was removed: 1 or 0.

    ``pieces`` holds (fragments, stored text) per span. The shift that makes more stored
    texts agree with the offsets wins; with no stored text to go by, the BOM is taken as
    counted (what brat and Python's ``utf-8`` codec do).
    """

    def agree(shift: int) -> int:
        n = 0
        for frags, stored in pieces:
            if not stored:
                continue
            moved = [(a - shift, b - shift) for a, b in frags]
            if all(0 <= a < b <= len(text) for a, b in moved):
                got = " ".join(text[a:b] for a, b in moved)
                n += same_surface(got, stored)
        return n

    if not any(stored for _, stored in pieces):
        return 1
    return 0 if agree(0) > agree(1) else 1


# ---------------------------------------------------------------------------------------------
# What folder names say: language, split and entity type of the MultiClinAI layout.

LANGUAGE_ALIASES = {"cz": "cs"}
LANGUAGES = frozenset(
    [
        "bg",
        "ca",
        "cs",
        "da",
        "de",
        "el",
        "en",
        "es",
        "et",
        "eu",
        "fi",
        "fr",
        "ga",
        "gl",
        "hr",
        "hu",
        "it",
        "lt",
        "lv",
        "mt",
        "nl",
        "no",
        "pl",
        "pt",
        "ro",
        "sk",
        "sl",
        "sv",
        "ru",
        "uk",
        "tr",
        "ar",
        "zh",
        "ja",
        "ko",
    ]
) | frozenset(LANGUAGE_ALIASES)
SPLITS = {
    "train": "train",
    "training": "train",
    "trainingset": "train",
    "dev": "dev",
    "devel": "dev",
    "development": "dev",
    "developmentset": "dev",
    "valid": "dev",
    "validation": "dev",
    "val": "dev",
    "test": "test",
    "testset": "test",
}
ENTITY_TYPES = {
    "disease": "DISEASE",
    "diseases": "DISEASE",
    "symptom": "SYMPTOM",
    "symptoms": "SYMPTOM",
    "procedure": "PROCEDURE",
    "procedures": "PROCEDURE",
    "medication": "MEDICATION",
    "medications": "MEDICATION",
}
_NAME_TOKENS = re.compile(r"[A-Za-z]+")


@dataclass(frozen=True)
class FolderInfo:
    """What a folder path says about the documents in it."""

    language: str | None = None
    split: str | None = None
    entity_type: str | None = None
    folder: str | None = None  # "es/dev/symptom" when all three are known

    @property
    def annotated_labels(self) -> frozenset[str] | None:
        return frozenset({self.entity_type}) if self.entity_type else None


def folder_info(relative: Path | str) -> FolderInfo:
    """Parse ``MultiClinNER-cz/MultiClinNER-cz-train/symptom`` or ``es/dev/symptom``.

    Each path component is cut into alphabetic tokens; a known language code, split name
    or entity type anywhere names it (the last one wins). ``cz`` becomes ``cs``.
    """
    rel = Path(relative)
    language = split = etype = None
    for part in rel.parts:
        tokens = _NAME_TOKENS.findall(part)
        part_lang = part_split = None
        for tok in tokens:
            low = tok.lower()
            if low in LANGUAGES and (tok == low or len(tokens) == 1):
                language = part_lang = LANGUAGE_ALIASES.get(low, low)
            elif low in SPLITS:
                split = part_split = SPLITS[low]
        # A type only from a folder named for it ("symptom") or a release name that also
        # says language and split ("MultiClinNER-es-train-disease"), not from "ncbi-disease".
        low_part = part.lower()
        if low_part in ENTITY_TYPES:
            etype = ENTITY_TYPES[low_part]
        elif part_lang and part_split and tokens and tokens[-1].lower() in ENTITY_TYPES:
            etype = ENTITY_TYPES[tokens[-1].lower()]
    folder = f"{language}/{split}/{etype.lower()}" if language and split and etype else None
    return FolderInfo(language, split, etype, folder)


def split_from_name(name: str) -> str | None:
    """The split a file name announces (``CDR_TrainingSet``, ``Dev.PubTator``), if any."""
    low = name.lower()
    for tok in re.findall(r"[a-z]+", low):
        if tok in SPLITS:
            return SPLITS[tok]
    for key, value in (("train", "train"), ("dev", "dev"), ("valid", "dev"), ("test", "test")):
        if key in low:
            return value
    return None


# ---------------------------------------------------------------------------------------------
# Words, for the CoNLL writer and the statistics.


def word_tokenizer() -> Callable[[str, str | None], list[tuple[int, int]]]:
    """The words the CoNLL writer and the statistics count: :func:`clinicalner.text.words.word_spans`."""
    from clinicalner.text.words import word_spans

    return word_spans


# ---------------------------------------------------------------------------------------------
# Writing.


LOST_TYPES = "documents' annotated types (reading back, every type counts as annotated)"

# BRAT line kinds the BRAT writer writes back (their T references renumbered).
BRAT_KEPT = frozenset({"relations", "events", "attributes", "equivalences", "normalizations", "notes"})


@dataclass
class WriteReport:
    """What a writer did: how many documents and spans went out, and what could not.

    A span the format cannot hold (a discontinuous span in TSV, nested spans of one type in
    CoNLL) is never dropped silently: it is counted under its reason, and the first few are
    listed by document id and offsets (never their text).
    """

    path: Path
    format: str
    documents: int = 0
    spans: int = 0
    unrepresentable: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skipped: list[CorpusError] = field(default_factory=list)
    # what of the documents' metadata the format cannot hold, by kind
    metadata_lost: Counter[str] = field(default_factory=Counter)

    max_examples = 20

    def tally_metadata(self, doc: Document, keeps: Iterable[str] = (), folder: Path | None = None) -> None:
        """Count what of a document's metadata this format cannot hold (never silently lost).

        ``keeps`` names what the format holds: ``language``, ``annotated_labels`` (the masking
        of types a document does not annotate), ``brat`` (N and # lines), ``pubtator`` (mention
        ids and relation lines). A folder writer passes the document's ``folder``: what its
        name says (``es/dev/symptom``) is read back, so language and type survive through it.
        """
        kept = set(keeps)
        if folder is not None:
            info = folder_info(folder)
            if doc.language and info.language == doc.language:
                kept.add("language")
            if doc.annotated_labels is not None and info.annotated_labels == doc.annotated_labels:
                kept.add("annotated_labels")
        if doc.language and "language" not in kept:
            self.metadata_lost["documents' language"] += 1
        if doc.annotated_labels is not None and "annotated_labels" not in kept:
            self.metadata_lost[LOST_TYPES] += 1
        brat = doc.metadata.get("brat") or {}
        for kind, lines in brat.items():
            if kind in ("ids", "keys") or ("brat" in kept and kind in BRAT_KEPT):
                continue
            self.metadata_lost[f"BRAT {kind} lines"] += len(lines)
        pub = doc.metadata.get("pubtator") or {}
        if "pubtator" not in kept:
            if pub.get("ids"):
                self.metadata_lost["PubTator mention ids (MeSH...)"] += len(pub["ids"])
            if pub.get("relations"):
                self.metadata_lost["PubTator relation lines"] += len(pub["relations"])

    @property
    def lost(self) -> int:
        """Spans of the input that are not in the output."""
        return sum(self.unrepresentable.values())

    def drop(self, doc: Document, span: Span, reason: str) -> None:
        self.unrepresentable[reason] += 1
        if len(self.examples) < self.max_examples:
            where = (
                ";".join(f"{a}-{b}" for a, b in span.fragments)
                if span.fragments
                else f"{span.start}-{span.end}"
            )
            self.examples.append(f"{doc.id}: {where} {span.label} ({reason})")

    def summary(self) -> str:
        parts = [f"wrote {self.documents} documents and {self.spans} spans as {self.format} to {self.path}"]
        for reason, n in sorted(self.unrepresentable.items()):
            parts.append(f"{n} spans not written: {reason}")
        if self.skipped:
            parts.append(f"{len(self.skipped)} problems skipped while reading (--lenient):")
            parts.extend(f"  {line}" for line in skipped_lines(self.skipped))
        for what, n in sorted(self.metadata_lost.items()):
            parts.append(f"not written ({self.format} has no place for them): {n} {what}")
        parts.extend(self.notes)
        return "\n".join(parts)

    def __str__(self) -> str:
        return self.summary()


def need_text(doc: Document, fmt: str) -> None:
    """Formats that carry the text refuse a document read from a bare TSV (no text)."""
    if doc.metadata.get("has_text") is False:
        raise CorpusError(
            f"document {doc.id!r} has no text (read from a bare TSV): {fmt} needs it; convert the "
            "corpus with its texts (a MultiClinAI tree with txt/, BRAT...), or in Python fill them "
            "with clinicalner.io.attach_texts first",
            doc.metadata.get("source"),
        )


_BAD_NAME = re.compile(r"[\\/\x00-\x1f]|^\.{1,2}$|^$")


def safe_name(doc_id: str) -> str:
    """A document id used as a file name; ids that cannot be one are an error, not mangled."""
    if _BAD_NAME.search(doc_id):
        raise CorpusError(f"document id {doc_id!r} cannot be used as a file name")
    return doc_id


def safe_folder(doc: Document) -> Path:
    """The relative output folder of a document: its ``folder`` metadata, else its ``split``.

    Falling back to the split keeps apart documents of one id from different splits
    (BC5CDR's training file repeats the development abstracts).
    """
    folder = doc.metadata.get("folder") or doc.metadata.get("split")
    if not folder:
        return Path()
    rel = Path(str(folder))
    if rel.is_absolute() or ".." in rel.parts:
        raise CorpusError(f"document {doc.id!r}: folder {folder!r} is not a relative path inside the output")
    return rel


def check_replaceable(path: Path, allowed_suffixes: Iterable[str]) -> None:
    """Refuse to replace a folder holding anything but what this writer writes.

    The folder writers build a new folder and swap it in; pointing one at a folder of other
    files (a home directory) must fail before anything is touched.
    """
    if not path.exists():
        return
    if not path.is_dir():
        raise CorpusError("exists and is not a folder; choose another output path", path)
    allowed = set(allowed_suffixes)
    for f in path.rglob("*"):
        if f.is_file() and f.suffix not in allowed:
            raise CorpusError(
                f"output folder holds other files ({f.relative_to(path)}); it would be replaced: "
                "choose an empty or new folder",
                path,
            )


def write_plain(path: Path, content: str) -> None:
    """Write a file inside a folder that is itself being built aside (``atomic_dir``).

    Each file needs no temp-and-rename of its own there; CRLF is written unchanged.
    """
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(content)


def span_surface(doc: Document, span: Span) -> str:
    """The text a writer stores for a span: from the document when it has one."""
    if doc.text:
        return surface(doc.text, span.start, span.end, span.fragments)
    return span.text


def document_slots(
    documents: Iterable[Document], root: Path, fmt: str
) -> Iterator[tuple[Document, Path, str]]:
    """Each document with the folder (created under ``root``, from its ``folder`` metadata) and
    the safe file name it is written to, for the writers of one file set per document.

    Two documents with one id in one folder would overwrite each other: an error naming the id.
    """
    seen: set[tuple[Path, str]] = set()
    for doc in documents:
        need_text(doc, fmt)
        folder, name = safe_folder(doc), safe_name(doc.id)
        if (folder, name) in seen:
            raise CorpusError(f"document id {doc.id!r} appears twice in folder {folder.as_posix() or '.'}")
        seen.add((folder, name))
        (root / folder).mkdir(parents=True, exist_ok=True)
        yield doc, folder, name
