"""`clinicalner lexicon`: a lexicon folder from a term list or a corpus, used by `predict`."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from clinicalner.cli import app
from clinicalner.io import read_corpus

runner = CliRunner()
WARD = Path(__file__).parent / "benchmark" / "fixtures" / "ward"


def _notes(tmp_path: Path) -> Path:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "n1.txt").write_text("Fiebre y TOS con asma.", encoding="utf-8")
    return notes


def test_a_term_list_becomes_a_lexicon_that_predict_uses(tmp_path: Path) -> None:
    terms = tmp_path / "terms.tsv"
    terms.write_text("term\tlabel\nfiebre\tSYMPTOM\ntos\tSYMPTOM\nasma\tDISEASE\n", encoding="utf-8")
    lex = tmp_path / "lex"
    r = runner.invoke(app, ["lexicon", str(terms), "--output", str(lex)])
    assert r.exit_code == 0, r.output
    assert f"lexicon: 3 terms, 2 labels (SYMPTOM 2, DISEASE 1) from a term list -> {lex}" in r.output
    out = tmp_path / "p.tsv"
    r = runner.invoke(app, ["predict", str(lex), str(_notes(tmp_path)), "-o", str(out), "--no-progress"])
    assert r.exit_code == 0, r.output
    (doc,) = read_corpus(out).documents
    assert [(s.start, s.end, s.label) for s in doc.spans] == [
        (0, 6, "SYMPTOM"),
        (9, 12, "SYMPTOM"),
        (17, 21, "DISEASE"),
    ]


def test_a_corpus_becomes_a_lexicon_with_its_options(tmp_path: Path) -> None:
    lex = tmp_path / "lex"
    r = runner.invoke(
        app, ["lexicon", str(WARD / "train"), "-o", str(lex), "--min-count", "1", "-l", "Drug", "--per-label"]
    )
    assert r.exit_code == 0, r.output
    assert "labels (Drug " in r.output and "from 3 documents" in r.output
    r = runner.invoke(app, ["lexicon", str(WARD / "train"), "-o", str(lex), "-l", "Nothing"])
    assert r.exit_code == 2 and "no terms of labels Nothing" in r.output and "Traceback" not in r.output


def test_label_conflicts_are_all_reported_or_resolved_with_lenient(tmp_path: Path) -> None:
    terms = tmp_path / "terms.txt"
    terms.write_text("fiebre\tSYMPTOM\nFiebre\tDISEASE\ntos\tSYMPTOM\ntós\tDISEASE\nTos\tDISEASE\n", "utf-8")
    lex = tmp_path / "lex"
    r = runner.invoke(app, ["lexicon", str(terms), "-o", str(lex)])
    assert r.exit_code == 2
    assert r.output.startswith(f"error: {terms}:2: 2 term(s) listed with two or more labels")
    assert "line 1 'fiebre' SYMPTOM; line 2 'Fiebre' DISEASE" in r.output
    assert "line 3 'tos' SYMPTOM; line 4 'tós' DISEASE" in r.output
    assert len(r.output.strip().splitlines()) == 1 and not lex.exists()
    r = runner.invoke(app, ["lexicon", str(terms), "-o", str(lex), "--lenient"])
    assert r.exit_code == 0, r.output
    assert "2 term(s) listed with several labels kept one each; dropped 2 line(s) (--lenient)" in r.output
    assert "(SYMPTOM 1, DISEASE 1)" in r.output
    from clinicalner.predict.lexicon import LexiconTagger

    kept = {t.surface: t.label for t in LexiconTagger.load(lex).terms}
    assert kept == {"fiebre": "SYMPTOM", "tós": "DISEASE"}  # a tie: the first; else the most frequent
    r = runner.invoke(app, ["lexicon", str(terms), "-o", str(lex), "--min-length", "3"])
    assert r.exit_code == 2 and "only apply to a corpus" in r.output


def test_predict_names_both_kinds_for_a_folder_that_is_neither(tmp_path: Path) -> None:
    notes = _notes(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    for args in ([], ["--device", "cpu"]):
        r = runner.invoke(app, ["predict", str(empty), str(notes), "-o", str(tmp_path / "p.tsv"), *args])
        assert r.exit_code == 2, r.output
        assert "neither a trained model (no clinicalner.json / model.safetensors)" in r.output
        assert "nor a lexicon (no config.json)" in r.output and "Traceback" not in r.output
    r = runner.invoke(app, ["predict", str(tmp_path / "absent"), str(notes), "-o", str(tmp_path / "p.tsv")])
    assert r.exit_code == 2 and "no such model folder, lexicon folder or term list" in r.output
