"""UIMA CAS XMI, as WebAnno and INCEpTION export it (E3C ships its layers this way).

Reading: the text is the ``sofaString`` of a ``cas:Sofa`` element (XML escaping undone, so a
``&#13;&#10;`` line end stays two characters); the entities are the elements of the chosen
annotation types (:class:`~clinicalner.io.options.ReaderOptions`, ``--xmi-type``), each with
``begin``/``end`` offsets and a label from the type's short name, a feature or a fixed name.
Every other element (tokens, sentences, events, relations) is ignored.

Offsets in XMI count UTF-16 code units (UIMA is Java): a character outside the Basic
Multilingual Plane (an emoji, some CJK) counts two, so every offset after it is one more than
the Python (code point) offset. They are converted; an offset that falls between the two
halves of such a character is an error naming the file and line.

One document per Sofa that holds text (WebAnno writes one, ``_InitialView``); its id is the
file name without suffix (``IT100002``), or ``name/sofaID`` when a file has several. The
language comes from the ``DocumentMetaData`` when it names one (WebAnno writes
``x-unspecified``), else from the reader's ``language``.

Writing: one ``<id>.xmi`` per document with the text, a ``DocumentMetaData`` and one DKPro
``NamedEntity`` per span (label in ``value``): the built-in named-entity layer of INCEpTION,
so a project imports it without a custom layer; a ``TypeSystem.xml`` describing those types
is written beside. Discontinuous spans have no place there and are counted, not written.
"""

from __future__ import annotations

import bisect
import xml.parsers.expat
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from clinicalner.atomic import atomic_dir
from clinicalner.document import Document, Span, make_span
from clinicalner.errors import CorpusError, Problems
from clinicalner.io.common import (
    WriteReport,
    check_replaceable,
    document_slots,
    write_plain,
)
from clinicalner.io.options import DEFAULT_XMI_TYPES, XmiTypeSpec, xmi_type_spec

XMI_NS = "http://www.omg.org/XMI"
CAS_NS = "http:///uima/cas.ecore"
METADATA_NS = "http:///de/tudarmstadt/ukp/dkpro/core/api/metadata/type.ecore"
NER_NS = "http:///de/tudarmstadt/ukp/dkpro/core/api/ner/type.ecore"
XMI_SUFFIXES = frozenset({".xmi", ".xml"})
TYPE_SYSTEM = "TypeSystem.xml"
_ID = f"{XMI_NS} id"


def looks_like_xmi(head: str) -> bool:
    """Whether a file's first bytes are a UIMA XMI document (the XMI namespace on its root)."""
    return XMI_NS in head and "xmi:XMI" in head


def uima_name(uri: str, local: str) -> str:
    """The UIMA type name of an element: ``http:///webanno/custom.ecore`` + ``CLINENTITY`` is
    ``webanno.custom.CLINENTITY`` (how UIMA maps Java packages to XMI namespaces)."""
    pkg = uri.removeprefix("http:///").removesuffix(".ecore").replace("/", ".")
    return f"{pkg}.{local}" if pkg else local


@dataclass
class _Annotation:
    uri: str
    local: str
    attrs: dict[str, str]
    line: int


class _Collector:
    """Expat handlers: the prefixes declared, the Sofas, the metadata and candidate annotations."""

    def __init__(self, specs: list[XmiTypeSpec]) -> None:
        self.specs = specs
        self.prefixes: dict[str, str] = {}
        self.sofas: list[tuple[dict[str, str], int]] = []
        self.metadata: dict[str, dict[str, str]] = {}
        self.found: list[tuple[_Annotation, XmiTypeSpec]] = []
        self.root: str | None = None
        self.parser = xml.parsers.expat.ParserCreate(namespace_separator=" ")
        self.parser.StartNamespaceDeclHandler = self._prefix
        self.parser.StartElementHandler = self._start

    def _prefix(self, prefix: str | None, uri: str) -> None:
        self.prefixes[prefix or ""] = uri

    def _start(self, name: str, attrs: dict[str, str]) -> None:
        uri, _, local = name.rpartition(" ")
        if self.root is None:
            self.root = name
            return
        if uri == CAS_NS and local == "Sofa":
            self.sofas.append((attrs, self.parser.CurrentLineNumber))
            return
        if uri == METADATA_NS and local == "DocumentMetaData":
            self.metadata[attrs.get("sofa", "")] = attrs
        for spec in self.specs:
            if self._matches(spec.type, uri, local):
                self.found.append((_Annotation(uri, local, attrs, self.parser.CurrentLineNumber), spec))
                break

    def _matches(self, type_name: str, uri: str, local: str) -> bool:
        if ":" in type_name:
            prefix, _, short = type_name.partition(":")
            return short == local and self.prefixes.get(prefix) == uri
        if "." in type_name:
            return uima_name(uri, local) == type_name
        return type_name == local


def read_file(
    path: Path,
    problems: Problems,
    language: str | None = None,
    types: Iterable[str] = (),
) -> Iterator[Document]:
    """The documents of one XMI file (one per Sofa with text), entities of ``types``."""
    path = Path(path)
    specs = [xmi_type_spec(t) for t in (tuple(types) or DEFAULT_XMI_TYPES)]
    col = _Collector(specs)
    try:
        with path.open("rb") as f:
            col.parser.ParseFile(f)
    except xml.parsers.expat.ExpatError as e:
        problems.report(
            CorpusError(f"not well-formed XML: {xml.parsers.expat.ErrorString(e.code)}", path, e.lineno)
        )
        return
    if col.root != f"{XMI_NS} XMI":
        problems.report(CorpusError("not a UIMA XMI file: its root element is not xmi:XMI", path, 1))
        return
    sofas = [(a, line) for a, line in col.sofas if "sofaString" in a]
    if not sofas:
        problems.report(CorpusError("no cas:Sofa with a sofaString (the document text) in this file", path))
        return
    for attrs, _line in sofas:
        sofa_id = attrs.get(_ID, "")
        doc_id = path.stem if len(sofas) == 1 else f"{path.stem}/{attrs.get('sofaID', sofa_id)}"
        text = attrs["sofaString"]
        meta_attrs = col.metadata.get(sofa_id) or (col.metadata.get("", {}) if len(sofas) == 1 else {})
        lang = meta_attrs.get("language")
        doc = Document(
            doc_id,
            text,
            [],
            lang if lang and lang != "x-unspecified" else language,
            None,
            {"source": str(path)},
        )
        to_index = utf16_to_index(text)
        spans: list[Span] = []
        for ann, spec in col.found:
            owner = ann.attrs.get("sofa")
            if owner is not None and owner != sofa_id:
                continue
            if owner is None and len(sofas) > 1:
                continue
            try:
                spans.append(_span(ann, spec, doc, to_index, path))
            except CorpusError as err:
                problems.report(err)
        doc.spans = spans
        yield doc


def _span(
    ann: _Annotation, spec: XmiTypeSpec, doc: Document, to_index: Callable[[int], int | None], path: Path
) -> Span:
    name = f"{ann.local} (xmi:id {ann.attrs.get(_ID, '?')})"
    raw_begin, raw_end = ann.attrs.get("begin"), ann.attrs.get("end")
    if raw_begin is None or raw_end is None or not raw_begin.isdigit() or not raw_end.isdigit():
        raise CorpusError(f"{name}: begin and end must be non-negative integers", path, ann.line)
    if spec.label:
        label = spec.label
    elif spec.feature:
        label = ann.attrs.get(spec.feature) or ann.local
    else:
        label = ann.local
    start, end = to_index(int(raw_begin)), to_index(int(raw_end))
    if start is None or end is None:
        raise CorpusError(
            f"{name}: offset {raw_begin}-{raw_end} falls inside a character outside the Basic "
            "Multilingual Plane (between the two UTF-16 halves of one character)",
            path,
            ann.line,
        )
    return doc.check_span(make_span(start, end, label), str(path), ann.line)


def utf16_to_index(text: str) -> Callable[[int], int | None]:
    """A function from UTF-16 code-unit offsets to code-point offsets of ``text``.

    ``None`` for an offset between the halves of a surrogate pair; past the end it keeps
    counting so that the span check reports the span as outside the text.
    """
    wide = [i for i, c in enumerate(text) if ord(c) > 0xFFFF]
    if not wide:
        return lambda units: units
    # the UTF-16 offset of each wide character: its index plus the wide characters before it
    wide_units = [i + k for k, i in enumerate(wide)]

    def convert(units: int) -> int | None:
        k = bisect.bisect_left(wide_units, units)  # wide characters starting before ``units``
        if k and units == wide_units[k - 1] + 1:
            return None
        return units - k

    return convert


def utf16_offset(text: str) -> Callable[[int], int]:
    """The inverse of :func:`utf16_to_index`: code-point offsets to UTF-16 code units."""
    wide = [i for i, c in enumerate(text) if ord(c) > 0xFFFF]
    if not wide:
        return lambda index: index
    return lambda index: index + bisect.bisect_left(wide, index)


# ---------------------------------------------------------------------------------------------
# Writing

_XML_ESCAPES = {'"': "&quot;", "\r": "&#13;", "\n": "&#10;", "\t": "&#9;"}


def _attr(value: str) -> str:
    """An XML attribute value that reads back exactly (line ends and tabs as references)."""
    return escape(value, _XML_ESCAPES)


def _bad_xml_char(text: str) -> int | None:
    """Index of the first character XML 1.0 cannot hold (C0 controls but tab, LF, CR; U+FFFE/F)."""
    for i, c in enumerate(text):
        o = ord(c)
        if (o < 0x20 and c not in "\t\n\r") or o in (0xFFFE, 0xFFFF) or 0xD800 <= o <= 0xDFFF:
            return i
    return None


def document_xmi(doc: Document, report: WriteReport) -> str:
    """One document as an XMI string (text, metadata, a NamedEntity per contiguous span)."""
    bad = _bad_xml_char(doc.text)
    if bad is not None:
        raise CorpusError(
            f"document {doc.id!r}: character U+{ord(doc.text[bad]):04X} at offset {bad} cannot be "
            "written in XML 1.0 (XMI); remove it first"
        )
    units = utf16_offset(doc.text)
    sofa = 2
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<xmi:XMI xmlns:xmi="{XMI_NS}" xmlns:cas="{CAS_NS}" xmlns:type2="{METADATA_NS}" '
        f'xmlns:type3="{NER_NS}" xmi:version="2.0">',
        '    <cas:NULL xmi:id="0"/>',
        f'    <type2:DocumentMetaData xmi:id="1" sofa="{sofa}" begin="0" end="{units(len(doc.text))}" '
        f'language="{_attr(doc.language or "x-unspecified")}" documentTitle="{_attr(doc.id)}" '
        f'documentId="{_attr(doc.id)}" isLastSegment="false"/>',
    ]
    members = ["1"]
    next_id = 3
    for span in doc.spans:  # in the document's order, so that a round trip changes nothing
        if span.is_discontinuous:
            report.drop(doc, span, "discontinuous (XMI NamedEntity holds one range)")
            continue
        lines.append(
            f'    <type3:NamedEntity xmi:id="{next_id}" sofa="{sofa}" begin="{units(span.start)}" '
            f'end="{units(span.end)}" value="{_attr(span.label)}"/>'
        )
        members.append(str(next_id))
        next_id += 1
        report.spans += 1
    lines += [
        f'    <cas:Sofa xmi:id="{sofa}" sofaNum="1" sofaID="_InitialView" mimeType="text" '
        f'sofaString="{_attr(doc.text)}"/>',
        f'    <cas:View sofa="{sofa}" members="{" ".join(members)}"/>',
        "</xmi:XMI>",
        "",
    ]
    return "\n".join(lines)


_TYPE_SYSTEM_XML = """<?xml version="1.0" encoding="UTF-8"?>
<typeSystemDescription xmlns="http://uima.apache.org/resourceSpecifier">
  <types>
    <typeDescription>
      <name>de.tudarmstadt.ukp.dkpro.core.api.metadata.type.DocumentMetaData</name>
      <supertypeName>uima.tcas.DocumentAnnotation</supertypeName>
      <features>
        <featureDescription><name>documentTitle</name><rangeTypeName>uima.cas.String</rangeTypeName></featureDescription>
        <featureDescription><name>documentId</name><rangeTypeName>uima.cas.String</rangeTypeName></featureDescription>
        <featureDescription><name>isLastSegment</name><rangeTypeName>uima.cas.Boolean</rangeTypeName></featureDescription>
      </features>
    </typeDescription>
    <typeDescription>
      <name>de.tudarmstadt.ukp.dkpro.core.api.ner.type.NamedEntity</name>
      <supertypeName>uima.tcas.Annotation</supertypeName>
      <features>
        <featureDescription><name>value</name><rangeTypeName>uima.cas.String</rangeTypeName></featureDescription>
      </features>
    </typeDescription>
  </types>
</typeSystemDescription>
"""


def write_folder(documents: Iterable[Document], path: Path) -> WriteReport:
    """``<folder>/<id>.xmi`` per document and a ``TypeSystem.xml``, built aside and swapped in."""
    path = Path(path)
    check_replaceable(path, {".xmi", ".xml"})
    report = WriteReport(path, "xmi")
    with atomic_dir(path) as tmp:
        for doc, folder, name in document_slots(documents, tmp, "xmi"):
            write_plain(tmp / folder / f"{name}.xmi", document_xmi(doc, report))
            report.tally_metadata(doc, ("language",), folder)
            report.documents += 1
        write_plain(tmp / TYPE_SYSTEM, _TYPE_SYSTEM_XML)
    return report
