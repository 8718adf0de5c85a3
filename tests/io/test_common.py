"""The shared reader helpers: only regular files are opened, suffixes are case-insensitive,
and detection is not fooled by note text."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from clinicalner.errors import CorpusError
from clinicalner.io import detect_format, read_corpus

TEXT = "Paciente con diabetes mellitus y fiebre.\n"  # diabetes mellitus 13-30
ANN = "T1\tDISEASE 13 30\tdiabetes mellitus\n"


def _folder(p: Path) -> None:
    p.mkdir()
    (p / "inside").write_text("x")


def _fifo(p: Path) -> None:
    os.mkfifo(p)


def _loop(p: Path) -> None:
    os.symlink(p.name, p)


@pytest.fixture
def deadline() -> Iterator[None]:
    """Fail, rather than hang the suite, when a reader waits on a FIFO (what it used to do)."""

    def hung(signum: int, frame: object) -> None:
        raise TimeoutError("the reader hung")

    old = signal.signal(signal.SIGALRM, hung)
    signal.alarm(20)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


ODD: dict[str, Callable[[Path], None]] = {"folder": _folder, "FIFO": _fifo, "symlink loop": _loop}


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
@pytest.mark.parametrize("kind", list(ODD))
@pytest.mark.parametrize(
    ("layout", "odd", "fmt"),
    [
        ({"brat/a.txt": TEXT, "brat/a.ann": ANN, "brat/b.ann": ""}, "brat/b.txt", None),
        ({"brat/a.txt": TEXT, "brat/a.ann": ANN, "brat/b.txt": TEXT}, "brat/b.ann", None),
        ({"mc/es/dev/disease/txt/a.txt": TEXT}, "mc/es/dev/disease/txt/b.txt", None),
        ({"mc/es/dev/disease/txt/a.txt": TEXT}, "mc/es/dev/disease/es_dev_disease.tsv", None),
        ({"notes/a.txt": TEXT}, "notes/b.txt", "txt"),
        ({"j/a.jsonl": '{"id": "a", "text": "x"}\n'}, "j/b.jsonl", "jsonl"),
        ({}, "c.jsonl", "jsonl"),
        ({}, "c.conll", "conll"),
        ({}, "c.pubtator", "pubtator"),
        ({}, "c.tsv", "tsv"),
    ],
)
def test_only_regular_files_are_read(
    deadline: None, tmp_path: Path, kind: str, layout: dict[str, str], odd: str, fmt: str | None
) -> None:
    """A folder, FIFO or symlink loop where a file is expected: an error naming it, no hang."""
    if kind == "folder" and odd.startswith(("notes/", "j/")):
        pytest.skip("a sub-folder of a folder of files is a sub-folder")
    for rel, content in layout.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(content, encoding="utf-8")
    (tmp_path / odd).parent.mkdir(parents=True, exist_ok=True)
    ODD[kind](tmp_path / odd)
    root = tmp_path / odd.split("/")[0]
    with pytest.raises(CorpusError) as e:
        read_corpus(root, fmt)
    assert Path(odd).name in str(e.value)


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, content in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(content, encoding="utf-8")


@pytest.mark.parametrize(
    ("files", "root", "docs", "spans"),
    [
        ({"b/a.txt": TEXT, "b/a.ann": ANN, "b/B.TXT": TEXT, "b/B.ANN": ANN}, "b", 2, 2),
        ({"n/a.txt": TEXT, "n/B.TXT": TEXT}, "n", 2, 0),
        (
            {
                "m/es/dev/disease/txt/a.txt": TEXT,
                "m/es/dev/disease/txt/B.TXT": TEXT,
                "m/es/dev/disease/ES_DEV_DISEASE.TSV": "filename\tlabel\tstart_span\tend_span\ttext\n"
                "a\tDISEASE\t13\t30\tdiabetes mellitus\nB\tDISEASE\t13\t30\tdiabetes mellitus\n",
            },
            "m",
            2,
            2,
        ),
        ({"j/a.jsonl": '{"id": "a", "text": "x"}\n', "j/B.JSONL": '{"id": "b", "text": "x"}\n'}, "j", 2, 0),
    ],
)
def test_upper_case_suffixes_are_read(
    tmp_path: Path, files: dict[str, str], root: str, docs: int, spans: int
) -> None:
    _write(tmp_path, files)
    corpus = read_corpus(tmp_path / root)
    assert len(corpus) == docs
    assert sum(len(d.spans) for d in corpus) == spans


def test_a_note_starting_like_pubtator_is_not_pubtator(tmp_path: Path) -> None:
    """Detection must not be fooled by note text: a BRAT note may begin with ``2|t|``."""
    _write(
        tmp_path,
        {"b/a.txt": "2|t|" + TEXT, "b/a.ann": "T1\tDISEASE 17 34\tdiabetes mellitus\n", "b/c.txt": TEXT},
    )
    _write(tmp_path, {"n/a.txt": "2|t|" + TEXT, "n/b.txt": TEXT})
    assert detect_format(tmp_path / "b") == "brat"
    assert detect_format(tmp_path / "b" / "a.txt") == "brat"
    assert detect_format(tmp_path / "n") == "txt"
    assert len(read_corpus(tmp_path / "b")) == 2


@pytest.mark.parametrize("number", ["1³", "١٣", "１３"])
@pytest.mark.parametrize(
    ("files", "root", "bad"),
    [
        ({"b/a.txt": TEXT, "b/a.ann": "T1\tDISEASE {n} 30\tdiabetes mellitus\n"}, "b", "b/a.ann"),
        (
            {
                "m/es/dev/disease/txt/a.txt": TEXT,
                "m/es/dev/disease/es_dev_disease.tsv": "filename\tlabel\tstart_span\tend_span\ttext\n"
                "a\tDISEASE\t{n}\t30\tdiabetes mellitus\n",
            },
            "m",
            "m/es/dev/disease/es_dev_disease.tsv",
        ),
        (
            {"p.tsv": "filename\tlabel\tstart_span\tend_span\ttext\na\tDISEASE\t{n}\t30\tx\n"},
            "p.tsv",
            "p.tsv",
        ),
        (
            {"d.pubtator": "1|t|Fiebre alta\n1|a|y tos\n1\t{n}\t6\tFiebre\tSymptom\n\n"},
            "d.pubtator",
            "d.pubtator",
        ),
    ],
)
def test_offsets_in_other_digits_name_file_and_line(
    tmp_path: Path, number: str, files: dict[str, str], root: str, bad: str
) -> None:
    """``'¹²'.isdigit()`` is true: such offsets were an ``int()`` error with no file, or read as 13."""
    _write(tmp_path, {rel: content.replace("{n}", number) for rel, content in files.items()})
    with pytest.raises(CorpusError) as e:
        read_corpus(tmp_path / root)
    assert e.value.file == str(tmp_path / bad) and e.value.line is not None


LONG = "Paciente con diabetes mellitus. " + "texto " * 2000 + "SECRET" + " mas" * 2000 + "\n"


@pytest.mark.parametrize(
    "files",
    [
        {"b/a.txt": LONG, "b/a.ann": f"T1\tDISEASE 13 {len(LONG) - 5}\tdiabetes mellitus\n"},
        {"b/a.txt": TEXT, "b/a.ann": "T1\tDISEASE 13 30\t" + "x" * 20000 + "\n"},
        {
            "b/a.jsonl": json.dumps(
                {
                    "id": "a",
                    "text": LONG,
                    "spans": [{"start": 13, "end": len(LONG) - 5, "label": "D", "text": "d"}],
                }
            )
            + "\n"
        },
        {
            "b/es/dev/disease/txt/a.txt": LONG,
            "b/es/dev/disease/es_dev_disease.tsv": "filename\tlabel\tstart_span\tend_span\ttext\n"
            f"a\tDISEASE\t13\t{len(LONG) - 5}\tdiabetes mellitus\n",
        },
    ],
)
def test_span_mismatch_messages_are_capped(tmp_path: Path, files: dict[str, str]) -> None:
    """An offset typo must not print the note (PHI): quoted strings are cut at 80 characters."""
    _write(tmp_path, files)
    with pytest.raises(CorpusError) as e:
        read_corpus(tmp_path / "b")
    assert len(str(e.value)) < 600 and "SECRET" not in str(e.value)


def test_a_term_list_that_is_not_utf8_names_file_and_line(tmp_path: Path) -> None:
    from clinicalner.predict.lexicon import read_term_list

    path = tmp_path / "latin.tsv"
    path.write_bytes("diabetes\tDISEASE\nfi\xe8vre\tSYMPTOM\n".encode("latin-1"))
    with pytest.raises(CorpusError) as e:
        read_term_list(path)
    assert (e.value.file, e.value.line) == (str(path), 2)
