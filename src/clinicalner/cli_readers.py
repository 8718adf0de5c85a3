"""CLI options of the XMI and CoNLL-U readers, shared by stats, convert, evaluate and predict.

Kept apart from ``cli.py`` so that each command adds four lines, not forty; their meaning is
:class:`clinicalner.io.options.ReaderOptions`.
"""

from __future__ import annotations

from typing import Annotated

import typer

_PANEL = "XMI and CoNLL-U input"

XmiTypeOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--xmi-type",
        metavar="TYPE[@FEATURE|=LABEL]",
        help="XMI annotation type holding the entities (repeatable): custom:CLINENTITY, "
        "webanno.custom.CLINENTITY or CLINENTITY; the label is the type's name, a feature's "
        "value (TYPE@value) or fixed (TYPE=DISO). Default: E3C's CLINENTITY and INCEpTION's "
        "NamedEntity@value.",
        rich_help_panel=_PANEL,
    ),
]
ConlluTagsOpt = Annotated[
    str | None,
    typer.Option(
        "--conllu-tags",
        metavar="WHERE",
        help="Where CoNLL-U keeps the BIO tags: a MISC key (default misc:BioNERLabel) or a "
        "column, by number from 1 or by its # global.columns name.",
        rich_help_panel=_PANEL,
    ),
]
ConlluDocumentsOpt = Annotated[
    str | None,
    typer.Option(
        "--conllu-documents",
        metavar="MODE",
        help="CoNLL-U documents: one per sentence, per # newdoc, or per file; auto (default): "
        "newdoc when the file opens with one, else sentence.",
        rich_help_panel=_PANEL,
    ),
]
ConlluOrphansOpt = Annotated[
    str | None,
    typer.Option(
        "--conllu-orphans",
        metavar="start|join",
        help="An I-X after no B-X/I-X: start a span (default, as conlleval) or join the "
        "previous X span of the sentence. Counted either way.",
        rich_help_panel=_PANEL,
    ),
]
