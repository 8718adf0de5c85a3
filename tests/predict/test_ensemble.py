"""Span voting: majority, weighted and union, exact and overlap matching, documents paired by id."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from clinicalner.document import Document, Span
from clinicalner.predict.ensemble import EnsembleTagger, ensemble_files, vote, vote_spans
from clinicalner.predict.lexicon import LexiconTagger, Term
from clinicalner.predict.tagger import Tagger

TEXT = "abcdefghij" * 6


def S(start: int, end: int, label: str = "X", score: float | None = None) -> Span:
    return Span(start, end, label, TEXT[start:end], score)


def keyed(spans: list[Span]) -> list[tuple[int, int, str, float | None]]:
    return [(s.start, s.end, s.label, s.score) for s in spans]


A = [S(0, 5), S(10, 20, "Y"), S(30, 40)]
B = [S(0, 5), S(12, 20, "Y"), S(30, 40)]
C = [S(0, 5), S(10, 20, "Y"), S(50, 55)]


def test_majority_exact_default_is_more_than_half() -> None:
    assert keyed(vote_spans([A, B, C])) == [
        (0, 5, "X", 1.0),
        (10, 20, "Y", pytest.approx(2 / 3)),
        (30, 40, "X", pytest.approx(2 / 3)),
    ]
    assert keyed(vote_spans([A, B, C], min_votes=3)) == [(0, 5, "X", 1.0)]
    assert len(vote_spans([A, B, C], min_votes=1)) == 4  # [12,20) loses to the longer [10,20)
    assert len(vote_spans([A, B, C], min_votes=1, resolve="none")) == 5


def test_a_tagger_voting_twice_for_one_span_counts_once() -> None:
    assert vote_spans([[S(0, 5), S(0, 5)], [], []]) == []
    assert keyed(vote_spans([[S(0, 5), S(0, 5)], [S(0, 5)], []])) == [(0, 5, "X", pytest.approx(2 / 3))]


def test_majority_overlap_outputs_the_most_voted_exact_span_of_a_cluster() -> None:
    # [10,20) (A, C) and [12,20) (B) form one cluster backed by all three taggers
    assert keyed(vote_spans([A, B, C], match="overlap")) == [
        (0, 5, "X", 1.0),
        (10, 20, "Y", 1.0),
        (30, 40, "X", pytest.approx(2 / 3)),
    ]
    # exact matching needs 2 exact votes; overlap lets 3 partial agreements through
    P = [S(0, 10)]
    Q = [S(2, 10)]
    R = [S(0, 8)]
    assert vote_spans([P, Q, R]) == []
    assert keyed(vote_spans([P, Q, R], match="overlap")) == [(0, 10, "X", 1.0)]


def test_overlap_clusters_do_not_chain_two_mentions_into_one() -> None:
    long_span = [S(0, 40)]
    two = [S(0, 17), S(22, 34)]
    assert keyed(vote_spans([long_span, two, two], match="overlap")) == [
        (0, 17, "X", 1.0),
        (22, 34, "X", 1.0),
    ]


def test_weighted_vote_uses_the_fraction_of_total_weight() -> None:
    weights = [0.5, 0.3, 0.2]
    out = vote_spans([A, B, C], strategy="weighted", weights=weights)
    assert keyed(out) == [
        (0, 5, "X", 1.0),
        (10, 20, "Y", pytest.approx(0.7)),
        (30, 40, "X", pytest.approx(0.8)),
    ]
    out = vote_spans([A, B, C], strategy="weighted", weights=weights, threshold=0.75)
    assert keyed(out) == [(0, 5, "X", 1.0), (30, 40, "X", pytest.approx(0.8))]
    # overlap: [12,20) is backed by everyone, [10,20) too but with more exact weight (0.7 vs 0.3)
    out = vote_spans([A, B, C], strategy="weighted", weights=weights, match="overlap", threshold=0.9)
    assert keyed(out) == [(0, 5, "X", 1.0), (10, 20, "Y", 1.0)]


def test_union_resolves_overlaps_by_length_or_by_score() -> None:
    P = [S(0, 10, "Z")]
    Q = [S(0, 4, "Z"), S(20, 25, "Z")]
    R = [S(0, 4, "Z")]
    assert keyed(vote_spans([P, Q, R], strategy="union")) == [
        (0, 10, "Z", pytest.approx(1 / 3)),
        (20, 25, "Z", pytest.approx(1 / 3)),
    ]
    assert keyed(vote_spans([P, Q, R], strategy="union", resolve="score")) == [
        (0, 4, "Z", pytest.approx(2 / 3)),
        (20, 25, "Z", pytest.approx(1 / 3)),
    ]
    assert len(vote_spans([P, Q, R], strategy="union", resolve="none")) == 3


def test_score_resolution_breaks_vote_ties_with_the_taggers_own_scores() -> None:
    P = [S(0, 10, "Z", 0.6)]
    Q = [S(0, 4, "Z", 0.9)]
    assert keyed(vote_spans([P, Q], strategy="union", resolve="score")) == [(0, 4, "Z", 0.5)]
    assert keyed(vote_spans([P, Q], strategy="union", resolve="longest")) == [(0, 10, "Z", 0.5)]


def test_labels_are_voted_separately_unless_flat() -> None:
    P, Q, R = [S(0, 5, "X")], [S(0, 5, "Y")], [S(0, 5, "X")]
    assert keyed(vote_spans([P, Q, R])) == [(0, 5, "X", pytest.approx(2 / 3))]
    assert len(vote_spans([P, Q, R], strategy="union")) == 2
    assert keyed(vote_spans([P, Q, R], strategy="union", across_labels=True)) == [
        (0, 5, "X", pytest.approx(2 / 3))
    ]


def test_bad_options_are_refused() -> None:
    with pytest.raises(ValueError, match="strategy"):
        vote_spans([A], strategy="borda")
    with pytest.raises(ValueError, match="weights"):
        vote_spans([A, B], strategy="weighted", weights=[1.0])
    with pytest.raises(ValueError, match="min_votes"):
        vote_spans([A, B], min_votes=3)


def doc(doc_id: str, spans: list[Span], folder: str | None = None, text: str = TEXT) -> Document:
    return Document(doc_id, text, spans, metadata={"folder": folder} if folder else {})


def test_vote_pairs_documents_by_id_and_folder_in_the_first_sets_order() -> None:
    set1 = [doc("d1", A), doc("d2", [], "es/symptom"), doc("d2", [S(1, 3)], "es/disease")]
    set2 = [doc("d2", [S(1, 3)], "es/disease"), doc("d1", B), doc("d2", [S(7, 9)], "es/symptom")]
    set3 = [doc("d2", [], "es/symptom"), doc("d2", [S(1, 3)], "es/disease"), doc("d1", C)]
    out = vote([set1, set2, set3])
    assert [(d.id, d.metadata.get("folder")) for d in out] == [
        ("d1", None),
        ("d2", "es/symptom"),
        ("d2", "es/disease"),
    ]
    assert [s.key for s in out[0].spans] == [(0, 5, "X"), (10, 20, "Y"), (30, 40, "X")]
    assert out[1].spans == []
    assert keyed(out[2].spans) == [(1, 3, "X", 1.0)]
    assert out[2].spans[0].text == TEXT[1:3]


def test_a_document_missing_from_a_set_is_one_where_it_found_nothing() -> None:
    """Formats that write only spans (a bare TSV) leave out the documents a tagger found nothing in."""

    def bare(doc_id: str, spans: list[Span]) -> Document:
        return Document(doc_id, "", spans, metadata={"has_text": False})

    out = vote([[bare("d1", A), bare("d2", [S(1, 3)])], [bare("d2", [S(1, 3)])], [bare("d9", [S(2, 4)])]])
    assert [d.id for d in out] == ["d1", "d2", "d9"]
    assert out[0].spans == []  # A alone is one vote of three
    assert keyed(out[1].spans) == [(1, 3, "X", pytest.approx(2 / 3))]
    assert out[2].spans == []
    assert keyed(vote([[bare("d1", A)], [bare("d9", A)]], min_votes=1)[1].spans)[0][:3] == (0, 5, "X")


def test_texts_come_from_any_set_and_only_real_conflicts_fail() -> None:
    bare = [Document("d1", "", [S(0, 5)], metadata={"has_text": False}), Document("d2", "", [S(1, 3)])]
    full = [doc("d1", [S(0, 5)]), doc("d2", [S(1, 3)], folder="dev")]
    out = vote([bare, full, bare])
    assert [d.text for d in out] == [TEXT, TEXT]
    assert "has_text" not in out[0].metadata
    assert keyed(out[0].spans) == [(0, 5, "X", 1.0)] and out[0].spans[0].text == TEXT[:5]
    only_bare = vote([bare, bare])
    assert [d.text for d in only_bare] == ["", ""] and len(only_bare[0].spans) == 1
    with pytest.raises(ValueError, match="'d1': its text differs between prediction sets 1 and 3"):
        vote([[doc("d1", A)], bare, [doc("d1", A, text=TEXT.upper())]])
    with pytest.raises(ValueError, match="twice"):
        vote([[doc("d1", A), doc("d1", B)], [doc("d1", A)]])


def test_folders_tell_copies_apart_only_where_a_set_has_several() -> None:
    # A BRAT tree (folder "dev") beside a JSONL file (no folder): one document, not two.
    out = vote([[doc("d1", A, folder="dev")], [doc("d1", B)]], min_votes=2)
    assert len(out) == 1 and out[0].metadata["folder"] == "dev"
    assert [s.key for s in out[0].spans] == [(0, 5, "X"), (30, 40, "X")]
    # MultiClinAI copies (one per type folder) against a set that holds the note once: its
    # spans vote in every copy.
    copies = [
        doc("d1", [S(0, 5, "DISEASE")], "es/dev/disease"),
        doc("d1", [S(7, 9, "SYMPTOM")], "es/dev/symptom"),
    ]
    once = [doc("d1", [S(0, 5, "DISEASE"), S(7, 9, "SYMPTOM")])]
    out = vote([copies, once], min_votes=2)
    assert [(d.metadata["folder"], [s.key for s in d.spans]) for d in out] == [
        ("es/dev/disease", [(0, 5, "DISEASE")]),
        ("es/dev/symptom", [(7, 9, "SYMPTOM")]),
    ]


def test_ensemble_tagger_matches_voting_on_each_members_output() -> None:
    members = [
        LexiconTagger([Term("dolor", "SYMPTOM"), Term("asma", "DISEASE")], name="a"),
        LexiconTagger([Term("dolor abdominal", "SYMPTOM"), Term("asma", "DISEASE")], name="b"),
        LexiconTagger([Term("dolor", "SYMPTOM"), Term("fiebre", "SYMPTOM")], name="c"),
    ]
    texts = ["Asma y dolor abdominal.", "fiebre", "dolor, asma, fiebre", "nada", "DOLOR 😀 asma"]
    docs = [Document(f"d{i}", t) for i, t in enumerate(texts)]
    ensemble = EnsembleTagger(members, match="overlap", batch_size=2)
    assert isinstance(ensemble, Tagger)
    assert ensemble.labels == ("DISEASE", "SYMPTOM")
    assert ensemble.name == "ensemble(a,b,c)"
    out = list(ensemble.tag(iter(docs)))
    expected = vote([list(m.tag(docs)) for m in members], match="overlap")
    assert out == expected
    assert [(s.start, s.end, s.label, s.text) for s in out[0].spans] == [
        (0, 4, "DISEASE", "Asma"),
        (7, 12, "SYMPTOM", "dolor"),
    ]
    assert [s.text for s in out[4].spans] == ["DOLOR", "asma"]


def _io():
    try:
        io = importlib.import_module("clinicalner.io")
    except ImportError:
        pytest.skip("clinicalner.io not available")
    if not hasattr(io, "read_corpus") or not hasattr(io, "write_corpus"):
        pytest.skip("clinicalner.io has no read_corpus/write_corpus yet")
    return io


def test_ensemble_files_reads_votes_and_writes(tmp_path: Path) -> None:
    io = _io()
    text = "Paciente con asma\r\ny dolor torácico 😀 leve."
    sets = [
        [Document("n1", text, [Span(13, 17, "DISEASE"), Span(21, 35, "SYMPTOM")])],
        [Document("n1", text, [Span(13, 17, "DISEASE"), Span(21, 26, "SYMPTOM")])],
        [Document("n1", text, [Span(13, 17, "DISEASE"), Span(21, 35, "SYMPTOM"), Span(39, 43, "SYMPTOM")])],
    ]
    paths = []
    for k, docs in enumerate(sets):
        path = tmp_path / f"pred{k}.jsonl"
        io.write_corpus([d.with_spans(s.with_text(text) for s in d.spans) for d in docs], path, "jsonl")
        paths.append(path)
    out_path = tmp_path / "ensemble.jsonl"
    result = ensemble_files(paths, out_path, "majority")
    assert result.strategy == "majority" and result.weights is None
    assert [(s.start, s.end, s.label, s.text) for s in result.documents[0].spans] == [
        (13, 17, "DISEASE", "asma"),
        (21, 35, "SYMPTOM", "dolor torácico"),
    ]
    written = io.read_corpus(out_path, "jsonl").documents
    assert [d.id for d in written] == ["n1"]
    assert written[0].text == text
    assert [s.key for s in written[0].spans] == [(13, 17, "DISEASE"), (21, 35, "SYMPTOM")]
    with pytest.raises(ValueError, match="at least two"):
        ensemble_files(paths[:1], out_path)


def test_ensemble_files_mixes_formats_and_tsvs_that_leave_documents_out(tmp_path: Path) -> None:
    io = _io()
    texts = {"n1": "Paciente con asma y tos.", "n2": "Sin hallazgos.", "n3": "Asma leve."}
    gold = [Document(i, t, language="es") for i, t in texts.items()]
    found = {
        "a": {"n1": [(13, 17, "DISEASE"), (20, 23, "SYMPTOM")], "n3": [(0, 4, "DISEASE")]},
        "b": {"n1": [(13, 17, "DISEASE")], "n3": [(0, 4, "DISEASE")]},
        "c": {"n1": [(20, 23, "SYMPTOM")]},  # found nothing in n2 and n3: absent from its TSV
    }

    def docs(name: str) -> list[Document]:
        return [
            d.with_spans(Span(a, b, lab, d.text[a:b]) for a, b, lab in found[name].get(d.id, []))
            for d in gold
        ]

    io.write_corpus(docs("a"), tmp_path / "a.tsv", "tsv")
    io.write_corpus(docs("b"), tmp_path / "b.jsonl", "jsonl")
    io.write_corpus(docs("c"), tmp_path / "c.tsv", "tsv")
    io.write_corpus(docs("b"), tmp_path / "b_brat", "brat")
    expected = [("n1", 13, 17, "DISEASE"), ("n1", 20, 23, "SYMPTOM"), ("n3", 0, 4, "DISEASE")]
    for inputs in (
        ["a.tsv", "b.jsonl", "c.tsv"],
        ["a.tsv", "b_brat", "c.tsv"],
        ["b.jsonl", "a.tsv", "c.tsv"],
    ):
        out = tmp_path / "vote.jsonl"
        result = ensemble_files([tmp_path / p for p in inputs], out, "majority", output_format="jsonl")
        got = [(d.id, s.start, s.end, s.label) for d in result.documents for s in d.spans]
        assert sorted(got) == expected, inputs
        written = {d.id: d.text for d in io.read_corpus(out).documents}
        assert written["n1"] == texts["n1"]
    pair = ensemble_files([tmp_path / "b.jsonl", tmp_path / "b_brat"], tmp_path / "x.jsonl", "majority")
    assert len(pair.documents) == 3


def test_weights_from_dev_f1(tmp_path: Path) -> None:
    io = _io()
    text = "Fiebre, tos y asma."
    gold = [
        Document(
            "d",
            text,
            [Span(0, 6, "SYMPTOM", "Fiebre"), Span(8, 11, "SYMPTOM", "tos"), Span(14, 18, "DISEASE", "asma")],
        )
    ]
    io.write_corpus(gold, tmp_path / "dev.jsonl", "jsonl")
    members = {
        "good": [Span(0, 6, "SYMPTOM"), Span(8, 11, "SYMPTOM"), Span(14, 18, "DISEASE")],  # F1 1
        "half": [Span(0, 6, "SYMPTOM"), Span(9, 11, "SYMPTOM")],  # P 1/2, R 1/3: F1 0.4
        "poor": [Span(9, 11, "SYMPTOM"), Span(15, 18, "DISEASE")],  # F1 0
    }
    paths = []
    for name, spans in members.items():
        path = tmp_path / f"{name}.jsonl"
        io.write_corpus([Document("d", text, [s.with_text(text) for s in spans])], path, "jsonl")
        paths.append(path)
    result = ensemble_files(paths, tmp_path / "w.jsonl", dev=tmp_path / "dev.jsonl")
    assert result.strategy == "weighted"
    assert result.dev_f1 == pytest.approx([1.0, 0.4, 0.0]) and result.weights == result.dev_f1
    # Weighted by dev F1, "good" alone holds 1/1.4 of the vote: all its spans pass 0.5.
    assert [s.key for s in result.documents[0].spans] == [s.key for s in gold[0].spans]
    # Weights from dev predictions, votes on other (test) predictions.
    test = [tmp_path / "t0.jsonl", tmp_path / "t1.jsonl", tmp_path / "t2.jsonl"]
    for k, spans in enumerate(([Span(0, 6, "SYMPTOM")], [Span(8, 11, "SYMPTOM")], [Span(8, 11, "SYMPTOM")])):
        io.write_corpus([Document("t", text, [s.with_text(text) for s in spans])], test[k], "jsonl")
    weighted = ensemble_files(test, tmp_path / "t.jsonl", dev=tmp_path / "dev.jsonl", dev_predictions=paths)
    assert [s.key for s in weighted.documents[0].spans] == [(0, 6, "SYMPTOM")]  # 1.0 of 1.4 beats 0.4
    equal = ensemble_files(test, tmp_path / "t.jsonl")
    assert [s.key for s in equal.documents[0].spans] == [(8, 11, "SYMPTOM")]  # 2 votes of 3
    with pytest.raises(ValueError, match="one per member"):
        ensemble_files(test, tmp_path / "t.jsonl", dev=tmp_path / "dev.jsonl", dev_predictions=paths[:2])
    with pytest.raises(ValueError, match="not both"):
        ensemble_files(test, tmp_path / "t.jsonl", weights=[1, 1, 1], dev=tmp_path / "dev.jsonl")
    with pytest.raises(ValueError, match="--dev"):
        ensemble_files(test, tmp_path / "t.jsonl", dev_predictions=paths)
    with pytest.raises(ValueError, match="'weighted'"):
        ensemble_files(test, tmp_path / "t.jsonl", "majority", dev=tmp_path / "dev.jsonl")
    with pytest.raises(ValueError, match="F1 = 0"):
        ensemble_files(paths[2:] * 2, tmp_path / "t.jsonl", dev=tmp_path / "dev.jsonl")


def test_ensemble_command_prints_the_dev_weights(tmp_path: Path) -> None:
    io = _io()
    from typer.testing import CliRunner

    from clinicalner.cli import app

    text = "Fiebre y tos."
    gold = [Document("d", text, [Span(0, 6, "SYMPTOM", "Fiebre"), Span(9, 12, "SYMPTOM", "tos")])]
    io.write_corpus(gold, tmp_path / "dev.jsonl", "jsonl")
    paths = []
    for k, spans in enumerate(([Span(0, 6, "SYMPTOM")], [Span(0, 6, "SYMPTOM"), Span(9, 12, "SYMPTOM")])):
        paths.append(tmp_path / f"p{k}.jsonl")
        io.write_corpus([Document("d", text, [s.with_text(text) for s in spans])], paths[-1], "jsonl")
    out = tmp_path / "vote.jsonl"
    r = CliRunner().invoke(
        app, ["ensemble", *map(str, paths), "-o", str(out), "--dev", str(tmp_path / "dev.jsonl")]
    )
    assert r.exit_code == 0, r.output
    assert "weight 0.6667 (dev strict F1)" in r.output and "weight 1.0000 (dev strict F1)" in r.output
    assert "(weighted)" in r.output
    r = CliRunner().invoke(app, ["ensemble", *map(str, paths), "-o", str(out), "--dev-pred", str(paths[0])])
    assert r.exit_code == 2 and "--dev" in r.output and "Traceback" not in r.output


def test_sets_from_different_corpora_are_refused_and_gaps_in_full_sets_warned(caplog) -> None:
    a = [Document("d1", "fiebre alta", [Span(0, 6, "S", "fiebre")]), Document("d2", "tos", [])]
    other = [Document("z9", "dolor", [Span(0, 5, "S", "dolor")])]
    with pytest.raises(ValueError, match="no document in common"):
        vote([a, a, other])
    caplog.set_level("WARNING", logger="clinicalner.predict.ensemble")
    spans_only = [Document("z9", "", [Span(0, 5, "S")], metadata={"has_text": False})]
    vote([a, a, spans_only])  # a bare TSV may share no id on a small corpus: warned, not refused
    assert any("sets 1 and 3 have no document in common" in r.getMessage() for r in caplog.records)
    vote([a, a, a[:1]])  # the third set has texts and lacks d2
    assert any("set 3 lacks 1 of 2 documents" in r.getMessage() for r in caplog.records)
    assert all("fiebre" not in r.getMessage() for r in caplog.records)  # ids and counts only


def test_the_output_format_follows_the_output_path_as_predict_does(tmp_path: Path) -> None:
    """Not the first input's format: a TSV first made ``ens.jsonl`` a MultiClinAI folder, a JSONL
    first wrote JSONL into ``ens2.tsv``. ``--format`` (``--output-format``) still decides."""
    io = _io()
    from typer.testing import CliRunner

    from clinicalner.cli import app

    text = "Fiebre y tos."
    spans = [Span(0, 6, "SYMPTOM", "Fiebre"), Span(9, 12, "SYMPTOM", "tos")]
    io.write_corpus([Document("d", text, spans)], tmp_path / "p.tsv", "tsv")
    io.write_corpus([Document("d", text, spans[:1])], tmp_path / "lex.tsv", "tsv")
    io.write_corpus([Document("d", text, spans)], tmp_path / "pthr.jsonl", "jsonl")
    tsv_first = [str(tmp_path / n) for n in ("p.tsv", "lex.tsv", "pthr.jsonl")]
    jsonl_first = [str(tmp_path / n) for n in ("pthr.jsonl", "p.tsv", "lex.tsv")]
    runner = CliRunner()

    r = runner.invoke(app, ["ensemble", *tsv_first, "--output", str(tmp_path / "ens.jsonl")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "ens.jsonl").is_file()
    assert io.read_corpus(tmp_path / "ens.jsonl").format == "jsonl"
    assert [s.key for s in io.read_corpus(tmp_path / "ens.jsonl").documents[0].spans] == [
        s.key for s in spans
    ]

    r = runner.invoke(app, ["ensemble", *jsonl_first, "--output", str(tmp_path / "ens2.tsv")])
    assert r.exit_code == 0, r.output
    first = (tmp_path / "ens2.tsv").read_text(encoding="utf-8").splitlines()[0]
    assert not first.startswith("{") and "\t" in first  # a bare TSV, not JSONL
    assert [s.key for s in io.read_corpus(tmp_path / "ens2.tsv").documents[0].spans] == [s.key for s in spans]

    # no suffix: a BRAT folder, as predict writes; --format overrides the path
    r = runner.invoke(app, ["ensemble", *jsonl_first, "--output", str(tmp_path / "ens_brat")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "ens_brat" / "d.ann").is_file()
    r = runner.invoke(app, ["ensemble", *tsv_first, "-o", str(tmp_path / "ens3.tsv"), "--format", "jsonl"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "ens3.tsv").read_text(encoding="utf-8").startswith("{")

    # a suffix that names no format stops before any reading, as predict does
    r = runner.invoke(app, ["ensemble", *tsv_first, "-o", str(tmp_path / "ens.txt")])
    assert r.exit_code == 2 and "--format" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "ens.txt").exists()
