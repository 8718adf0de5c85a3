"""Options of the readers whose files do not say everything: UIMA XMI and CoNLL-U.

An XMI file holds many annotation types (tokens, sentences, events, entities); which one is
the entity gold is the user's choice. A CoNLL-U file may carry entity tags in its MISC column
under any key, or in an extra column, and says nothing of document boundaries unless it has
``# newdoc`` lines. These choices travel together as one :class:`ReaderOptions` from the
CLI (``--xmi-type``, ``--conllu-tags``, ``--conllu-documents``, ``--conllu-orphans``) down
to the readers; every other reader ignores them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

#: Entity types read from an XMI file when none is asked for: E3C's clinical entities, and the
#: DKPro named entities INCEpTION exports (their label in the ``value`` feature; what
#: :func:`clinicalner.io.xmi.write_file` writes).
DEFAULT_XMI_TYPES = (
    "webanno.custom.CLINENTITY",
    "de.tudarmstadt.ukp.dkpro.core.api.ner.type.NamedEntity@value",
)
DEFAULT_CONLLU_TAGS = "misc:BioNERLabel"
CONLLU_DOCUMENTS = ("auto", "sentence", "newdoc", "file")
CONLLU_ORPHANS = ("start", "join")


@dataclass(frozen=True)
class ReaderOptions:
    """What to read from XMI and CoNLL-U files (see the module docstring).

    - ``xmi_types``: annotation types holding the entities, each ``TYPE`` (the label is the
      type's short name), ``TYPE@FEATURE`` (the label is that feature's value) or
      ``TYPE=LABEL`` (a fixed label). ``TYPE`` is written as in the file
      (``custom:CLINENTITY``), as the UIMA name (``webanno.custom.CLINENTITY``) or as the bare
      short name (``CLINENTITY``). Empty: :data:`DEFAULT_XMI_TYPES`.
    - ``conllu_tags``: where the BIO tags are: ``misc:KEY`` (a ``KEY=B-DISO`` item of the MISC
      column) or ``column:N`` (1-based; 11 and up are CoNLL-U Plus columns) or ``column:NAME``
      (a name of the file's ``# global.columns`` line).
    - ``conllu_documents``: ``sentence`` (one document per sentence, its id the ``sent_id``),
      ``newdoc`` (a document per ``# newdoc``), ``file`` (the whole file), ``auto``
      (``newdoc`` when the first sentence opens one, else ``sentence``).
    - ``conllu_orphans``: what an ``I-X`` tag that follows no ``B-X``/``I-X`` does: ``start``
      a span (the conlleval rule, as SiMoNERo's published scores count) or ``join`` the
      previous span of type X in the sentence (stretching it over the words between).
    """

    xmi_types: tuple[str, ...] = ()
    conllu_tags: str = DEFAULT_CONLLU_TAGS
    conllu_documents: str = "auto"
    conllu_orphans: str = "start"

    def __post_init__(self) -> None:
        for spec in self.xmi_types:
            xmi_type_spec(spec)
        conllu_tag_source(self.conllu_tags)
        if self.conllu_documents not in CONLLU_DOCUMENTS:
            raise ValueError(
                f"conllu_documents must be one of {', '.join(CONLLU_DOCUMENTS)}, not {self.conllu_documents!r}"
            )
        if self.conllu_orphans not in CONLLU_ORPHANS:
            raise ValueError(
                f"conllu_orphans must be one of {', '.join(CONLLU_ORPHANS)}, not {self.conllu_orphans!r}"
            )


def reader_options(
    xmi_type: Sequence[str] | str | None = None,
    conllu_tags: str | None = None,
    conllu_documents: str | None = None,
    conllu_orphans: str | None = None,
) -> ReaderOptions:
    """Options from the API's keyword arguments (``None`` keeps each default)."""
    types = (xmi_type,) if isinstance(xmi_type, str) else tuple(xmi_type or ())
    return ReaderOptions(
        types,
        conllu_tags or DEFAULT_CONLLU_TAGS,
        conllu_documents or "auto",
        conllu_orphans or "start",
    )


@dataclass(frozen=True)
class XmiTypeSpec:
    """One parsed ``--xmi-type``: which elements, and where their label comes from."""

    type: str
    feature: str | None = None
    label: str | None = None


def xmi_type_spec(spec: str) -> XmiTypeSpec:
    """Parse ``TYPE``, ``TYPE@FEATURE`` or ``TYPE=LABEL``; a malformed one is a ``ValueError``."""
    text = spec.strip()
    label = feature = None
    if "=" in text:
        text, label = (p.strip() for p in text.split("=", 1))
        if not label:
            raise ValueError(f"--xmi-type {spec!r}: nothing after '=' (TYPE=LABEL names a fixed label)")
    if "@" in text:
        text, feature = (p.strip() for p in text.split("@", 1))
        if not feature:
            raise ValueError(f"--xmi-type {spec!r}: nothing after '@' (TYPE@FEATURE names a feature)")
    if label and feature:
        raise ValueError(
            f"--xmi-type {spec!r}: give a feature (TYPE@FEATURE) or a label (TYPE=LABEL), not both"
        )
    if not text or text.count(":") > 1 or any(c.isspace() for c in text):
        raise ValueError(
            f"--xmi-type {spec!r}: expected TYPE, TYPE@FEATURE or TYPE=LABEL, TYPE as custom:CLINENTITY, "
            "webanno.custom.CLINENTITY or CLINENTITY"
        )
    return XmiTypeSpec(text, feature, label)


def conllu_tag_source(spec: str) -> tuple[str, str | int]:
    """``("misc", KEY)``, ``("column", N)`` (0-based) or ``("column", NAME)`` from ``--conllu-tags``."""
    kind, _, value = spec.partition(":")
    value = value.strip()
    if kind == "misc" and value:
        return "misc", value
    if kind == "column" and value:
        if value.isdigit():
            n = int(value)
            if n < 1:
                raise ValueError(f"--conllu-tags {spec!r}: columns count from 1")
            return "column", n - 1
        return "column", value
    raise ValueError(
        f"--conllu-tags {spec!r}: expected misc:KEY (e.g. misc:BioNERLabel), column:N or column:NAME"
    )
