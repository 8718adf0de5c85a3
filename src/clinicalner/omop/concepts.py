"""A user's label -> concept table for ``note_nlp_concept_id`` / ``note_nlp_source_concept_id``.

A TSV of ``label<TAB>concept_id[<TAB>source_concept_id]`` (a header line is allowed). Labels
it does not name get 0, the CDM's "no matching concept".
"""

from __future__ import annotations

from pathlib import Path

from clinicalner.errors import CorpusError


def load_concepts(path: str | Path | None) -> dict[str, tuple[int, int]]:
    """label -> (concept_id, source_concept_id); empty without a file."""
    if path is None:
        return {}
    path = Path(path)
    table: dict[str, tuple[int, int]] = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = [p.strip() for p in line.split("\t")]
        if n == 1 and len(parts) > 1 and not parts[1].isdigit():
            continue  # a header line
        if len(parts) not in (2, 3) or not all(p.isdigit() for p in parts[1:]):
            raise CorpusError(
                "expected label, concept_id and optionally source_concept_id (integers)", path, n
            )
        if parts[0] in table:
            raise CorpusError(f"label {parts[0]!r} is given twice", path, n)
        table[parts[0]] = (int(parts[1]), int(parts[2]) if len(parts) == 3 else 0)
    return table
