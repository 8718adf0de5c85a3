"""Which output format a path asks for, from its suffix: one rule for every command that writes."""

from __future__ import annotations

from pathlib import Path

#: Output suffixes and the format each writes; a path without a suffix is a BRAT folder.
SUFFIX_FORMATS = {
    ".tsv": "tsv",
    ".jsonl": "jsonl",
    ".conll": "conll",
    ".pubtator": "pubtator",
    ".conllu": "conllu",
}
# An OMOP CDM database (NOTE + NOTE_NLP) in an SQLite file.
SUFFIX_FORMATS.update({".sqlite": "omop", ".sqlite3": "omop", ".db": "omop"})


def format_from_path(path: str | Path, option: str = "--format") -> str:
    """The output format a path asks for: its suffix, or a BRAT folder when it has none.

    ``option`` is the flag the error message tells the user to pass instead.
    """
    suffix = Path(path).suffix.lower()
    if not suffix:
        return "brat"
    if suffix not in SUFFIX_FORMATS:
        raise ValueError(
            f"{path}: cannot tell the output format from {suffix!r}; use .tsv, .jsonl, .conll, "
            f".pubtator, a folder (BRAT), or pass {option}"
        )
    return SUFFIX_FORMATS[suffix]
