"""Which format a path holds, from its layout and names (and a look at the first bytes).

Folders:
- ``multiclinai``: some folder has a ``txt/`` sub-folder of ``.txt`` files (and no ``.ann``
  in it): the MultiClinAI release or simplified tree, or a single TSV + ``txt/``.
- ``brat``: ``.ann`` files anywhere below.
- ``jsonl`` / ``conll`` / ``pubtator``: files with those extensions (``.jsonl``;
  ``.conll``, ``.bio``, ``.iob``, ``.iob2``, ``.bioes``; ``.pubtator``), or ``.txt`` files whose
  first line is a PubTator title (``CDR_TrainingSet.PubTator.txt``).
- ``xmi``: ``.xmi`` files, or ``.xml`` files whose root is ``xmi:XMI`` (E3C, WebAnno).
- ``conllu``: ``.conllu`` files (CoNLL-U, UD).
- ``tsv``: only bare ``.tsv`` files (prediction files, no texts).
- ``txt``: only ``.txt`` files.

Files: by extension (``.tsv``, ``.jsonl``, ``.conll``..., ``.pubtator``, ``.ann``), a ``.txt``
by its first line (PubTator or plain text, or BRAT when an ``.ann`` sits beside it), and
anything else by its first bytes.
"""

from __future__ import annotations

import os
from pathlib import Path

from clinicalner.errors import CorpusError
from clinicalner.io.common import by_suffix, missing, open_regular, visible
from clinicalner.io.conllu import CONLLU_SUFFIXES
from clinicalner.io.pubtator import looks_like_pubtator
from clinicalner.io.xmi import looks_like_xmi

CONLL_SUFFIXES = frozenset({".conll", ".bio", ".iob", ".iob2", ".bioes", ".conll03", ".conllx"})
JSONL_SUFFIXES = frozenset({".jsonl", ".ndjson"})
SQLITE_SUFFIXES = frozenset({".sqlite", ".sqlite3", ".db"})
PUBTATOR_SUFFIXES = frozenset({".pubtator"})
_SNIFF_TXT = 5


def head(path: Path, size: int = 4096) -> str:
    """The first bytes of a file as text (bad bytes replaced: this only guesses a format)."""
    with open_regular(path) as f:
        return f.read(size).decode("utf-8", errors="replace").lstrip("\ufeff")


def is_pubtator_file(path: Path) -> bool:
    suffix = path.suffix.lower()
    if suffix in PUBTATOR_SUFFIXES:
        return True
    return suffix == ".txt" and looks_like_pubtator(head(path), "pubtator" in path.name.lower())


def is_xmi_file(path: Path) -> bool:
    """A ``.xmi`` file, or a ``.xml`` file whose root is ``xmi:XMI`` (not a ``TypeSystem.xml``)."""
    suffix = path.suffix.lower()
    return suffix == ".xmi" or (suffix == ".xml" and looks_like_xmi(head(path, 8192)))


def detect_format(path: str | Path) -> str:
    """The format name (one of ``clinicalner.io.FORMATS``) of a file or folder.

    A folder whose sub-folders (or loose files) hold corpora of different formats is an error
    naming them: read as the first format found, the others would be skipped without a word
    (``stats corpora/`` once counted the MultiClinAI tree alone among six corpora).
    """
    p = Path(path)
    if not p.exists():
        raise missing(p)
    if p.is_file():
        return _file_format(p)
    fmt = _folder_format(p)
    _refuse_mixed(p)
    return fmt


# Formats one reader takes together: a BRAT folder's unannotated .txt files are its documents.
_COMPATIBLE = {"txt": "brat"}


def _refuse_mixed(p: Path) -> None:
    """Raise when the parts of ``p`` (sub-folders, loose corpus files) differ in format."""
    if (p / "txt").is_dir():
        return  # a MultiClinAI group: txt/, tsv/ or ann/ are one corpus
    parts: dict[str, str] = {}
    for name in visible(os.listdir(p)):
        q = p / name
        try:
            if q.is_dir():
                parts[f"{name}/"] = _folder_format(q)
            elif q.suffix.lower() in _CORPUS_SUFFIXES and not name.lower().startswith(_NOT_DATA):
                parts[name] = _file_format(q)
        except CorpusError:
            continue  # nothing readable there: not a corpus
    kinds = {_COMPATIBLE.get(f, f) for f in parts.values()}
    if "brat" not in kinds:
        kinds = set(parts.values())
    if len(kinds) <= 1:
        return
    by_format: dict[str, list[str]] = {}
    for name, f in parts.items():
        by_format.setdefault(f, []).append(name)
    listed = "; ".join(
        f"{f}: {', '.join(names[:4])}{', ...' if len(names) > 4 else ''}"
        for f, names in sorted(by_format.items())
    )
    raise CorpusError(
        f"holds corpora of different formats ({listed}); give one of them, or --format to read only "
        "the files of one format",
        p,
    )


_NOT_DATA = ("readme", "license", "licence")  # README.txt beside a corpus is not a corpus
_CORPUS_SUFFIXES = (
    frozenset({".ann", ".txt", ".tsv", ".xmi", ".xml"})
    | JSONL_SUFFIXES
    | CONLL_SUFFIXES
    | PUBTATOR_SUFFIXES
    | CONLLU_SUFFIXES
)


def _folder_format(p: Path) -> str:
    """The format of a folder from its layout and names (see the module docstring)."""
    suffixes: dict[str, list[Path]] = {}
    for dirpath, dirnames, filenames in os.walk(p):
        dirnames[:] = visible(dirnames)
        here = Path(dirpath)
        if "txt" in dirnames:
            names = visible(os.listdir(here / "txt"))
            if by_suffix(names, ".txt") and not by_suffix(names, ".ann"):
                return "multiclinai"
        for name in visible(filenames):
            suffixes.setdefault(Path(name).suffix.lower(), []).append(here / name)
    if ".ann" in suffixes:
        return "brat"
    if suffixes.keys() & JSONL_SUFFIXES:
        return "jsonl"
    if suffixes.keys() & CONLL_SUFFIXES:
        return "conll"
    if suffixes.keys() & PUBTATOR_SUFFIXES:
        return "pubtator"
    if suffixes.keys() & CONLLU_SUFFIXES:
        return "conllu"
    if ".xmi" in suffixes or any(is_xmi_file(f) for f in suffixes.get(".xml", [])[:_SNIFF_TXT]):
        return "xmi"
    txts = suffixes.get(".txt", [])
    named = [f for f in txts if "pubtator" in f.name.lower()]
    if any(is_pubtator_file(f) for f in (named or txts[:_SNIFF_TXT])):
        return "pubtator"
    if ".tsv" in suffixes:
        return "tsv"
    if txts:
        return "txt"
    raise CorpusError("no corpus files found (.txt, .ann, .tsv, .jsonl, .conll, .pubtator, .xmi, .conllu)", p)


def _file_format(p: Path) -> str:
    suffix = p.suffix.lower()
    if suffix in SQLITE_SUFFIXES or head(p, 16).startswith("SQLite format 3"):
        return "omop"  # an OMOP CDM database in SQLite
    if suffix == ".tsv":
        return "tsv"
    if suffix in JSONL_SUFFIXES:
        return "jsonl"
    if suffix in CONLL_SUFFIXES:
        return "conll"
    if suffix in PUBTATOR_SUFFIXES:
        return "pubtator"
    if suffix == ".ann":
        return "brat"
    if suffix == ".txt" and by_suffix(os.listdir(p.parent), ".ann").get(p.name[:-4]):
        return "brat"  # the note beside its .ann, whatever its text looks like
    if suffix in CONLLU_SUFFIXES:
        return "conllu"
    if is_xmi_file(p):
        return "xmi"
    text = head(p)
    if looks_like_pubtator(text, "pubtator" in p.name.lower() or suffix != ".txt"):
        return "pubtator"
    if suffix == ".txt":
        return "txt"
    first = next((ln for ln in text.split("\n") if ln.strip()), "")
    if first.lstrip().startswith("{"):
        return "jsonl"
    if "\t" in first and first.split("\t")[0].strip().lower() in ("filename", "file", "doc_id"):
        return "tsv"
    if "\t" in first or first.startswith("-DOCSTART-"):
        return "conll"
    raise CorpusError("cannot tell the format of this file; pass format= (one of the FORMATS)", p)
