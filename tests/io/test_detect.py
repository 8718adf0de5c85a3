"""Format detection from folder layouts, extensions and first lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from clinicalner.errors import CorpusError
from clinicalner.io import FORMATS, detect_format, read_corpus
from clinicalner.io.common import folder_info, split_from_name


def _touch(path: Path, content: str = "x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"es/dev/symptom/txt/a.txt": "x", "es/dev/symptom/es_dev_symptom.tsv": "filename\n"}, "multiclinai"),
        ({"MultiClinNER-nl/MultiClinNER-nl-test/disease/txt/a.txt": "x"}, "multiclinai"),
        ({"train/a.txt": "x", "train/a.ann": ""}, "brat"),
        ({"txt/a.txt": "x", "txt/a.ann": ""}, "brat"),  # a folder named txt holding .ann is BRAT
        ({"c.jsonl": "{}"}, "jsonl"),
        ({"train.conll": "a\tO"}, "conll"),
        ({"Train.PubTator": "1|t|x"}, "pubtator"),
        ({"README.txt": "read me", "CDR_Dev.PubTator.txt": "1|t|x\n"}, "pubtator"),
        ({"pred.tsv": "filename\tlabel"}, "tsv"),
        ({"a.txt": "x", "b/c.txt": "y"}, "txt"),
    ],
)
def test_folders(tmp_path: Path, files: dict[str, str], expected: str) -> None:
    for name, content in files.items():
        _touch(tmp_path / name, content)
    assert detect_format(tmp_path) == expected
    assert expected in FORMATS


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("a.tsv", "filename\tlabel", "tsv"),
        ("a.ndjson", "{}", "jsonl"),
        ("a.iob2", "x\tO", "conll"),
        ("a.PUBTATOR", "1|t|x", "pubtator"),
        ("CDR.PubTator.txt", "\ufeff123|t|title", "pubtator"),
        ("notes.txt", "a note", "txt"),
        ("data", '{"id": "a"}', "jsonl"),
        ("data", "1|a|abstract", "pubtator"),
        ("data", "filename\tlabel\tstart_span", "tsv"),
        ("data", "-DOCSTART-\n", "conll"),
    ],
)
def test_files(tmp_path: Path, name: str, content: str, expected: str) -> None:
    assert detect_format(_touch(tmp_path / name, content)) == expected


def test_txt_with_ann_beside_is_brat(tmp_path: Path) -> None:
    _touch(tmp_path / "a.ann", "T1\tX 0 1\tx\n")
    assert detect_format(_touch(tmp_path / "a.txt")) == "brat"
    (doc,) = read_corpus(tmp_path / "a.txt").documents
    assert doc.spans[0].key == (0, 1, "X")


def test_unknown(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="no such file"):
        detect_format(tmp_path / "missing")
    with pytest.raises(CorpusError, match="cannot tell the format"):
        detect_format(_touch(tmp_path / "x.bin", "plain words"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(CorpusError, match="no corpus files"):
        detect_format(tmp_path / "empty")
    with pytest.raises(ValueError, match="unknown corpus format 'xml'"):
        read_corpus(tmp_path, format="xml")


def test_folder_info() -> None:
    info = folder_info(Path("MultiClinNER-cz/MultiClinNER-cz-train/symptom"))
    assert (info.language, info.split, info.entity_type, info.folder) == (
        "cs",
        "train",
        "SYMPTOM",
        "cs/train/symptom",
    )
    assert folder_info(Path("MultiClinNER-es-dev-disease")).folder == "es/dev/disease"
    assert (
        folder_info(Path("corpora/ncbi-disease/devel")).entity_type is None
    )  # a corpus name, not a type folder
    assert folder_info(Path("corpora/ncbi-disease/devel")).split == "dev"
    assert folder_info(Path("spaccc-es/train")).language == "es"
    assert (split_from_name("CDR_TrainingSet.PubTator"), split_from_name("Dev.PubTator")) == ("train", "dev")


@pytest.mark.parametrize("fmt", ["pubtator", "conll", "jsonl", "tsv", "txt"])
def test_a_forced_format_that_matches_nothing_is_an_error(tmp_path: Path, fmt: str) -> None:
    folder = tmp_path / "brat"
    folder.mkdir()
    (folder / "d.ann").write_text("T1\tS 0 5\tFever\n", encoding="utf-8")
    if fmt != "txt":
        (folder / "d.txt").write_text("Fever", encoding="utf-8")
    with pytest.raises(CorpusError, match=rf"brat: no .* here to read as {fmt}; it looks like brat"):
        read_corpus(folder, fmt)


def test_a_folder_of_corpora_in_different_formats_is_refused(tmp_path: Path) -> None:
    """Read as the first format found, the other corpora used to be skipped without a word."""
    _touch(tmp_path / "mc" / "es" / "dev" / "symptom" / "txt" / "a.txt")
    _touch(tmp_path / "chia" / "a.txt")
    _touch(tmp_path / "chia" / "a.ann", "")
    _touch(tmp_path / "bc5cdr" / "Dev.PubTator", "1|t|x\n")
    _touch(tmp_path / "README.md", "corpora")
    with pytest.raises(CorpusError) as e:
        detect_format(tmp_path)
    assert e.value.file == str(tmp_path)
    assert "different formats (brat: chia/; multiclinai: mc/; pubtator: bc5cdr/)" in e.value.message
    with pytest.raises(CorpusError, match="different formats"):
        read_corpus(tmp_path)
    assert read_corpus(tmp_path, "brat").format == "brat"  # a format given reads its files only


@pytest.mark.parametrize(
    "files",
    [
        # BRAT splits, one of them texts only (unannotated test documents)
        {"train/a.txt": "x", "train/a.ann": "", "test/b.txt": "y"},
        # a README beside PubTator files
        {"README.txt": "read me", "Train.PubTator": "1|t|x\n", "Dev.PubTator": "2|t|y\n"},
        # a MultiClinAI group: txt/ beside tsv/ is one corpus
        {"txt/a.txt": "x", "tsv/a.tsv": "filename\tlabel\tstart_span\tend_span\n"},
        {"en/dev/symptom/txt/a.txt": "x", "es/dev/symptom/txt/a.txt": "x"},
    ],
)
def test_one_corpus_in_several_parts_is_not_mixed(tmp_path: Path, files: dict[str, str]) -> None:
    for name, content in files.items():
        _touch(tmp_path / name, content)
    assert detect_format(tmp_path) in FORMATS
