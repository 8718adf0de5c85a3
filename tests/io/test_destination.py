"""Every command that writes checks its destination first: a folder, an unwritable place or
one of its own inputs is an error before any work, and nothing is changed."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from clinicalner import api
from clinicalner.errors import CorpusError
from clinicalner.io.destination import check_output

TEXT = "Paciente con diabetes mellitus y fiebre.\n"
TSV = "filename\tlabel\tstart_span\tend_span\ttext\na\tDISEASE\t13\t30\tdiabetes mellitus\n"
TSV2 = "filename\tlabel\tstart_span\tend_span\ttext\na\tSYMPTOM\t33\t39\tfiebre\n"
JSONL = '{"id": "a", "text": "Paciente con diabetes mellitus y fiebre.\\n", "spans": []}\n'


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    for rel, content in {
        "brat/a.txt": TEXT,
        "brat/a.ann": "T1\tDISEASE 13 30\tdiabetes mellitus\n",
        "notes/n.txt": TEXT,
        "gold.jsonl": JSONL,
        "p1.tsv": TSV,
        "p2.tsv": TSV2,
        "terms.tsv": "diabetes mellitus\tDISEASE\n",
    }.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(content, "utf-8")
    api.lexicon(tmp_path / "terms.tsv", tmp_path / "lex")
    return tmp_path


def _digest(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha1(p.read_bytes()).hexdigest() if p.is_file() else "dir"
        for p in sorted(root.rglob("*"))
    }


WRITERS: dict[str, Callable[[Path, str], object]] = {
    "predict": lambda ws, out: api.predict(ws / "lex", ws / "notes", ws / out, progress=False),
    "ensemble": lambda ws, out: api.ensemble([ws / "p1.tsv", ws / "p2.tsv"], ws / out),
    "evaluate": lambda ws, out: api.evaluate(ws / "gold.jsonl", ws / "p1.tsv", output=ws / out),
    "convert": lambda ws, out: api.convert(ws / "gold.jsonl", ws / out, "jsonl"),
}
SUFFIX = {"predict": ".tsv", "ensemble": ".tsv", "evaluate": ".json", "convert": ".jsonl"}


@pytest.mark.parametrize("command", list(WRITERS))
def test_an_existing_folder_is_refused_before_the_work(ws: Path, command: str) -> None:
    out = f"taken{SUFFIX[command]}"
    (ws / out).mkdir()
    before = _digest(ws)
    with pytest.raises(CorpusError, match="is a folder"):
        WRITERS[command](ws, out)
    assert _digest(ws) == before


@pytest.mark.parametrize("command", list(WRITERS))
def test_a_place_below_a_file_is_refused(ws: Path, command: str) -> None:
    with pytest.raises(CorpusError, match="is not a folder"):
        WRITERS[command](ws, f"gold.jsonl/x{SUFFIX[command]}")


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_an_unwritable_place_is_refused(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        target = locked / "out.tsv"
        try:
            (locked / "probe").write_text("x")
            writable = True
        except OSError:
            writable = False
        if writable:  # root: permission bits do not bind; /sys refuses new files even to root
            target = Path("/sys/clinicalner-test.tsv")
            if not Path("/sys").is_dir():
                pytest.skip("no unwritable place to try")
        with pytest.raises(CorpusError, match="cannot write in"):
            check_output(target)
    finally:
        locked.chmod(0o755)


@pytest.mark.parametrize(
    ("command", "call"),
    [
        (
            "predict into its BRAT input",
            lambda ws: api.predict(ws / "lex", ws / "brat", ws / "brat", progress=False),
        ),
        (
            "predict into its JSONL input",
            lambda ws: api.predict(ws / "lex", ws / "gold.jsonl", ws / "gold.jsonl", progress=False),
        ),
        (
            "predict into its model",
            lambda ws: api.predict(ws / "lex", ws / "notes", ws / "lex", progress=False),
        ),
        (
            "predict into a folder holding its input",
            lambda ws: api.predict(ws / "lex", ws / "brat" / "a.txt", ws / "brat", progress=False),
        ),
        ("ensemble into an input", lambda ws: api.ensemble([ws / "p1.tsv", ws / "p2.tsv"], ws / "p2.tsv")),
        (
            "evaluate onto its gold",
            lambda ws: api.evaluate(ws / "g.json", ws / "p1.tsv", output=ws / "g.json"),
        ),
        (
            "lexicon over its term list",
            lambda ws: api.lexicon(ws / "lex" / "lexicon.tsv", ws / "lex", format="terms"),
        ),
    ],
)
def test_an_input_is_never_overwritten(ws: Path, command: str, call: Callable[[Path], object]) -> None:
    (ws / "g.json").write_text(JSONL, "utf-8")
    before = _digest(ws)
    with pytest.raises(CorpusError, match=r"the output is the input|holds the input"):
        call(ws)
    assert _digest(ws) == before


def test_a_symlink_to_an_input_is_the_input(ws: Path) -> None:
    (ws / "link.jsonl").symlink_to(ws / "gold.jsonl")
    with pytest.raises(CorpusError, match="the output is the input"):
        api.predict(ws / "lex", ws / "gold.jsonl", ws / "link.jsonl", progress=False)
    assert (ws / "gold.jsonl").read_text("utf-8") == JSONL
