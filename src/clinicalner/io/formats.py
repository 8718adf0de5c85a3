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


def format_from_path(path: str | Path) -> str:
    """The output format a path asks for: its suffix, or a BRAT folder when it has none."""
    suffix = Path(path).suffix.lower()
    if not suffix:
        return "brat"
    if suffix not in SUFFIX_FORMATS:
        raise ValueError(
            f"{path}: cannot tell the output format from {suffix!r}; use .tsv, .jsonl, .conll, "
            ".pubtator, a folder (BRAT), or pass --format"
        )
    return SUFFIX_FORMATS[suffix]
