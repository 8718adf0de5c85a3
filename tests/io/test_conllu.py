"""CoNLL-U: offsets from # text (SpaceAfter, multi-word tokens), tags from MISC or a column,
orphan I- tags, document grouping, CRLF files, the real SiMoNERo dev split."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from clinicalner.document import Document, Span
from clinicalner.errors import CorpusError
from clinicalner.io import ReaderOptions, detect_format, read_corpus, write_corpus


def _row(i: str, form: str, misc: str = "_", extra: str = "") -> str:
    cols = [i, form, "_", "X", "_", "_", "0", "dep", "_", misc]
    return "\t".join(cols) + (f"\t{extra}" if extra else "")


SENT1 = "\n".join(
    [
        "# sent_id = s1",
        "# text = Fratura do fémur (grave), sem dor.",
        _row("1", "Fratura", "BioNERLabel=B-DISO"),
        _row("2-3", "do", "_"),  # multi-word token: de + o
        _row("2", "de", "BioNERLabel=I-DISO"),
        _row("3", "o", "BioNERLabel=I-DISO"),
        _row("4", "fémur", "SpaceAfter=No|BioNERLabel=I-DISO"),
        _row("4.1", "ghost"),  # empty node: no surface form
        _row("5", "(", "SpaceAfter=No"),
        _row("6", "grave", "SpaceAfter=No"),
        _row("7", ")", "SpaceAfter=No"),
        _row("8", ","),
        _row("9", "sem"),
        _row("10", "dor", "SpaceAfter=No|BioNERLabel=B-DISO"),
        _row("11", "."),
    ]
)
# "afecțiuni pulmonare restrictive sau obstructive": an orphan I- after "sau"
SENT2 = "\n".join(
    [
        "# sent_id = s2",
        "# text = afecțiuni pulmonare restrictive sau obstructive și ecografie",
        _row("1", "afecțiuni", "BioNERLabel=B-DISO"),
        _row("2", "pulmonare", "BioNERLabel=I-DISO"),
        _row("3", "restrictive", "BioNERLabel=I-DISO"),
        _row("4", "sau"),
        _row("5", "obstructive", "BioNERLabel=I-DISO"),
        _row("6", "și"),
        _row("7", "ecografie", "BioNERLabel=B-PROC"),
    ]
)


def _file(tmp_path: Path, body: str, name: str = "ro-dev.conllu", crlf: bool = False) -> Path:
    path = tmp_path / name
    text = body.strip("\n") + "\n\n"
    path.write_bytes((text.replace("\n", "\r\n") if crlf else text).encode("utf-8"))
    return path


@pytest.mark.parametrize("crlf", [False, True])
def test_offsets_from_text_with_multiword_tokens_and_spaceafter(tmp_path: Path, crlf: bool) -> None:
    path = _file(tmp_path, SENT1 + "\n\n" + SENT2, crlf=crlf)
    assert detect_format(path) == "conllu" and detect_format(tmp_path) == "conllu"
    docs = read_corpus(path).documents
    assert [d.id for d in docs] == ["s1", "s2"]  # one document per sentence by default
    assert docs[0].text == "Fratura do fémur (grave), sem dor."  # no \r from a CRLF file
    assert [(s.text, s.label) for s in docs[0].spans] == [("Fratura do fémur", "DISO"), ("dor", "DISO")]
    assert docs[0].metadata["split"] == "dev" and docs[0].metadata["sent_id"] == "s1"


def test_orphan_i_tags_start_or_join_and_are_counted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = _file(tmp_path, SENT2)
    with caplog.at_level(logging.WARNING):
        (doc,) = read_corpus(path).documents
    assert [s.text for s in doc.spans] == ["afecțiuni pulmonare restrictive", "obstructive", "ecografie"]
    assert doc.metadata["conllu_orphans"] == 1
    assert "1 orphan I- tags" in caplog.text and "obstructive" not in caplog.text  # counts, no text
    (joined,) = read_corpus(path, options=ReaderOptions(conllu_orphans="join")).documents
    assert [(s.text, s.label) for s in joined.spans] == [
        ("afecțiuni pulmonare restrictive sau obstructive", "DISO"),
        ("ecografie", "PROC"),
    ]
    assert joined.metadata["conllu_orphans"] == 1


def test_orphan_after_another_type_joins_across_it(tmp_path: Path) -> None:
    body = "\n".join(
        [
            "# text = dureri de cap și febră",
            _row("1", "dureri", "BioNERLabel=B-DISO"),
            _row("2", "de", "BioNERLabel=B-ANAT"),
            _row("3", "cap", "BioNERLabel=I-ANAT"),
            _row("4", "și", "BioNERLabel=I-DISO"),
            _row("5", "febră", "BioNERLabel=I-DISO"),
        ]
    )
    (doc,) = read_corpus(_file(tmp_path, body), options=ReaderOptions(conllu_orphans="join")).documents
    assert sorted((s.text, s.label) for s in doc.spans) == [
        ("de cap", "ANAT"),
        ("dureri de cap și febră", "DISO"),
    ]


def test_tags_from_a_column_by_number_or_name_and_bioes(tmp_path: Path) -> None:
    body = "\n".join(
        [
            "# global.columns = ID FORM LEMMA UPOS XPOS FEATS HEAD DEPREL DEPS MISC NER",
            "# text = Patient has acute kidney injury",
            _row("1", "Patient", extra="O"),
            _row("2", "has", extra="O"),
            _row("3", "acute", extra="B-DISEASE"),
            _row("4", "kidney", extra="I-DISEASE"),
            _row("5", "injury", extra="E-DISEASE"),
        ]
    )
    path = _file(tmp_path, body, name="a.conllu")
    for where in ("column:11", "column:NER"):
        (doc,) = read_corpus(path, options=ReaderOptions(conllu_tags=where)).documents
        assert [(s.text, s.label) for s in doc.spans] == [("acute kidney injury", "DISEASE")], where
    with pytest.raises(CorpusError, match="no such column"):
        read_corpus(path, options=ReaderOptions(conllu_tags="column:BIO"))
    with pytest.raises(ValueError, match="misc:KEY"):
        ReaderOptions(conllu_tags="BioNERLabel")


def test_other_misc_key(tmp_path: Path) -> None:
    body = "\n".join(
        ["# text = tos seca", _row("1", "tos", "NE=B-SYMPTOM"), _row("2", "seca", "NE=I-SYMPTOM")]
    )
    (doc,) = read_corpus(_file(tmp_path, body), options=ReaderOptions(conllu_tags="misc:NE")).documents
    assert [s.text for s in doc.spans] == ["tos seca"]
    (doc,) = read_corpus(_file(tmp_path, body)).documents
    assert doc.spans == []  # the default key (BioNERLabel) is not there


def test_newdoc_grouping_and_text_rebuilt_without_text_comment(tmp_path: Path) -> None:
    body = "\n".join(
        [
            "# newdoc id = note-1",
            "# sent_id = 1",
            _row("1", "Dolor", "BioNERLabel=B-SYMPTOM"),
            _row("2", "torácico", "SpaceAfter=No|BioNERLabel=I-SYMPTOM"),
            _row("3", "."),
            "",
            "# newpar",
            "# sent_id = 2",
            "# text = Sin fiebre.",
            _row("1", "Sin"),
            _row("2", "fiebre", "SpaceAfter=No|BioNERLabel=B-SYMPTOM"),
            _row("3", "."),
            "",
            "# newdoc id = note-2",
            "# text = Tos.",
            _row("1", "Tos", "SpaceAfter=No|BioNERLabel=B-SYMPTOM"),
            _row("2", "."),
        ]
    )
    path = _file(tmp_path, body)
    docs = read_corpus(path).documents  # auto: the file opens with # newdoc
    assert [(d.id, d.text) for d in docs] == [
        ("note-1", "Dolor torácico.\n\nSin fiebre."),
        ("note-2", "Tos."),
    ]
    assert [s.text for s in docs[0].spans] == ["Dolor torácico", "fiebre"]
    whole = read_corpus(path, options=ReaderOptions(conllu_documents="file")).documents
    assert [d.id for d in whole] == ["ro-dev"] and whole[0].text.endswith("fiebre.\nTos.")
    sentences = read_corpus(path, options=ReaderOptions(conllu_documents="sentence")).documents
    assert [d.id for d in sentences] == ["1", "2", "ro-dev-3"]


def test_text_comment_variants_and_spaces_after_without_text(tmp_path: Path) -> None:
    body = "\n".join(
        [
            "#text=Tos  seca",
            "# text_en = Dry cough",  # a translation, not the text
            _row("1", "Tos", "BioNERLabel=B-SYMPTOM"),
            _row("2", "seca", "BioNERLabel=I-SYMPTOM"),
            "",
            _row("1", "Dolor", "SpacesAfter=\\s\\s|BioNERLabel=B-SYMPTOM"),
            _row("2", "torácico", "SpaceAfter=No|BioNERLabel=I-SYMPTOM"),
            _row("3", "."),
        ]
    )
    docs = read_corpus(_file(tmp_path, body)).documents
    assert [d.text for d in docs] == ["Tos  seca", "Dolor  torácico."]
    assert [s.text for d in docs for s in d.spans] == ["Tos  seca", "Dolor  torácico"]


def test_a_token_not_in_the_text_names_its_line(tmp_path: Path) -> None:
    body = "\n".join(["# text = fiebre alta", _row("1", "fiebre"), _row("2", "baja")])
    with pytest.raises(CorpusError, match=r"ro-dev.conllu:3: token 'baja' is not the next word"):
        read_corpus(_file(tmp_path, body))
    short = "\n".join(["# text = x", "1\tx\t_"])
    with pytest.raises(CorpusError, match=r":2: a token line needs 10 tab-separated columns"):
        read_corpus(_file(tmp_path, short))
    assert read_corpus(_file(tmp_path, short), lenient=True).documents[0].spans == []


def test_jsonl_and_conllu_round_trips(tmp_path: Path) -> None:
    docs = read_corpus(_file(tmp_path, SENT1 + "\n\n" + SENT2)).documents
    write_corpus(docs, tmp_path / "c.jsonl", "jsonl")
    back = read_corpus(tmp_path / "c.jsonl").documents
    assert [(d.id, d.text, d.spans) for d in back] == [(d.id, d.text, d.spans) for d in docs]
    (tmp_path / "out").mkdir()
    report = write_corpus(back, tmp_path / "out" / "c.conllu", "conllu")
    assert (report.documents, report.spans, report.lost) == (2, 5, 0)
    again = read_corpus(tmp_path / "out" / "c.conllu").documents
    assert [(d.id, d.text, d.spans) for d in again] == [(d.id, d.text, d.spans) for d in docs]


def test_writer_keeps_whitespace_exact_and_counts_what_it_cannot_hold(tmp_path: Path) -> None:
    text = "\r\n  Dolor torácico.  Fiebre alta\r\nde 39 °C.\r\n\r\nTos seca, HTA/DM.\t\n"
    at = text.index

    def span(word: str, label: str, nth: int = 0) -> Span:
        i = at(word) if not nth else text.index(word, at(word) + 1)
        return Span(i, i + len(word), label)

    doc = Document(
        "nota 1",
        text,
        [
            span("Dolor torácico", "SYMPTOM"),
            span("Fiebre alta\r\nde 39", "SYMPTOM"),  # crosses a line break
            span("torácico.  Fiebre", "DISEASE"),  # joins two sentences of a line; overlaps a SYMPTOM
            span("Tos seca", "SYMPTOM"),
            span("Tos", "DISEASE"),  # overlaps a SYMPTOM: one tag per token
            span("HTA", "DISEASE"),
            span("DM", "DISEASE"),
        ],
        "es",
    )
    report = write_corpus([doc], tmp_path / "n.conllu", "conllu")
    assert dict(report.unrepresentable) == {
        "crosses a line break (a CoNLL-U sentence is one '# text' line)": 1,
        "overlaps a span of another type (CoNLL-U MISC holds one tag per token)": 2,
    }
    raw = (tmp_path / "n.conllu").read_text(encoding="utf-8")
    assert "SpacesBefore=\\r\\n\\s\\s" in raw and "SpacesAfter=\\t\\n" in raw
    (back,) = read_corpus(tmp_path / "n.conllu").documents
    assert back.id == "nota 1" and back.text == text
    assert sorted(s.text for s in back.spans) == ["DM", "Dolor torácico", "HTA", "Tos seca"]


def test_simonero_dev(corpora_dir: Path, tmp_path: Path) -> None:
    """The real split: 443 sentences, its types, 35 orphan I- tags, JSONL and CoNLL round trips."""
    root = corpora_dir / "simonero-ro"
    if not root.is_dir():
        pytest.skip("simonero-ro not available")
    docs = read_corpus(root).documents
    assert len(docs) == 443
    assert {s.label for d in docs for s in d.spans} == {"DISO", "PROC", "ANAT", "CHEM"}
    assert sum(d.metadata["conllu_orphans"] for d in docs) == 35
    write_corpus(docs, tmp_path / "ro.jsonl", "jsonl")
    via_jsonl = read_corpus(tmp_path / "ro.jsonl").documents
    assert [(d.id, d.text, d.spans) for d in via_jsonl] == [(d.id, d.text, d.spans) for d in docs]
    write_corpus(via_jsonl, tmp_path / "ro.conllu", "conllu")
    via_conllu = read_corpus(tmp_path / "ro.conllu").documents
    assert [(d.id, d.text, d.spans) for d in via_conllu] == [(d.id, d.text, d.spans) for d in docs]
    report = write_corpus(via_jsonl, tmp_path / "ro.conll", "conll")
    assert report.lost == 0
    via_conll = read_corpus(tmp_path / "ro.conll").documents
    assert sorted(s.key for d in via_conll for s in d.spans) == sorted(s.key for d in docs for s in d.spans)
