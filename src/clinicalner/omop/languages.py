"""OMOP ``language_concept_id`` -> our language codes (ISO 639-1).

The table that ships holds only concept ids checked against OHDSI ETL code (English,
4180186, as used for ``language_concept_id`` across the OHDSI vocabulary scripts); a site
adds its own with a two-column TSV (``concept_id``, ``language``) given as ``--language-map``,
and ``--language`` names the language of notes whose concept is 0 or not in the table.
A note whose language is unknown is still tagged: the language only tunes sentence splitting
and post-processing.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from clinicalner.errors import CorpusError
from clinicalner.text.abbreviations import LANGUAGES

#: concept_id -> language code: only ids verified against OHDSI sources (see the module doc).
LANGUAGE_CONCEPTS: Mapping[int, str] = {4180186: "en"}


def load_language_map(path: str | Path | None) -> dict[int, str]:
    """The shipped table, extended (and overridden) by a TSV of ``concept_id<TAB>language``."""
    table = dict(LANGUAGE_CONCEPTS)
    if path is None:
        return table
    path = Path(path)
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if n == 1 and not parts[0].strip().isdigit():
            continue  # a header line
        if len(parts) != 2 or not parts[0].strip().isdigit():
            raise CorpusError("expected two tab-separated columns: concept_id, language", path, n)
        code = parts[1].strip().lower()
        if code not in LANGUAGES:
            raise CorpusError(f"unknown language {code!r} (known: {', '.join(LANGUAGES)})", path, n)
        table[int(parts[0])] = code
    return table


def language_of(concept_id: int | None, table: Mapping[int, str], default: str | None) -> str | None:
    """The language of a note: its concept's, else ``default``."""
    if concept_id is not None and concept_id in table:
        return table[concept_id]
    return default
