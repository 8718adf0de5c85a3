"""MultiClinAI TSV layout: quoting, column variants, both trees, bare TSVs, attach_texts, writing."""

from __future__ import annotations

from pathlib import Path

import pytest

from clinicalner.document import Document, Span
from clinicalner.errors import CorpusError
from clinicalner.io import attach_texts, detect_format, read_corpus, write_corpus
from clinicalner.io.multiclinai import parse_records, quote_field

TEXT_1 = 'Fiebre y "piel de gallina" con dolor.\r\nTos seca.'
TEXT_2 = 'Paciente con hepatitis "non-A, non-B" y\tHTA.'


def _write(path: Path, content: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode("utf-8"))
    return path


def _simplified(root: Path) -> Path:
    """A two-group simplified tree: es/dev/symptom and es/dev/disease."""
    sym = root / "es" / "dev" / "symptom"
    _write(sym / "txt" / "doc1.txt", TEXT_1)
    _write(sym / "txt" / "empty.txt", "Sin hallazgos.")
    _write(
        sym / "es_dev_symptom.tsv",
        "filename\tlabel\tstart_span\tend_span\ttext\n"
        "doc1\tSYMPTOM\t0\t6\tFiebre\n"
        'doc1\tSYMPTOM\t9\t26\t"piel de gallina"\n'  # a leading quote that is part of the text
        "doc1.txt\tSYMPTOM\t39\t48\tTos seca.\n",
    )
    dis = root / "es" / "dev" / "disease"
    _write(dis / "txt" / "doc2.txt", TEXT_2)
    _write(
        dis / "es_dev_disease.tsv",
        "filename\tlabel\tstart_span\tend_span\ttext\n"
        'doc2\tDISEASE\t13\t37\thepatitis "non-A, non-B"\n'
        "doc2\tDISEASE\t40\t43\tHTA\n",
    )
    return root


def test_simplified_tree(tmp_path: Path) -> None:
    root = _simplified(tmp_path / "corpus")
    assert detect_format(root) == "multiclinai"
    corpus = read_corpus(root)
    docs = {d.id: d for d in corpus.documents}
    assert sorted(docs) == ["doc1", "doc2", "empty"]
    d1 = docs["doc1"]
    assert [(s.start, s.end, s.label, s.text) for s in d1.spans] == [
        (0, 6, "SYMPTOM", "Fiebre"),
        (9, 26, "SYMPTOM", '"piel de gallina"'),
        (39, 48, "SYMPTOM", "Tos seca."),  # CRLF counted: \r\n are two characters
    ]
    assert d1.language == "es"
    assert d1.annotated_labels == frozenset({"SYMPTOM"})
    assert d1.metadata["folder"] == "es/dev/symptom"
    assert d1.metadata["split"] == "dev"
    assert d1.metadata["source"].endswith("doc1.txt")
    assert docs["empty"].spans == [] and docs["empty"].annotated_labels == frozenset({"SYMPTOM"})
    assert docs["doc2"].annotated_labels == frozenset({"DISEASE"})
    assert [s.text for s in docs["doc2"].spans] == ['hepatitis "non-A, non-B"', "HTA"]


def test_release_tree_with_cz_and_bsc_columns(tmp_path: Path) -> None:
    grp = tmp_path / "MultiClinNER-cz" / "MultiClinNER-cz-train" / "procedure"
    _write(grp / "txt" / "case_7.txt", "Provedena koronarografie a CT.")
    _write(
        grp / "tsv" / "multiclinner_cz_train_procedure.tsv",
        "filename\tmark\tlabel\toff0\toff1\tspan\n"
        "case_7\tT1\tPROCEDURE\t9\t24\tkoronarografie\n"
        "case_7\tT2\tPROCEDURE\t27\t29\tCT\n",
    )
    (doc,) = read_corpus(tmp_path).documents
    assert doc.language == "cs"
    assert doc.metadata["folder"] == "cs/train/procedure"
    assert doc.annotated_labels == frozenset({"PROCEDURE"})
    assert [(s.start, s.end) for s in doc.spans] == [(9, 24), (27, 29)]


def test_release_tree_with_ann_folder(tmp_path: Path) -> None:
    grp = tmp_path / "MultiClinNER-it-dev-disease"
    _write(grp / "txt" / "a.txt", "Diabete mellito.")
    _write(grp / "ann" / "a.ann", "T1\tDISEASE 0 15\tDiabete mellito\n")
    assert detect_format(tmp_path) == "multiclinai"
    (doc,) = read_corpus(tmp_path).documents
    assert (doc.language, doc.metadata["split"], doc.annotated_labels) == (
        "it",
        "dev",
        frozenset({"DISEASE"}),
    )
    assert doc.spans[0].text == "Diabete mellito"


def test_csv_quoted_fields_are_unquoted() -> None:
    content = (
        "filename\tlabel\tstart_span\tend_span\ttext\n"
        'd\tX\t0\t3\t"a ""b"" c"\n'
        'd\tX\t0\t3\t"two\nlines"\n'
        'd\tX\t0\t3\t"non-A" hepatitis\n'
        'd\tX\t0\t3\t"tab\tinside"\r\n'
    )
    rows = list(parse_records(content))
    assert [r.line for r in rows] == [1, 2, 3, 5, 6]
    assert rows[1].fields[4] == 'a "b" c'
    assert rows[2].fields[4] == "two\nlines"
    assert rows[3].fields[4] == '"non-A" hepatitis'
    assert rows[4].fields[4] == "tab\tinside"


def test_quote_field_never_leaves_a_leading_quote_unbalanced() -> None:
    assert quote_field('"piel de gallina"') == '"""piel de gallina"""'
    assert quote_field('"non-A, non-B" hepatitis') == '"""non-A, non-B"" hepatitis"'
    assert quote_field('removal of the "cyst"') == 'removal of the "cyst"'
    assert quote_field("a\tb") == '"a\tb"'
    for value in ('"x', 'x"', '""', '"a\r\nb"'):
        (row,) = parse_records("\t".join(["d", "X", "0", "1", quote_field(value)]) + "\n")
        assert row.fields[4] == value


def test_bare_tsv_and_attach_texts(tmp_path: Path) -> None:
    root = _simplified(tmp_path / "gold")
    pred = _write(
        tmp_path / "pred.tsv",
        "filename\tlabel\tstart_span\tend_span\ttext\n"
        "doc1\tSYMPTOM\t0\t6\tFiebre\n"
        "doc1\tSYMPTOM\t30\t35\twrong text is kept\n"
        "unknown\tSYMPTOM\t1\t2\tx\n",
    )
    assert detect_format(pred) == "tsv"
    preds = read_corpus(pred).documents
    assert [d.id for d in preds] == ["doc1", "unknown"]
    assert all(d.text == "" and d.metadata["has_text"] is False for d in preds)
    assert preds[0].spans[1] == Span(30, 35, "SYMPTOM", "wrong text is kept")

    gold = read_corpus(root).documents
    filled = attach_texts(preds, gold)
    assert filled[0].text == TEXT_1
    assert filled[0].language == "es" and filled[0].annotated_labels == frozenset({"SYMPTOM"})
    assert "has_text" not in filled[0].metadata and filled[0].metadata["folder"] == "es/dev/symptom"
    assert filled[0].spans[1].text == "wrong text is kept"
    assert filled[1].text == "" and filled[1].metadata["has_text"] is False
    with_missing = attach_texts(preds, gold, include_missing=True)
    assert sorted(d.id for d in with_missing) == ["doc1", "doc2", "empty", "unknown"]


def test_attach_texts_across_languages() -> None:
    """The release repeats case file names in every language: match on language, else refuse."""
    refs = [Document("doc1", "fiebre", [], "es"), Document("doc1", "horečka", [], "cs")]
    bare = {"has_text": False, "source": "pred.tsv"}
    cs = Document("doc1", "", [Span(0, 7, "S")], "cs", metadata=dict(bare))
    (filled,) = attach_texts([cs], refs)
    assert filled.text == "horečka" and filled.spans[0].text == "horečka"
    nolang = Document("doc1", "", [Span(0, 6, "S")], None, metadata=dict(bare))
    with pytest.raises(CorpusError, match=r"pred.tsv: 1 predicted document id.*'doc1': cs, es"):
        attach_texts([nolang], refs)
    # one language in the references: by id, as before
    (one,) = attach_texts([nolang], refs[:1])
    assert one.text == "fiebre" and one.language == "es"


def test_write_tree_round_trip_and_quoting(tmp_path: Path) -> None:
    root = _simplified(tmp_path / "in")
    corpus = read_corpus(root)
    report = write_corpus(corpus.documents, tmp_path / "out", "tsv")
    assert (report.documents, report.spans, report.lost) == (3, 5, 0)
    tsv = (tmp_path / "out" / "es" / "dev" / "symptom" / "es_dev_symptom.tsv").read_text(encoding="utf-8")
    assert 'doc1\tSYMPTOM\t9\t26\t"""piel de gallina"""\n' in tsv
    assert (tmp_path / "out" / "es" / "dev" / "symptom" / "txt" / "doc1.txt").read_bytes() == TEXT_1.encode()
    back = {d.id: d for d in read_corpus(tmp_path / "out").documents}
    for d in corpus.documents:
        assert back[d.id].spans == d.spans
        assert back[d.id].metadata["folder"] == d.metadata["folder"]


def test_write_without_folder_is_one_tsv_and_txt(tmp_path: Path) -> None:
    docs = [Document("a", "uno dos", [Span(0, 3, "X", "uno")]), Document("b", "tres", [])]
    write_corpus(docs, tmp_path / "flat", "tsv")
    assert sorted(p.relative_to(tmp_path / "flat").as_posix() for p in (tmp_path / "flat").rglob("*.*")) == [
        "flat.tsv",
        "txt/a.txt",
        "txt/b.txt",
    ]
    back = read_corpus(tmp_path / "flat").documents
    assert [(d.id, d.spans, d.annotated_labels) for d in back] == [
        ("a", [Span(0, 3, "X", "uno")], None),
        ("b", [], None),
    ]


def test_discontinuous_span_is_reported_not_written(tmp_path: Path) -> None:
    doc = Document("a", "dolor de cabeza", [Span(0, 15, "S", "dolor cabeza", fragments=((0, 5), (9, 15)))])
    report = write_corpus([doc], tmp_path / "pred.tsv", "tsv")
    assert report.lost == 1 and report.spans == 0
    assert "a: 0-5;9-15 S (discontinuous" in report.examples[0]


def test_bad_offsets_name_file_and_line(tmp_path: Path) -> None:
    root = _simplified(tmp_path / "c")
    tsv = root / "es" / "dev" / "disease" / "es_dev_disease.tsv"
    with tsv.open("a", encoding="utf-8") as f:
        f.write("doc2\tDISEASE\t40\tx\tHTA\n")
        f.write("doc2\tDISEASE\t43\t40\tHTA\n")
    with pytest.raises(CorpusError) as e:
        read_corpus(root)
    assert e.value.file == str(tsv) and e.value.line == 4
    assert "offsets must be whole numbers" in str(e.value)
    lenient = read_corpus(root, lenient=True)
    assert [(err.line, err.message[:20]) for err in lenient.skipped] == [
        (4, "offsets must be whol"),
        (5, "empty or reversed sp"),
    ]
    assert sum(len(d.spans) for d in lenient.documents) == 5


def test_span_text_mismatch_and_past_the_end(tmp_path: Path) -> None:
    root = _simplified(tmp_path / "c")
    tsv = root / "es" / "dev" / "disease" / "es_dev_disease.tsv"
    with tsv.open("a", encoding="utf-8") as f:
        f.write("doc2\tDISEASE\t0\t8\tNOPE\n")
        f.write("doc2\tDISEASE\t40\t400\tHTA\n")
    with pytest.raises(CorpusError, match="the file says 'NOPE'") as e:
        read_corpus(root)
    assert e.value.line == 4
    lenient = read_corpus(root, lenient=True)
    assert [(err.line, "outside the text" in err.message) for err in lenient.skipped] == [
        (4, False),
        (5, True),
    ]


def test_missing_text_file(tmp_path: Path) -> None:
    root = _simplified(tmp_path / "c")
    (root / "es" / "dev" / "disease" / "txt" / "doc2.txt").unlink()
    (root / "es" / "dev" / "disease" / "txt" / "other.txt").write_text("x", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"has no text file txt/doc2.txt \(2 span rows skipped\)") as e:
        read_corpus(root)
    assert e.value.line == 2


def test_missing_header_column(tmp_path: Path) -> None:
    path = _write(tmp_path / "p.tsv", "filename\tkind\tstart_span\tend_span\n")
    with pytest.raises(CorpusError, match=r"lacks column\(s\) \['label'\]") as e:
        read_corpus(path)
    assert e.value.line == 1


def test_first_line_of_note_text_is_not_quoted(tmp_path: Path) -> None:
    """A JSONL (or any text) read as TSV: the error names file and line, never the note text."""
    note = '{"id": "d1", "text": "Paciente de 46 anos con dolor en fosa renal izquierda"}'
    path = _write(tmp_path / "ens2.tsv", note + "\n")
    with pytest.raises(CorpusError) as e:
        read_corpus(path)
    msg = str(e.value)
    assert "the first line is not a TSV header" in msg and f"({len(note)} characters" in msg
    assert "Paciente" not in msg and "fosa" not in msg
    assert e.value.line == 1


def test_tab_separated_note_text_is_not_a_header(tmp_path: Path) -> None:
    """Tabs alone do not make a header: long fields or many words are note text, not names."""
    line = "d1\tPaciente de 46 anos histerectomizada por leiomiomas\tx\ty"
    path = _write(tmp_path / "p.tsv", line + "\n")
    with pytest.raises(CorpusError, match="the first line is not a TSV header") as e:
        read_corpus(path)
    assert "Paciente" not in str(e.value)


def test_bad_offsets_in_a_row_do_not_quote_words(tmp_path: Path) -> None:
    path = _write(tmp_path / "p.tsv", "filename\tlabel\tstart_span\tend_span\nd1\tX\tJuan Garcia\t4x\n")
    with pytest.raises(CorpusError) as e:
        read_corpus(path)
    assert "got start <11 characters> and end '4x'" in str(e.value)
    assert "Juan" not in str(e.value)


def test_headerless_tsv_uses_default_order(tmp_path: Path) -> None:
    path = _write(tmp_path / "p.tsv", "d1\tX\t0\t4\tabcd\nd1\tY\t5\t6\te\n")
    (doc,) = read_corpus(path).documents
    assert [s.key for s in doc.spans] == [(0, 4, "X"), (5, 6, "Y")]


def test_bom_in_text_counted_by_offsets(tmp_path: Path) -> None:
    grp = tmp_path / "es" / "train" / "symptom"
    _write(grp / "txt" / "b.txt", "\ufeffFiebre alta.")
    # offsets computed on the file with its BOM (as brat and Python's utf-8 codec count it)
    _write(grp / "t.tsv", "filename\tlabel\tstart_span\tend_span\ttext\nb\tSYMPTOM\t1\t7\tFiebre\n")
    (doc,) = read_corpus(tmp_path).documents
    assert doc.text == "Fiebre alta." and doc.spans[0].key == (0, 6, "SYMPTOM")
    # offsets computed without the BOM: the stored text says so
    _write(grp / "t.tsv", "filename\tlabel\tstart_span\tend_span\ttext\nb\tSYMPTOM\t0\t6\tFiebre\n")
    (doc,) = read_corpus(tmp_path).documents
    assert doc.spans[0].key == (0, 6, "SYMPTOM")


def test_refuses_to_replace_a_folder_of_other_files(tmp_path: Path) -> None:
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "notes.docx").write_bytes(b"x")
    with pytest.raises(CorpusError, match="holds other files"):
        write_corpus([Document("a", "b")], tmp_path / "home", "tsv")
    assert (tmp_path / "home" / "notes.docx").exists()


def test_bare_predictions_keep_reversed_and_repeated_rows(tmp_path: Path) -> None:
    pred = _write(
        tmp_path / "pred.tsv",
        "filename\tlabel\tstart_span\tend_span\ttext\n"
        "d\tX\t130\t111\tdislipemia\n"
        "d\tX\t1\t4\tHTA\n"
        "d\tX\t1\t4\tHTA\n",
    )
    (doc,) = read_corpus(pred).documents
    assert [s.key for s in doc.spans] == [(130, 111, "X"), (1, 4, "X"), (1, 4, "X")]


def test_evaluator_fixtures_read(corpora_dir: Path) -> None:
    folder = corpora_dir / "evaluator-fixtures" / "multicardioner"
    if not folder.exists():
        pytest.skip("evaluator-fixtures not in the shared corpora")
    counts = {
        p.name: sum(len(d.spans) for d in read_corpus(p).documents) for p in sorted(folder.glob("*/*.tsv"))
    }
    assert counts["multicardioner_test_task1_all_correct.tsv"] == 52
    assert counts["multicardioner_test_task1_all_correct+repeated.tsv"] == 59
    assert counts["multicardioner_test_task1_all_incorrect.tsv"] > 0


def test_predictions_tsv_carries_scores_and_reads_them_back(tmp_path):
    from clinicalner.document import Document, Span
    from clinicalner.io import read_corpus, write_corpus

    text = "fiebre y tos"
    doc = Document("n1", text, [Span(0, 6, "SYMPTOM", "fiebre", 0.91234), Span(9, 12, "SYMPTOM", "tos")])
    write_corpus([doc], tmp_path / "p.tsv", "tsv")
    header = (tmp_path / "p.tsv").read_text(encoding="utf-8").splitlines()[0].split("\t")
    assert header == ["filename", "label", "start_span", "end_span", "text", "score"]
    (back,) = read_corpus(tmp_path / "p.tsv").documents
    assert [(s.key, s.score) for s in back.spans] == [((0, 6, "SYMPTOM"), 0.9123), ((9, 12, "SYMPTOM"), None)]


def test_integral_float_offsets_are_read(tmp_path: Path) -> None:
    """The official scorer reads offsets with pandas: 6.0 is 6 (and 5.9 would become 5)."""
    pred = _write(tmp_path / "p.tsv", "filename\tlabel\tstart_span\tend_span\ttext\nd\tS\t0.0\t6.0\tFiebre\n")
    (doc,) = read_corpus(pred).documents
    assert doc.spans[0].key == (0, 6, "S")
    bad = _write(tmp_path / "b.tsv", "filename\tlabel\tstart_span\tend_span\ttext\nd\tS\t0\t5.9\tFiebr\n")
    with pytest.raises(CorpusError, match=r"b.tsv:2: offsets must be whole numbers.*truncates '5.9' to 5"):
        read_corpus(bad)
    for value in ("-1.0", "nan", "x"):
        with pytest.raises(CorpusError, match="offsets must be whole numbers"):
            read_corpus(
                _write(
                    tmp_path / "c.tsv", f"filename\tlabel\tstart_span\tend_span\ttext\nd\tS\t{value}\t5\tx\n"
                )
            )


def test_predictions_on_another_text_are_counted_and_warned(tmp_path: Path) -> None:
    """A predicted document keeps its own text, so scoring sees that it differs from the gold."""
    import json

    from clinicalner import api

    text = "Paciente con diabetes mellitus y fiebre alta.\n"
    gold = tmp_path / "gold.jsonl"
    gold.write_text(
        json.dumps({"id": "a", "text": text, "spans": [{"start": 13, "end": 30, "label": "DISEASE"}]}) + "\n",
        "utf-8",
    )
    pred = tmp_path / "pred.jsonl"
    moved = "XXXXX" + text
    pred.write_text(
        json.dumps({"id": "a", "text": moved, "spans": [{"start": 18, "end": 35, "label": "DISEASE"}]})
        + "\n",
        "utf-8",
    )
    report = api.evaluate(gold, pred, metrics=["strict"])
    assert report.stats["documents_with_different_text"] == 1
    assert any(n.startswith("WARNING: predicted documents whose text differs") for n in report.notes())


def test_the_fast_row_path_reads_what_the_general_parser_reads(tmp_path: Path) -> None:
    """Plain rows skip the general parser; every kind of row must come out as it would from it."""
    from clinicalner.errors import Problems
    from clinicalner.io.multiclinai import _columns, _raw_span, read_rows

    body = (
        "filename\tlabel\tstart_span\tend_span\ttext\tscore\r\n"
        "a.txt\tDISEASE\t0\t4\tgrip\t0.5\r\n"  # CRLF, .txt, a score
        'b\tSYMPTOM\t3\t9\t"dolor ""x"""\t\n'  # quoted, no score
        "c\tSYMPTOM\t3.0\t9\tdolor x\t\n"  # integral float offset
        "d\tSYMPTOM\t3\t9\tdol\tor\t0.1\n"  # a tab in the text, not the last column: a bad score
        "e\tSYMPTOM\tx\t9\tbad\t\n"  # a bad offset
        "f\tSYMPTOM\t1\t2\ty\tnope\n"  # a bad score
        "\n"
        "  g \t PROCEDURE \t 5 \t 7 \tzz\t1\n"  # spaces around values
        "h\tDISEASE\t\u0663\t9\tu\t\n"  # a non-ASCII decimal digit: an error on both paths
    )
    path = tmp_path / "p.tsv"
    path.write_bytes(body.encode("utf-8"))
    fast_problems, slow_problems = Problems(lenient=True), Problems(lenient=True)
    fast = [vars(r) for r in read_rows(path, fast_problems)]
    records = list(parse_records(body))
    cols, _ = _columns(records[0], path)
    slow = []
    for row in records[1:]:
        if row.fields == [""] or (len(row.fields) == 1 and not row.fields[0].strip()):
            continue
        try:
            slow.append(vars(_raw_span(row, cols, path)))
        except CorpusError as err:
            slow_problems.report(err)
    assert fast == slow
    assert [r["doc"] for r in fast] == ["a", "b", "c", "g"]
    assert [str(e) for e in fast_problems.skipped] == [str(e) for e in slow_problems.skipped]
    assert len(fast_problems.skipped) == 4
