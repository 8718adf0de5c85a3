"""Lexicon tagger: folding with exact offsets, boundaries, longest match, backends, persistence, speed."""

from __future__ import annotations

import importlib.util
import random
import time
from pathlib import Path

import pytest

from clinicalner.document import Document, Span
from clinicalner.errors import CorpusError
from clinicalner.predict.lexicon import FoldedText, LexiconTagger, Term, fold_term
from clinicalner.predict.tagger import Tagger

_NO_AHO = pytest.mark.skipif(
    importlib.util.find_spec("ahocorasick") is None, reason="pyahocorasick not installed (extra 'lexicon')"
)
BACKENDS = [pytest.param("ahocorasick", marks=_NO_AHO), "python"]


def triples(spans: list[Span]) -> list[tuple[int, int, str, str]]:
    return [(s.start, s.end, s.label, s.text) for s in spans]


def test_fold_keeps_a_way_back_to_original_offsets() -> None:
    text = "Straße  CAFE\u0301\r\nÉté 😀"
    folded = FoldedText.fold(text)
    assert folded.text == "strasse cafe ete 😀"
    # every folded character points at the original character that produced it
    expected_origin = [0, 1, 2, 3, 4, 4, 5, 6, 8, 9, 10, 11, 13, 15, 16, 17, 18, 19]
    assert [folded.start(i) for i in range(len(folded.text))] == expected_origin
    # a folded range ending after "cafe" ends after the combining accent in the original
    assert folded.end(12) == 13
    assert text[folded.start(8) : folded.end(12)] == "CAFE\u0301"
    # inside the expansion of ß is not a character boundary
    assert not folded.on_char_boundary(5)
    assert folded.on_char_boundary(4) and folded.on_char_boundary(6)


def test_fold_without_changes_in_length_needs_no_offset_table() -> None:
    folded = FoldedText.fold("Dolor Torácico")
    assert folded.text == "dolor toracico"
    assert folded.offsets is None
    assert fold_term("  Dolor\tTORÁCICO ") == "dolor toracico"


@pytest.mark.parametrize("backend", BACKENDS)
def test_case_accent_whitespace_insensitive_with_exact_offsets(backend: str) -> None:
    text = "Paciente con DIABETES\r\nMellitus tipo 2, dolor toracico 😀 y CAFÉ con cafe\u0301; straße."
    lexicon = LexiconTagger(
        [
            Term("diabetes mellitus", "DISEASE"),
            Term("diabetes", "DISEASE"),
            Term("dolor torácico", "SYMPTOM"),
            Term("café", "FOOD"),
            Term("Strasse", "PLACE"),
        ],
        backend=backend,
    )
    spans = lexicon.find(text)
    assert triples(spans) == [
        (13, 31, "DISEASE", "DIABETES\r\nMellitus"),
        (40, 54, "SYMPTOM", "dolor toracico"),
        (59, 63, "FOOD", "CAFÉ"),
        (68, 73, "FOOD", "cafe\u0301"),
        (75, 81, "PLACE", "straße"),
    ]
    for span in spans:
        assert text[span.start : span.end] == span.text


@pytest.mark.parametrize("backend", BACKENDS)
def test_matches_must_start_and_end_on_word_boundaries(backend: str) -> None:
    lexicon = LexiconTagger(
        [Term("ca", "X"), Term("asma", "DISEASE"), Term("covid", "DISEASE")], backend=backend
    )
    text = "cancer, asmatico, Asma. covid-19 y ca_x pero (ca)"
    assert triples(lexicon.find(text)) == [
        (18, 22, "DISEASE", "Asma"),
        (24, 29, "DISEASE", "covid"),
        (46, 48, "X", "ca"),
    ]


@pytest.mark.parametrize("backend", BACKENDS)
def test_longest_match_wins_over_nested_and_crossing_matches(backend: str) -> None:
    lexicon = LexiconTagger(
        [
            Term("insuficiencia renal", "DISEASE"),
            Term("insuficiencia renal cronica", "DISEASE"),
            Term("renal cronica agudizada", "OTHER"),
            Term("agudizada", "SYMPTOM"),
        ],
        backend=backend,
    )
    text = "insuficiencia renal crónica agudizada"
    # the 27-char term beats the 23-char crossing one; 'agudizada' then fits after it
    assert triples(lexicon.find(text)) == [
        (0, 27, "DISEASE", "insuficiencia renal crónica"),
        (28, 37, "SYMPTOM", "agudizada"),
    ]


def test_overlap_resolution_per_label_keeps_other_types() -> None:
    terms = [Term("dolor abdominal", "SYMPTOM"), Term("abdominal", "ANATOMY")]
    flat = LexiconTagger(terms)
    nested = LexiconTagger(terms, across_labels=False)
    text = "dolor abdominal"
    assert triples(flat.find(text)) == [(0, 15, "SYMPTOM", "dolor abdominal")]
    assert triples(nested.find(text)) == [
        (0, 15, "SYMPTOM", "dolor abdominal"),
        (6, 15, "ANATOMY", "abdominal"),
    ]


@pytest.mark.parametrize("backend", BACKENDS)
def test_spaceless_scripts_and_other_scripts(backend: str) -> None:
    lexicon = LexiconTagger(
        [Term("糖尿病", "DISEASE"), Term("गठिया", "DISEASE"), Term("Диабет", "DISEASE")], backend=backend
    )
    text = "患者有糖尿病史。गठिया रोग, диабет"
    assert triples(lexicon.find(text)) == [
        (3, 6, "DISEASE", "糖尿病"),
        (8, 13, "DISEASE", "गठिया"),
        (19, 25, "DISEASE", "диабет"),
    ]


@_NO_AHO
def test_both_backends_agree_on_random_text() -> None:
    rng = random.Random(7)
    alphabet = "abcdeéíñoß"
    words = ["".join(rng.choices(alphabet, k=rng.randint(1, 5))) for _ in range(300)]
    terms = {}
    for _ in range(400):
        surface = " ".join(rng.choices(words, k=rng.randint(1, 3)))
        terms.setdefault(fold_term(surface), Term(surface, rng.choice(["A", "B"])))
    seps = [" ", "  ", "\r\n", ", ", "-", "😀"]
    text = "".join(rng.choice(words) + rng.choice(seps) for _ in range(3000))
    aho = LexiconTagger(terms.values(), backend="ahocorasick", across_labels=False)
    trie = LexiconTagger(terms.values(), backend="python", across_labels=False)
    a, b = aho.find(text), trie.find(text)
    assert len(a) > 500
    assert a == b
    labels = {fold_term(t.surface): t.label for t in aho.terms}
    for span in a:
        assert labels[fold_term(span.text)] == span.label


def test_from_documents_majority_min_count_and_scores() -> None:
    text = "asma y asma, fiebre, FIEBRE, fiebre; tos; x"
    doc = Document(
        "d1",
        text,
        [
            Span(0, 4, "DISEASE"),
            Span(7, 11, "DISEASE"),
            Span(13, 19, "SYMPTOM"),
            Span(21, 27, "SYMPTOM"),
            Span(29, 35, "DISEASE"),
            Span(37, 40, "SYMPTOM"),
            Span(42, 43, "SYMPTOM"),
        ],
    )
    tie = Document("d2", "tos", [Span(0, 3, "DISEASE")])
    lexicon = LexiconTagger.from_documents([doc, tie])
    by_key = {fold_term(t.surface): t for t in lexicon.terms}
    assert set(by_key) == {"asma", "fiebre", "tos"}  # 'x' is shorter than min_length
    assert (by_key["asma"].label, by_key["asma"].score) == ("DISEASE", 1.0)
    assert by_key["fiebre"].label == "SYMPTOM"
    assert by_key["fiebre"].score == pytest.approx(2 / 3)
    assert by_key["fiebre"].surface == "fiebre"  # the most frequent surface form
    assert by_key["tos"].label == "DISEASE"  # 1-1 tie: alphabetically first label
    assert lexicon.labels == ("DISEASE", "SYMPTOM")

    frequent = LexiconTagger.from_documents([doc, tie], min_count=2)
    assert sorted(fold_term(t.surface) for t in frequent.terms) == ["asma", "fiebre", "tos"]
    assert [fold_term(t.surface) for t in LexiconTagger.from_documents([doc], min_count=2).terms] == [
        "asma",
        "fiebre",
    ]

    tagged = next(lexicon.tag([Document("n", "Asma con FIEBRE")]))
    assert triples(tagged.spans) == [(0, 4, "DISEASE", "Asma"), (9, 15, "SYMPTOM", "FIEBRE")]
    assert [s.score for s in tagged.spans] == [1.0, pytest.approx(2 / 3)]


def test_from_tsv_and_errors_name_file_and_line(tmp_path: Path) -> None:
    good = tmp_path / "terms.tsv"
    good.write_text(
        "term\tlabel\n# comment\n\nDiabetes mellitus\tDISEASE\nfiebre\tSYMPTOM\t0.5\nFIEBRE\tSYMPTOM\n",
        "utf-8",
    )
    lexicon = LexiconTagger.from_tsv(good)
    assert lexicon.name == "terms"
    assert [(t.surface, t.label, t.score) for t in lexicon.terms] == [
        ("Diabetes mellitus", "DISEASE", None),
        ("fiebre", "SYMPTOM", 0.5),
    ]
    cases = {
        "a\tB\nonly-one-column\n": (2, "columns"),
        "a\tB\n\tB\n": (2, "empty term"),
        "a\tB\nb\tC\tnot-a-number\n": (2, "not a number"),
        "fiebre\tSYMPTOM\nsome\tX\nFiebre\tDISEASE\n": (3, "line 1"),
    }
    for content, (line, words) in cases.items():
        bad = tmp_path / "bad.tsv"
        bad.write_text(content, "utf-8")
        with pytest.raises(CorpusError) as err:
            LexiconTagger.from_tsv(bad)
        assert err.value.file == str(bad)
        assert err.value.line == line
        assert words in str(err.value)


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    lexicon = LexiconTagger(
        [Term("dolor torácico", "SYMPTOM", 0.75), Term("asma", "DISEASE")], name="mini", across_labels=False
    )
    folder = lexicon.save(tmp_path / "lex")
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "lexicon.tsv"]
    loaded = LexiconTagger.load(folder)
    assert loaded.name == "mini"
    assert loaded.across_labels is False
    assert loaded.terms == lexicon.terms
    text = "Asma y DOLOR TORACICO"
    assert loaded.find(text) == lexicon.find(text)
    assert triples(loaded.find(text)) == [(0, 4, "DISEASE", "Asma"), (7, 21, "SYMPTOM", "DOLOR TORACICO")]
    with pytest.raises(CorpusError):
        LexiconTagger.load(tmp_path)


def test_is_a_tagger_and_streams_documents() -> None:
    lexicon = LexiconTagger([Term("asma", "DISEASE")])
    assert isinstance(lexicon, Tagger)
    docs = [Document("a", "asma", language="es", metadata={"folder": "es/dev"}), Document("b", "nada")]
    out = list(lexicon.tag(iter(docs)))
    assert [d.id for d in out] == ["a", "b"]
    assert [len(d.spans) for d in out] == [1, 0]
    assert out[0].metadata == {"folder": "es/dev"} and out[0].language == "es"
    assert docs[0].spans == []  # inputs untouched


@pytest.mark.parametrize("backend", BACKENDS)
def test_speed_on_a_megabyte_with_ten_thousand_terms(backend: str) -> None:
    rng = random.Random(0)
    vocab = ["".join(rng.choices("abcdefghilmnoprstuáéíóñ", k=rng.randint(3, 9))) for _ in range(20000)]
    terms: dict[str, Term] = {}
    while len(terms) < 10_000:
        surface = " ".join(rng.choices(vocab, k=rng.randint(1, 3)))
        terms.setdefault(fold_term(surface), Term(surface, "DISEASE"))
    pieces, size = [], 0
    while size < 1_000_000:
        word = rng.choice(vocab)
        sep = "\r\n" if rng.random() < 0.05 else " "
        pieces.append(word + sep)
        size += len(word) + len(sep)
    text = "".join(pieces)
    lexicon = LexiconTagger(terms.values(), backend=backend)
    lexicon.find("warm up")  # build the automaton outside the timing
    start = time.perf_counter()
    spans = lexicon.find(text)
    elapsed = time.perf_counter() - start
    assert len(spans) > 10_000
    assert all(text[s.start : s.end] == s.text for s in spans[:1000])
    assert elapsed < 3.0, f"{backend}: {elapsed:.2f}s for 1 MB"


def test_auto_backend_falls_back_to_the_trie_without_pyahocorasick(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "ahocorasick", None)  # import now raises ImportError
    lexicon = LexiconTagger([Term("asma", "DISEASE")])
    assert lexicon.backend == "python"
    assert triples(lexicon.find("Asma.")) == [(0, 4, "DISEASE", "Asma")]


def test_load_honours_across_labels_for_term_lists_and_folders(tmp_path: Path) -> None:
    """A caller's across_labels is never silently dropped (the benchmark passes its option)."""
    terms = tmp_path / "terms.tsv"
    terms.write_text("chest X-ray\tprocedure\nchest\tcondition\n", encoding="utf-8")
    doc = Document("d", "Pneumonia ruled out by chest X-ray.")
    flat = LexiconTagger.load(terms, backend="python")
    per_label = LexiconTagger.load(terms, backend="python", across_labels=False)
    assert flat.across_labels and not per_label.across_labels
    assert triples(next(flat.tag([doc])).spans) == [(23, 34, "procedure", "chest X-ray")]
    assert triples(next(per_label.tag([doc])).spans) == [
        (23, 28, "condition", "chest"),
        (23, 34, "procedure", "chest X-ray"),
    ]
    folder = per_label.save(tmp_path / "lex")
    assert not LexiconTagger.load(folder, backend="python").across_labels  # the folder's own setting
    assert LexiconTagger.load(folder, backend="python", across_labels=True).across_labels


def test_a_term_list_reports_every_label_conflict_at_once(tmp_path: Path) -> None:
    """Conflicts after case/accent folding are all counted, the first few named by line."""
    from clinicalner.predict.lexicon import read_term_list

    path = tmp_path / "terms.tsv"
    rows = [
        "fiebre\tSYMPTOM",
        "Fiebre\tDISEASE",
        "asma\tDISEASE",
        "tos\tSYMPTOM",
        "TÓS\tDISEASE",
        "tós\tDISEASE",
    ]
    rows += [f"t{k}\tA\nT{k}\tB" for k in range(6)]  # six more conflicts
    path.write_text("term\tlabel\n" + "\n".join(rows) + "\n", "utf-8")
    with pytest.raises(CorpusError) as err:
        read_term_list(path)
    message = str(err.value)
    assert err.value.line == 3  # where the first conflict's second label appears
    assert message.count("|") == 5  # five named, then "and 3 more"
    assert "8 term(s) listed with two or more labels" in message and "and 3 more" in message
    assert "line 2 'fiebre' SYMPTOM; line 3 'Fiebre' DISEASE" in message
    assert "line 5 'tos' SYMPTOM; line 6 'TÓS' DISEASE" in message
    assert "--lenient" in message

    terms, report = read_term_list(path, lenient=True)
    chosen = {fold_term(t.surface): t.label for t in terms}
    assert chosen["fiebre"] == "SYMPTOM"  # a tie: the first listed
    assert chosen["tos"] == "DISEASE"  # the most frequent (2 of 3)
    assert chosen["asma"] == "DISEASE" and chosen["t0"] == "A"
    # order of first appearance; the surface of the first line with the label kept
    assert [t.surface for t in terms][:3] == ["fiebre", "asma", "TÓS"]
    assert (report.conflicts, report.conflict_lines_dropped, report.lines) == (8, 8, 18)


def test_lenient_term_lists_skip_and_count_malformed_lines(tmp_path: Path) -> None:
    from clinicalner.predict.lexicon import read_term_list

    path = tmp_path / "terms.tsv"
    path.write_text("asma\tDISEASE\nbroken\nfiebre\tSYMPTOM\tx\nfiebre\tSYMPTOM\nFIEBRE\tSYMPTOM\n", "utf-8")
    with pytest.raises(CorpusError) as err:
        read_term_list(path)
    assert err.value.line == 2
    terms, report = read_term_list(path, lenient=True)
    assert [(t.surface, t.label) for t in terms] == [("asma", "DISEASE"), ("fiebre", "SYMPTOM")]
    assert [e.line for e in report.skipped] == [2, 3]
    assert report.duplicates == 1 and report.conflicts == 0


@pytest.mark.parametrize(
    ("content", "suffix", "expected"),
    [
        ("term\tlabel\nasma\tDISEASE\n", ".tsv", True),
        ("asma\tDISEASE\nfiebre\tSYMPTOM\t0.5\n", ".txt", True),
        ("# my terms\nasma\tDISEASE\n", ".tsv", True),
        ("filename\tlabel\tstart_span\tend_span\ttext\nd\tDISEASE\t0\t4\tasma\n", ".tsv", False),
        ("Asma\tB-DISEASE\nleve\tO\n", ".tsv", False),
        ("asma\tDISEASE\tnot-a-score\n", ".tsv", False),
        ("Una nota clínica sin tabuladores.\n", ".txt", False),
        ("asma\tDISEASE\n", ".jsonl", False),
    ],
)
def test_term_lists_are_told_apart_from_corpora(
    tmp_path: Path, content: str, suffix: str, expected: bool
) -> None:
    from clinicalner.predict.lexicon import looks_like_term_list

    path = tmp_path / f"input{suffix}"
    path.write_text(content, "utf-8")
    assert looks_like_term_list(path) is expected


def test_build_lexicon_from_a_corpus_or_a_term_list(tmp_path: Path) -> None:
    from clinicalner.io import write_corpus
    from clinicalner.predict.lexicon import build_lexicon

    text = "Asma y fiebre. Asma leve, tos."
    spans = [Span(0, 4, "DISEASE"), Span(7, 13, "SYMPTOM"), Span(15, 19, "DISEASE"), Span(26, 29, "SYMPTOM")]
    write_corpus([Document("d", text, [s.with_text(text) for s in spans])], tmp_path / "train.jsonl", "jsonl")
    build = build_lexicon(tmp_path / "train.jsonl", tmp_path / "lex", min_count=2, across_labels=False)
    assert (build.source, build.documents, build.terms, build.labels) == ("jsonl", 1, 1, {"DISEASE": 1})
    loaded = LexiconTagger.load(tmp_path / "lex")
    assert [(t.surface, t.label) for t in loaded.terms] == [("Asma", "DISEASE")]
    assert loaded.across_labels is False and loaded.source == str(tmp_path / "train.jsonl")
    assert loaded.build_options == {"format": "jsonl", "min_count": 2, "min_length": 2}
    build = build_lexicon(tmp_path / "train.jsonl", tmp_path / "lex", labels=["SYMPTOM"])  # replaces it
    assert build.labels == {"SYMPTOM": 2}

    terms = tmp_path / "terms.tsv"
    terms.write_text("asma\tDISEASE\nfiebre\tSYMPTOM\nFiebre\tDISEASE\n", "utf-8")
    with pytest.raises(CorpusError, match="1 term\\(s\\) listed with two or more labels"):
        build_lexicon(terms, tmp_path / "lex2")
    assert not (tmp_path / "lex2").exists()
    build = build_lexicon(terms, tmp_path / "lex2", lenient=True)
    assert (build.source, build.terms, build.conflicts, build.conflict_lines_dropped) == ("terms", 2, 1, 1)
    with pytest.raises(ValueError, match="--min-count only apply to a corpus"):
        build_lexicon(terms, tmp_path / "lex3", min_count=2)
    # the same file forced to be read as a corpus is not a term list
    with pytest.raises(CorpusError):
        build_lexicon(terms, tmp_path / "lex3", format="tsv")
    with pytest.raises(CorpusError, match="no terms of labels PROCEDURE"):
        build_lexicon(terms, tmp_path / "lex3", labels=["PROCEDURE"], lenient=True)
    with pytest.raises(ValueError, match="unknown input format"):
        build_lexicon(terms, tmp_path / "lex3", format="csv")


def test_a_lexicon_never_replaces_a_folder_of_other_files(tmp_path: Path) -> None:
    from clinicalner.predict.lexicon import build_lexicon

    terms = tmp_path / "terms.tsv"
    terms.write_text("asma\tDISEASE\n", "utf-8")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "n1.txt").write_text("asma", "utf-8")
    with pytest.raises(CorpusError, match="holds files that are not a lexicon's"):
        build_lexicon(terms, tmp_path / "notes")
    with pytest.raises(CorpusError, match="the output is the input"):
        build_lexicon(terms, terms)
    (tmp_path / "file").write_text("x", "utf-8")
    with pytest.raises(CorpusError, match="not a folder"):
        build_lexicon(terms, tmp_path / "file")
    assert (tmp_path / "notes" / "n1.txt").is_file() and terms.read_text("utf-8") == "asma\tDISEASE\n"
    with pytest.raises(CorpusError, match="inside the corpus"):
        build_lexicon(tmp_path / "notes", tmp_path / "notes" / "lex", format="txt")


@pytest.mark.parametrize(
    "surface",
    [
        "#diabetes",
        "# 5 vertebra",
        "\\backslash",
        "diabetes\tmellitus",
        "diabetes\nmellitus",
        "diabetes\r\nmellitus",
    ],
)
def test_a_saved_lexicon_reads_back_every_term(tmp_path: Path, surface: str) -> None:
    """Terms a lexicon.tsv could not hold as written (a leading '#' read as a comment, a tab
    or line break splitting the row) are escaped or normalised so that they read back and
    match what they matched before."""
    from clinicalner.predict.lexicon import LexiconTagger, Term, fold_term

    tagger = LexiconTagger([Term(surface, "DISEASE"), Term("fiebre", "SYMPTOM", 0.5)])
    loaded = LexiconTagger.load(tagger.save(tmp_path / "lex"))
    assert [(fold_term(t.surface), t.label, t.score) for t in loaded.terms] == [
        (fold_term(surface), "DISEASE", None),
        ("fiebre", "SYMPTOM", 0.5),
    ]
    text = f"Paciente con {surface} y fiebre."
    assert [(s.start, s.end, s.label) for s in loaded.find(text)] == [
        (s.start, s.end, s.label) for s in tagger.find(text)
    ]


@pytest.mark.parametrize("label", ["DIS\tEASE", "DIS\nEASE", " DISEASE"])
def test_a_label_a_lexicon_cannot_hold_is_refused_before_writing(tmp_path: Path, label: str) -> None:
    from clinicalner.predict.lexicon import LexiconTagger, Term

    with pytest.raises(CorpusError, match="cannot hold it"):
        LexiconTagger([Term("diabetes", label)]).save(tmp_path / "lex")
    assert not (tmp_path / "lex").exists()


@pytest.mark.parametrize(
    "config",
    [
        "[]",
        '"lexicon"',
        '{"kind": "lexicon", "format_version": "2"}',
        '{"kind": "lexicon", "format_version": true}',
        '{"kind": "lexicon", "format_version": 1, "across_labels": "no"}',
        '{"kind": "lexicon", "format_version": 1, "name": 5}',
    ],
)
def test_a_broken_lexicon_config_is_an_error_naming_it(tmp_path: Path, config: str) -> None:
    from clinicalner.predict.lexicon import LexiconTagger

    (tmp_path / "lex").mkdir()
    (tmp_path / "lex" / "config.json").write_text(config, "utf-8")
    (tmp_path / "lex" / "lexicon.tsv").write_text("term\tlabel\tscore\nasma\tDISEASE\t\n", "utf-8")
    with pytest.raises(CorpusError) as e:
        LexiconTagger.load(tmp_path / "lex")
    assert e.value.file == str(tmp_path / "lex" / "config.json")
