"""UIMA XMI (E3C, WebAnno, INCEpTION): Sofa text, chosen types, UTF-16 offsets, CRLF, writing back."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from clinicalner.errors import CorpusError, Problems
from clinicalner.io import ReaderOptions, detect_format, read_corpus, write_corpus
from clinicalner.io.xmi import read_file, utf16_offset, utf16_to_index


def _units(text: str, index: int) -> int:
    """The UTF-16 offset of ``text[index]``, the way Java (UIMA) counts."""
    return len(text[:index].encode("utf-16-le")) // 2


def _escape(text: str) -> str:
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace('"', "&quot;")
        .replace("\r", "&#13;")
        .replace("\n", "&#10;")
    )


def _xmi(text: str, entities: list[tuple[str, str, int, int, str]], language: str = "x-unspecified") -> str:
    """A WebAnno-like XMI: (prefix, type, begin, end, extra attributes) per annotation, UTF-16 offsets."""
    rows = "\n".join(
        f'    <{p}:{t} xmi:id="{100 + k}" sofa="9" begin="{b}" end="{e}" {extra}/>'
        for k, (p, t, b, e, extra) in enumerate(entities)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><xmi:XMI xmlns:xmi="http://www.omg.org/XMI" '
        'xmlns:cas="http:///uima/cas.ecore" '
        'xmlns:type2="http:///de/tudarmstadt/ukp/dkpro/core/api/metadata/type.ecore" '
        'xmlns:type3="http:///de/tudarmstadt/ukp/dkpro/core/api/ner/type.ecore" '
        'xmlns:type4="http:///de/tudarmstadt/ukp/dkpro/core/api/segmentation/type.ecore" '
        'xmlns:custom="http:///webanno/custom.ecore" xmi:version="2.0">\n'
        '    <cas:NULL xmi:id="0"/>\n'
        f'    <type2:DocumentMetaData xmi:id="1" sofa="9" begin="0" end="1" language="{language}"/>\n'
        f"{rows}\n"
        f'    <cas:Sofa xmi:id="9" sofaNum="1" sofaID="_InitialView" mimeType="text" sofaString="{_escape(text)}"/>\n'
        '    <cas:View sofa="9" members="1"/>\n'
        "</xmi:XMI>\n"
    )


# An emoji (outside the BMP: two UTF-16 units) before the spans, CRLF line ends, XML escapes.
TEXT = 'Paziente 😀 con "febbre" & tosse.\r\nDiagnosi: polmonite 𝛼-emolitica; dolore <toracico>.'


def _at(word: str) -> tuple[int, int]:
    i = TEXT.index(word)
    return _units(TEXT, i), _units(TEXT, i + len(word))


def _file(tmp_path: Path, name: str = "IT0001.xml", **kw: object) -> Path:
    ents = [
        ("custom", "CLINENTITY", *_at("febbre"), 'entityID="C0015967"'),
        ("custom", "CLINENTITY", *_at("tosse"), ""),
        ("custom", "CLINENTITY", *_at("polmonite 𝛼-emolitica"), 'discontinuous="DISCONTINUOUS"'),
        ("custom", "CLINENTITY", *_at("dolore <toracico>"), ""),
        ("type4", "Token", *_at("Paziente"), ""),
        ("custom", "EVENT", *_at("Diagnosi"), 'contextualModality="ACTUAL"'),
    ]
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / name
    path.write_text(_xmi(TEXT, ents, **kw), encoding="utf-8")  # type: ignore[arg-type]
    return path


def test_reads_sofa_text_and_clinentity_with_utf16_offsets(tmp_path: Path) -> None:
    path = _file(tmp_path)
    assert detect_format(path) == "xmi" and detect_format(tmp_path) == "xmi"
    (doc,) = read_corpus(tmp_path).documents
    assert doc.id == "IT0001" and doc.text == TEXT  # CRLF and escapes exact
    assert [s.text for s in doc.spans] == ["febbre", "tosse", "polmonite 𝛼-emolitica", "dolore <toracico>"]
    assert {s.label for s in doc.spans} == {"CLINENTITY"}
    # the emoji shifted every later offset by one UTF-16 unit, the 𝛼 by one more
    assert doc.spans[0].start == TEXT.index("febbre") == _at("febbre")[0] - 1
    assert doc.spans[3].start == _at("dolore <toracico>")[0] - 2


def test_type_spec_forms_and_labels(tmp_path: Path) -> None:
    _file(tmp_path)
    for spec in ("custom:EVENT", "webanno.custom.EVENT", "EVENT"):
        (doc,) = read_corpus(tmp_path, options=ReaderOptions((spec,))).documents
        assert [(s.text, s.label) for s in doc.spans] == [("Diagnosi", "EVENT")], spec
    (doc,) = read_corpus(tmp_path, options=ReaderOptions(("custom:CLINENTITY=DISO",))).documents
    assert {s.label for s in doc.spans} == {"DISO"} and len(doc.spans) == 4
    (doc,) = read_corpus(tmp_path, options=ReaderOptions(("EVENT@contextualModality",))).documents
    assert [s.label for s in doc.spans] == ["ACTUAL"]
    (doc,) = read_corpus(tmp_path, options=ReaderOptions(("other:CLINENTITY",))).documents
    assert doc.spans == []  # a prefix the file does not declare matches nothing
    with pytest.raises(ValueError, match="TYPE@FEATURE"):
        ReaderOptions(("CLINENTITY@",))


def test_language_from_metadata_else_argument(tmp_path: Path) -> None:
    _file(tmp_path, "a.xml", language="it")
    _file(tmp_path, "b.xml")
    docs = {d.id: d for d in read_corpus(tmp_path, language="xx").documents}
    assert docs["a"].language == "it" and docs["b"].language == "xx"


def test_offset_inside_a_surrogate_pair_is_an_error(tmp_path: Path) -> None:
    b = _units(TEXT, TEXT.index("😀")) + 1
    (tmp_path / "bad.xml").write_text(_xmi(TEXT, [("custom", "CLINENTITY", b, b + 3, "")]), encoding="utf-8")
    with pytest.raises(CorpusError, match=r"bad.xml:\d+: .*Basic Multilingual Plane"):
        read_corpus(tmp_path / "bad.xml")


def test_bad_offsets_and_bad_xml_name_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "x.xml"
    path.write_text(_xmi("abc", [("custom", "CLINENTITY", 1, 9, "")]), encoding="utf-8")
    with pytest.raises(CorpusError, match=r"x.xml:4: span 1-9 .*outside the text"):
        read_corpus(path)
    problems = Problems(lenient=True)
    (doc,) = list(read_file(path, problems))
    assert doc.spans == [] and len(problems) == 1
    path.write_text(_xmi("abc", []).replace("</xmi:XMI>", ""), encoding="utf-8")
    with pytest.raises(CorpusError, match=r"x.xml:\d+: not well-formed XML"):
        read_corpus(path, format="xmi")


def test_utf16_conversion_both_ways() -> None:
    text = "a😀b𝛼c"
    to_index, to_units = utf16_to_index(text), utf16_offset(text)
    for i in range(len(text) + 1):
        assert to_units(i) == _units(text, i)
        assert to_index(to_units(i)) == i
    assert to_index(2) is None  # between the halves of 😀


def test_write_reads_back_the_same_and_is_inception_shaped(tmp_path: Path) -> None:
    _file(tmp_path / "in")
    docs = read_corpus(tmp_path / "in").documents
    report = write_corpus(docs, tmp_path / "out", "xmi")
    assert report.spans == 4 and report.documents == 1
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["IT0001.xmi", "TypeSystem.xml"]
    raw = (tmp_path / "out" / "IT0001.xmi").read_text(encoding="utf-8")
    assert "type3:NamedEntity" in raw and 'value="CLINENTITY"' in raw and "&#13;&#10;" in raw
    assert detect_format(tmp_path / "out") == "xmi"  # TypeSystem.xml is not taken for a document
    back = read_corpus(tmp_path / "out").documents
    assert [(d.id, d.text, d.spans) for d in back] == [(d.id, d.text, d.spans) for d in docs]


def test_jsonl_round_trip_keeps_every_span(tmp_path: Path) -> None:
    _file(tmp_path / "in")
    docs = read_corpus(tmp_path / "in").documents
    write_corpus(docs, tmp_path / "c.jsonl", "jsonl")
    write_corpus(read_corpus(tmp_path / "c.jsonl").documents, tmp_path / "x", "xmi")
    back = read_corpus(tmp_path / "x").documents
    assert [(d.text, d.spans) for d in back] == [(d.text, d.spans) for d in docs]


def test_e3c_layer1_italian(corpora_dir: Path, tmp_path: Path) -> None:
    """The real corpus: 36 documents, 361 CLINENTITY spans, JSONL and XMI round trips unchanged."""
    root = corpora_dir / "e3c-it"
    if not root.is_dir():
        pytest.skip("e3c-it not available")
    docs = read_corpus(root).documents
    assert len(docs) == 36 and sum(len(d.spans) for d in docs) == 361
    assert any("\r\n" in d.text for d in docs)
    write_corpus(docs, tmp_path / "e3c.jsonl", "jsonl")
    via_jsonl = read_corpus(tmp_path / "e3c.jsonl").documents
    write_corpus(via_jsonl, tmp_path / "xmi", "xmi")
    via_xmi = read_corpus(tmp_path / "xmi").documents
    key = lambda ds: sorted((d.id, d.text, tuple(d.spans)) for d in ds)  # noqa: E731
    assert key(via_jsonl) == key(docs) == key(via_xmi)
    assert json.loads((tmp_path / "e3c.jsonl").read_text(encoding="utf-8").splitlines()[0])["id"]
    logging.getLogger(__name__).info("e3c read: %d documents", len(docs))


def test_written_xmi_loads_in_dkpro_cassis(tmp_path: Path) -> None:
    """The UIMA CAS library of the INCEpTION ecosystem reads what we write: same text (CRLF),
    same spans at the same code-point offsets (it converts UTF-16 offsets on loading)."""
    cassis = pytest.importorskip("cassis")
    _file(tmp_path / "in")
    (doc,) = read_corpus(tmp_path / "in").documents
    write_corpus([doc], tmp_path / "out", "xmi")
    with (tmp_path / "out" / "TypeSystem.xml").open("rb") as f:
        typesystem = cassis.load_typesystem(f)
    with (tmp_path / "out" / "IT0001.xmi").open("rb") as f:
        cas = cassis.load_cas_from_xmi(f, typesystem=typesystem)
    assert cas.sofa_string == TEXT
    entities = cas.select("de.tudarmstadt.ukp.dkpro.core.api.ner.type.NamedEntity")
    assert [(a.begin, a.end, a.value, a.get_covered_text()) for a in entities] == [
        (s.start, s.end, s.label, s.text) for s in doc.spans
    ]
