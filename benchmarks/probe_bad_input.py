"""Throw malformed and adversarial inputs at the CLI and count what goes wrong.

Each case builds its inputs in a fresh folder, runs one ``clinicalner`` command there (in a
subprocess, with a timeout) and is judged:

- ``traceback``: a Python traceback in the output, or an exit status other than 0 and 2;
- ``hang``: the command did not finish within the timeout;
- ``silent``: the command changed or lost data without a word (an input file changed, a
  temp file of ours left behind, a wrong-typed value accepted, spans scored on another
  text, a written lexicon that does not read back, documents skipped unannounced);
- ``message``: an error that does not name the file, or output beyond the length cap
  (note text must never be echoed at length).

Run from the repository root::

    PYTHONPATH=$PWD/src python benchmarks/probe_bad_input.py [--only SUBSTRING] [-v]

It prints one line per failing case and the counts; exit status 1 when any case fails.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

TIMEOUT = 90.0  # a busy machine can take 15 s to import numpy; a FIFO waits forever
OUTPUT_CAP = 4000  # characters of stdout + stderr an error case may print
TEXT = "Paciente con diabetes mellitus y fiebre alta.\n"  # diabetes mellitus 13-30, fiebre 33-39
SECRET = "SECRETNOTETEXT"  # planted in notes far from any span: must never be printed

Check = Callable[[Path, "Result"], "str | None"]


@dataclass
class Result:
    rc: int | None
    out: str
    err: str
    seconds: float

    @property
    def text(self) -> str:
        return self.out + self.err


@dataclass
class Case:
    name: str
    argv: list[str]
    files: dict[str, str | bytes] = field(default_factory=dict)
    setup: Callable[[Path], None] | None = None
    expect: str = "either"  # "ok" (exit 0), "error" (exit 2), "either"
    outputs: tuple[str, ...] = ()  # paths the command may create or change
    check: Check | None = None
    names_file: str | None = None  # an error must name this path


# ---------------------------------------------------------------------------------------------
# Fixtures


def jline(**obj: object) -> str:
    return json.dumps(obj, ensure_ascii=False) + "\n"


GOOD_SPANS = [
    {"start": 13, "end": 30, "label": "DISEASE", "text": "diabetes mellitus"},
    {"start": 33, "end": 39, "label": "SYMPTOM", "text": "fiebre"},
]
BASE: dict[str, str | bytes] = {
    "brat/a.txt": TEXT,
    "brat/a.ann": "T1\tDISEASE 13 30\tdiabetes mellitus\nT2\tSYMPTOM 33 39\tfiebre\n",
    "notes/n1.txt": TEXT,
    "gold.jsonl": jline(id="a", text=TEXT, language="es", spans=GOOD_SPANS),
    "pred.jsonl": jline(id="a", text=TEXT, language="es", spans=GOOD_SPANS[:1]),
    "pred.tsv": "filename\tlabel\tstart_span\tend_span\ttext\na\tDISEASE\t13\t30\tdiabetes mellitus\n",
    "pred2.tsv": "filename\tlabel\tstart_span\tend_span\ttext\na\tSYMPTOM\t33\t39\tfiebre\n",
    "terms.tsv": "diabetes mellitus\tDISEASE\nfiebre\tSYMPTOM\n",
    "mc/es/dev/disease/txt/a.txt": TEXT,
    "mc/es/dev/disease/es_dev_disease.tsv": "filename\tlabel\tstart_span\tend_span\ttext\n"
    "a\tDISEASE\t13\t30\tdiabetes mellitus\n",
    "tok.conll": "Paciente\tO\ncon\tO\ndiabetes\tB-DISEASE\nmellitus\tI-DISEASE\n",
    "lex/config.json": json.dumps({"kind": "lexicon", "format_version": 1, "name": "lex", "terms": 2}),
    "lex/lexicon.tsv": "term\tlabel\tscore\ndiabetes mellitus\tDISEASE\t\nfiebre\tSYMPTOM\t\n",
}


def fifo(rel: str) -> Callable[[Path], None]:
    def make(ws: Path) -> None:
        (ws / rel).parent.mkdir(parents=True, exist_ok=True)
        os.mkfifo(ws / rel)

    return make


def loop(rel: str) -> Callable[[Path], None]:
    def make(ws: Path) -> None:
        (ws / rel).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(Path(rel).name, ws / rel)  # points at itself

    return make


def folder(rel: str) -> Callable[[Path], None]:
    def make(ws: Path) -> None:
        (ws / rel).mkdir(parents=True, exist_ok=True)
        (ws / rel / "inside").write_text("x")

    return make


def both(*makers: Callable[[Path], None]) -> Callable[[Path], None]:
    def make(ws: Path) -> None:
        for m in makers:
            m(ws)

    return make


# ---------------------------------------------------------------------------------------------
# Checks


def says(*words: str) -> Check:
    """Exit 0 must come with one of ``words`` in the output (a warning), else it is silent."""

    def check(ws: Path, r: Result) -> str | None:
        if r.rc == 0 and not any(w.lower() in r.text.lower() for w in words):
            return f"exit 0 without saying any of {words}"
        return None

    return check


def jsonl_docs(path: Path) -> list[dict]:
    return [json.loads(ln) for ln in path.read_text("utf-8").splitlines() if ln.strip()]


def stats_documents(n: int, mention: str) -> Check:
    """``stats --json`` must count ``n`` documents, or the output must name ``mention``."""

    def check(ws: Path, r: Result) -> str | None:
        if r.rc != 0 or mention.lower() in r.text.lower():
            return None
        try:
            got = json.loads(r.out)["documents"]
        except (ValueError, KeyError, TypeError):
            return "stats --json printed no document count"
        if got != n:
            return f"{got} documents counted, {n} expected, and {mention} not named"
        return None

    return check


def output_documents(rel: str, n: int, mention: str) -> Check:
    def check(ws: Path, r: Result) -> str | None:
        if r.rc != 0 or mention.lower() in r.text.lower():
            return None
        p = ws / rel
        if not p.exists():
            return f"{rel} not written"
        got = (
            len(jsonl_docs(p))
            if rel.endswith(".jsonl")
            else len({ln.split("\t")[0] for ln in p.read_text("utf-8").splitlines()[1:]})
        )
        if got != n:
            return f"{rel} holds {got} documents, {n} expected, and {mention} not named"
        return None

    return check


def lexicon_reads_back(rel: str, expected: set[tuple[str, str]]) -> Check:
    """A lexicon written with exit 0 must read back with every expected (term, label)."""

    def check(ws: Path, r: Result) -> str | None:
        if r.rc != 0:
            return None
        from clinicalner.predict.lexicon import LexiconTagger, fold_term

        try:
            tagger = LexiconTagger.load(ws / rel)
        except Exception as e:
            return f"written lexicon does not read back: {type(e).__name__}"
        # compared in search form: whitespace inside a term may be written as one space
        got = {(fold_term(t.surface), t.label) for t in tagger.terms}
        if missing := {(fold_term(s), lab) for s, lab in expected} - got:
            return f"written lexicon lost {len(missing)} term(s)"
        return None

    return check


def no_hidden_leftovers(ws: Path, r: Result) -> str | None:
    left = [
        p.relative_to(ws).as_posix() for p in ws.rglob(".*") if ".tmp" in p.name or p.name.endswith(".old")
    ]
    return f"temp leftovers: {', '.join(left[:3])}" if left else None


def all_of(*checks: Check) -> Check:
    def check(ws: Path, r: Result) -> str | None:
        for c in checks:
            if problem := c(ws, r):
                return problem
        return None

    return check


# ---------------------------------------------------------------------------------------------
# Cases


def cases() -> list[Case]:
    out: list[Case] = []
    add = out.append

    # -- a folder, FIFO or symlink loop where a file is expected -----------------------------
    odd_files = {
        "dir": folder,
        "fifo": fifo,
        "loop": loop,
    }
    for kind, make in odd_files.items():
        # inside corpus folders, read by the folder readers; a sub-folder whose name ends in
        # .tsv is still a sub-folder of a folder of files, read or not
        sub = "either" if kind == "dir" else "error"
        add(
            Case(
                f"stats tsv folder with {kind} x.tsv",
                ["stats", "t"],
                {"t/ok.tsv": BASE["pred.tsv"]},
                make("t/x.tsv"),
                sub,
            )
        )
        add(
            Case(
                f"stats brat with {kind} b.txt",
                ["stats", "brat"],
                setup=both(make("brat/b.txt"), lambda ws: (ws / "brat/b.ann").write_text("")),
                expect="error",
            )
        )
        add(
            Case(
                f"stats brat with {kind} b.ann",
                ["stats", "brat"],
                setup=both(make("brat/b.ann"), lambda ws: (ws / "brat/b.txt").write_text(TEXT)),
                expect="error",
            )
        )
        add(
            Case(
                f"stats txt folder with {kind} b.txt",
                ["stats", "notes", "--format", "txt"],
                setup=make("notes/b.txt"),
                expect=sub,
            )
        )
        add(
            Case(
                f"stats mc tree with {kind} txt/b.txt",
                ["stats", "mc"],
                setup=make("mc/es/dev/disease/txt/b.txt"),
                expect="error",
            )
        )
        add(
            Case(
                f"stats jsonl folder with {kind} b.jsonl",
                ["stats", "j"],
                {"j/a.jsonl": BASE["gold.jsonl"]},
                make("j/b.jsonl"),
                sub,
            )
        )
        add(
            Case(
                f"stats conll folder with {kind} b.conll",
                ["stats", "c"],
                {"c/a.conll": BASE["tok.conll"]},
                make("c/b.conll"),
                sub,
            )
        )
        # given directly as the input of each command
        for cmd, argv in {
            "stats": ["stats", "odd.jsonl"],
            "convert": ["convert", "odd.jsonl", "out.tsv", "--to", "tsv"],
            "evaluate gold": ["evaluate", "odd.jsonl", "pred.jsonl"],
            "evaluate pred": ["evaluate", "gold.jsonl", "odd.jsonl"],
            "predict": ["predict", "lex", "odd.jsonl", "--output", "out.tsv"],
            "ensemble": ["ensemble", "odd.tsv", "pred.tsv", "--output", "out.tsv"],
            "lexicon": ["lexicon", "odd.tsv", "--output", "newlex"],
            "predict lexicon": ["predict", "odd.tsv", "notes", "--output", "out.tsv"],
        }.items():
            if kind == "dir" and cmd in ("stats", "convert", "evaluate gold", "evaluate pred", "predict"):
                continue  # a folder named .jsonl is a folder corpus: covered above
            add(
                Case(
                    f"{cmd} on a {kind} input",
                    argv,
                    setup=both(make("odd.jsonl"), make("odd.tsv")),
                    expect="error",
                    outputs=("out.tsv", "newlex"),
                )
            )
    # lexicon folders that are broken
    for desc, files in {
        "config.json a list": {"badlex/config.json": "[]", "badlex/lexicon.tsv": "a\tB\n"},
        "config.json a string": {"badlex/config.json": '"lexicon"', "badlex/lexicon.tsv": "a\tB\n"},
        "format_version a string": {
            "badlex/config.json": '{"kind": "lexicon", "format_version": "2"}',
            "badlex/lexicon.tsv": "a\tB\n",
        },
        "format_version null": {
            "badlex/config.json": '{"kind": "lexicon", "format_version": null}',
            "badlex/lexicon.tsv": "a\tB\n",
        },
        "no lexicon.tsv": {"badlex/config.json": '{"kind": "lexicon", "format_version": 1}'},
        "across_labels a string": {
            "badlex/config.json": '{"kind": "lexicon", "format_version": 1, "across_labels": "no"}',
            "badlex/lexicon.tsv": "a\tB\n",
        },
        "config.json not UTF-8": {
            "badlex/config.json": b'{"kind": "lexicon", "name": "\xff"}',
            "badlex/lexicon.tsv": "a\tB\n",
        },
    }.items():
        add(
            Case(
                f"predict with a lexicon whose {desc}",
                ["predict", "badlex", "notes", "--output", "out.tsv"],
                files,
                expect="error",
                outputs=("out.tsv",),
            )
        )
    add(
        Case(
            "predict with a lexicon whose lexicon.tsv is a folder",
            ["predict", "badlex", "notes", "--output", "out.tsv"],
            {"badlex/config.json": '{"kind": "lexicon", "format_version": 1}'},
            folder("badlex/lexicon.tsv"),
            "error",
            ("out.tsv",),
        )
    )

    # -- outputs that cannot be written ---------------------------------------------------------
    for desc, dest, make_dir in [
        ("an existing folder", "outdir.X", True),
        ("an unwritable place", "/sys/clinicalner-probe.X", False),
        ("below a file", "gold.jsonl/sub.X", False),
    ]:
        for cmd, argv, suffix in [
            ("evaluate -o", ["evaluate", "gold.jsonl", "pred.jsonl", "-o"], ".json"),
            ("predict -o", ["predict", "lex", "notes", "--output"], ".tsv"),
            ("predict -o jsonl", ["predict", "lex", "notes", "--output"], ".jsonl"),
            ("ensemble -o", ["ensemble", "pred.tsv", "pred2.tsv", "--output"], ".tsv"),
            ("convert", ["convert", "gold.jsonl"], ".jsonl"),
            ("convert tsv", ["convert", "gold.jsonl"], ".tsv"),
        ]:
            target = dest.replace(".X", suffix)
            tail = ["--to", suffix[1:]] if cmd.startswith("convert") else []
            setup = folder(target) if make_dir else None
            add(Case(f"{cmd} to {desc}", [*argv, target, *tail], setup=setup, expect="error", outputs=()))
    add(
        Case(
            "lexicon to an unwritable place",
            ["lexicon", "terms.tsv", "--output", "/sys/clinicalner-probe-lex"],
            expect="error",
        )
    )
    add(
        Case(
            "convert brat to an unwritable folder",
            ["convert", "gold.jsonl", "/sys/clinicalner-probe-brat", "--to", "brat"],
            expect="error",
        )
    )

    # -- JSONL fields of the wrong type -------------------------------------------------------
    deep = "[" * 100000 + "]" * 100000
    wrong = {
        "spans a number": '{"id": "a", "text": "%s", "spans": 5}',
        "spans a string": '{"id": "a", "text": "%s", "spans": "x"}',
        "annotated_labels a number": '{"id": "a", "text": "%s", "annotated_labels": 5}',
        "annotated_labels a string": '{"id": "a", "text": "%s", "annotated_labels": "SYMPTOM"}',
        "language a number": '{"id": "a", "text": "%s", "language": 5}',
        "metadata relations numbers": '{"id": "a", "text": "%s", "metadata": {"brat": {"relations": 5}}}',
        "metadata pubtator ids a number": '{"id": "a", "text": "%s", "metadata": {"pubtator": {"ids": 5}}}',
        "metadata folder a number": '{"id": "a", "text": "%s", "metadata": {"folder": 5}}',
        "deeply nested spans": '{"id": "a", "text": "%s", "spans": ' + deep + "}",
        "offset a float": '{"id": "a", "text": "%s", "spans": [{"start": 13.7, "end": 30, "label": "DISEASE"}]}',
        "offset a bool": '{"id": "a", "text": "%s", "spans": [{"start": true, "end": 30, "label": "DISEASE"}]}',
        "offset a string": '{"id": "a", "text": "%s", "spans": [{"start": "13", "end": 30, "label": "DISEASE"}]}',
        "offset huge": '{"id": "a", "text": "%s", "spans": [{"start": 13, "end": 1e300, "label": "DISEASE"}]}',
        "label null": '{"id": "a", "text": "%s", "spans": [{"start": 13, "end": 30, "label": null}]}',
        "label a number": '{"id": "a", "text": "%s", "spans": [{"start": 13, "end": 30, "label": 7}]}',
        "span text a number": '{"id": "a", "text": "%s", "spans": [{"start": 13, "end": 30, "label": "D", "text": 5}]}',
        "score a string": '{"id": "a", "text": "%s", "spans": [{"start": 13, "end": 30, "label": "D", "score": "high"}]}',
        "score a bool": '{"id": "a", "text": "%s", "spans": [{"start": 13, "end": 30, "label": "D", "score": true}]}',
        "fragments a number": '{"id": "a", "text": "%s", "spans": [{"start": 13, "end": 30, "label": "D", "fragments": 5}]}',
        "fragments of one number": '{"id": "a", "text": "%s", "spans": [{"start": 13, "end": 30, "label": "D", "fragments": [[13], [20, 30]]}]}',
        "id a float": '{"id": 1.5, "text": "%s"}',
        "id a bool": '{"id": true, "text": "%s"}',
        "span a list": '{"id": "a", "text": "%s", "spans": [[13, 30, "DISEASE"]]}',
    }
    text_json = json.dumps(TEXT)[1:-1]
    for desc, line in wrong.items():
        content = (line % text_json) + "\n"
        for cmd, argv in {
            "stats": ["stats", "bad.jsonl"],
            "convert": ["convert", "bad.jsonl", "out.jsonl", "--to", "jsonl"],
            "evaluate gold": ["evaluate", "bad.jsonl", "pred.jsonl"],
            "evaluate pred": ["evaluate", "gold.jsonl", "bad.jsonl"],
            "predict": ["predict", "lex", "bad.jsonl", "--output", "out.jsonl"],
        }.items():
            add(
                Case(
                    f"{cmd}: JSONL {desc}",
                    argv,
                    {"bad.jsonl": content},
                    expect="error",
                    outputs=("out.jsonl",),
                    names_file="bad.jsonl",
                )
            )
    # -- CoNLL and other absurd offsets -------------------------------------------------------
    add(
        Case(
            "stats: CoNLL offset 10^12",
            ["stats", "big.conll"],
            {"big.conll": "diabetes\t1000000000000\t1000000000008\tB-DISEASE\n"},
            expect="error",
            names_file="big.conll",
        )
    )
    add(
        Case(
            "convert: CoNLL offset 10^12",
            ["convert", "big.conll", "out.jsonl", "--to", "jsonl"],
            {"big.conll": "diabetes\t1000000000000\t1000000000008\tB-DISEASE\n"},
            expect="error",
            outputs=("out.jsonl",),
        )
    )
    add(
        Case(
            "stats: BRAT offset 10^12",
            ["stats", "brat"],
            {"brat/a.ann": "T1\tDISEASE 1000000000000 1000000000017\tdiabetes mellitus\n"},
            expect="error",
        )
    )
    add(
        Case(
            "evaluate: bare TSV offset 10^12",
            ["evaluate", "gold.jsonl", "big.tsv"],
            {"big.tsv": "filename\tlabel\tstart_span\tend_span\ttext\na\tDISEASE\t13\t1000000000000\tx\n"},
        )
    )
    add(
        Case(
            "ensemble: bare TSV offset 10^12",
            ["ensemble", "big.tsv", "pred.tsv", "--output", "out.tsv"],
            {"big.tsv": "filename\tlabel\tstart_span\tend_span\ttext\na\tDISEASE\t13\t1000000000000\tx\n"},
            outputs=("out.tsv",),
        )
    )

    # -- superscript digits and other not-quite-numbers in offsets ------------------------------
    for desc, num in {"superscript": "1³", "arabic-indic": "١٣", "fullwidth": "１３"}.items():
        add(
            Case(
                f"stats: BRAT {desc} offset",
                ["stats", "brat"],
                {"brat/a.ann": f"T1\tDISEASE {num} 30\tdiabetes mellitus\n"},
                expect="error",
                names_file="a.ann",
            )
        )
        add(
            Case(
                f"stats: TSV {desc} offset",
                ["stats", "mc"],
                {
                    "mc/es/dev/disease/es_dev_disease.tsv": f"filename\tlabel\tstart_span\tend_span\ttext\na\tDISEASE\t{num}\t30\tdiabetes mellitus\n"
                },
                expect="error",
                names_file="es_dev_disease.tsv",
            )
        )
        add(
            Case(
                f"evaluate: bare TSV {desc} offset",
                ["evaluate", "gold.jsonl", "sup.tsv"],
                {
                    "sup.tsv": f"filename\tlabel\tstart_span\tend_span\ttext\na\tDISEASE\t{num}\t30\tdiabetes mellitus\n"
                },
                expect="error",
                names_file="sup.tsv",
            )
        )
        add(
            Case(
                f"stats: CoNLL {desc} offset",
                ["stats", "sup.conll"],
                {"sup.conll": f"diabetes\t{num}\t21\tB-DISEASE\n"},
                expect="error",
                names_file="sup.conll",
            )
        )
        add(
            Case(
                f"stats: PubTator {desc} offset",
                ["stats", "sup.pubtator"],
                {
                    "sup.pubtator": f"1|t|{TEXT.strip()}\n1|a|x\n1\t{num}\t30\tdiabetes mellitus\tDisease\tD1\n\n"
                },
                expect="error",
                names_file="sup.pubtator",
            )
        )
    # -- not UTF-8 -------------------------------------------------------------------------------
    latin = "diabetes\tDISEASE\nfi\xe8vre\tSYMPTOM\n".encode("latin-1")
    add(
        Case(
            "lexicon: term list not UTF-8",
            ["lexicon", "latin.tsv", "--output", "newlex", "--format", "terms"],
            {"latin.tsv": latin},
            expect="error",
            names_file="latin.tsv",
        )
    )
    add(
        Case(
            "predict: term list not UTF-8",
            ["predict", "latin.tsv", "notes", "--output", "out.tsv"],
            {"latin.tsv": latin},
            expect="error",
            names_file="latin.tsv",
            outputs=("out.tsv",),
        )
    )
    for rel in [
        "brat/a.txt",
        "brat/a.ann",
        "notes/n1.txt",
        "gold.jsonl",
        "tok.conll",
        "mc/es/dev/disease/es_dev_disease.tsv",
        "mc/es/dev/disease/txt/a.txt",
    ]:
        src = {"brat": "brat", "note": "notes", "gold": "gold.jsonl", "tok.": "tok.conll", "mc/e": "mc"}[
            rel[:4]
        ]
        add(
            Case(
                f"stats: {rel} not UTF-8",
                ["stats", src],
                setup=lambda ws, rel=rel: (ws / rel).write_bytes((ws / rel).read_bytes() + b"\xff\xfe\n"),
                expect="error",
                names_file=Path(rel).name,
            )
        )

    # -- messages must be capped: an offset typo must not print the note -----------------------
    long_note = "Paciente con diabetes mellitus. " + ("texto " * 2000) + SECRET + (" mas" * 2000) + "\n"
    add(
        Case(
            "stats: BRAT offset typo in a long note",
            ["stats", "brat"],
            {
                "brat/a.txt": long_note,
                "brat/a.ann": f"T1\tDISEASE 13 {len(long_note) - 5}\tdiabetes mellitus\n",
            },
            expect="error",
        )
    )
    add(
        Case(
            "stats: JSONL offset typo in a long note",
            ["stats", "long.jsonl"],
            {
                "long.jsonl": jline(
                    id="a",
                    text=long_note,
                    spans=[
                        {"start": 13, "end": len(long_note) - 5, "label": "D", "text": "diabetes mellitus"}
                    ],
                )
            },
            expect="error",
        )
    )
    add(
        Case(
            "stats: TSV stored text of 20k chars",
            ["stats", "mc"],
            {
                "mc/es/dev/disease/es_dev_disease.tsv": "filename\tlabel\tstart_span\tend_span\ttext\na\tDISEASE\t13\t30\t"
                + ("x" * 20000)
                + SECRET
                + "\n"
            },
            expect="error",
        )
    )
    huge = "Paciente con diabetes mellitus " + ("y " * 2_500_000) + "\n"  # a 5 MB row
    add(
        Case(
            "stats: a 5 MB JSONL row with an offset typo",
            ["stats", "huge.jsonl"],
            {
                "huge.jsonl": jline(
                    id="a",
                    text=huge,
                    spans=[{"start": 13, "end": len(huge) - 3, "label": "D", "text": "diabetes"}],
                )
            },
            expect="error",
        )
    )
    add(
        Case(
            "stats: a 5 MB JSONL row",
            ["stats", "huge.jsonl"],
            {"huge.jsonl": jline(id="a", text=huge, spans=[{"start": 13, "end": 30, "label": "D"}])},
            expect="ok",
        )
    )
    add(
        Case(
            "convert: a 5 MB JSONL row to brat",
            ["convert", "huge.jsonl", "hb", "--to", "brat"],
            {"huge.jsonl": jline(id="a", text=huge, spans=[{"start": 13, "end": 30, "label": "D"}])},
            expect="ok",
            outputs=("hb",),
        )
    )

    # -- upper-case suffixes ----------------------------------------------------------------------
    upper = {"brat/B.TXT": TEXT, "brat/B.ANN": "T1\tDISEASE 13 30\tdiabetes mellitus\n"}
    add(
        Case("stats: BRAT B.TXT/B.ANN", ["stats", "brat", "--json"], upper, check=stats_documents(2, "B.TXT"))
    )
    add(
        Case(
            "convert: BRAT B.TXT/B.ANN",
            ["convert", "brat", "out.jsonl", "--to", "jsonl"],
            upper,
            outputs=("out.jsonl",),
            check=output_documents("out.jsonl", 2, "B.TXT"),
        )
    )
    add(
        Case(
            "predict: notes B.TXT",
            ["predict", "lex", "notes", "--output", "out.jsonl"],
            {"notes/B.TXT": TEXT},
            outputs=("out.jsonl",),
            check=output_documents("out.jsonl", 2, "B.TXT"),
        )
    )
    add(
        Case(
            "stats: txt folder B.TXT",
            ["stats", "notes", "--format", "txt", "--json"],
            {"notes/B.TXT": TEXT},
            check=stats_documents(2, "B.TXT"),
        )
    )
    add(
        Case(
            "stats: MultiClinAI ES_DEV_DISEASE.TSV",
            ["stats", "mc2", "--json"],
            {
                "mc2/es/dev/disease/txt/a.txt": TEXT,
                "mc2/es/dev/disease/txt/B.TXT": TEXT,
                "mc2/es/dev/disease/ES_DEV_DISEASE.TSV": BASE["mc/es/dev/disease/es_dev_disease.tsv"],
            },
            check=stats_documents(2, "B.TXT"),
        )
    )
    add(
        Case(
            "stats: tsv folder X.TSV",
            ["stats", "t", "--json"],
            {"t/a.tsv": BASE["pred.tsv"], "t/B.TSV": BASE["pred.tsv"].replace("\na\t", "\nb\t")},
            check=stats_documents(2, "B.TSV"),
        )
    )
    add(
        Case(
            "stats: jsonl folder B.JSONL",
            ["stats", "j", "--json"],
            {
                "j/a.jsonl": BASE["gold.jsonl"],
                "j/B.JSONL": BASE["gold.jsonl"].replace('"id": "a"', '"id": "b"'),
            },
            check=stats_documents(2, "B.JSONL"),
        )
    )
    add(
        Case(
            "stats: a file A.JSONL",
            ["stats", "A.JSONL", "--json"],
            {"A.JSONL": BASE["gold.jsonl"]},
            check=stats_documents(1, "?"),
        )
    )

    # -- JSONL values that must not be coerced --------------------------------------------------
    # (covered by the wrong-type cases above: each must be an error naming the file)

    # -- predictions on another text ------------------------------------------------------------
    moved = jline(
        id="a",
        text="XXXXX" + TEXT,
        language="es",
        spans=[{"start": 18, "end": 35, "label": "DISEASE", "text": "diabetes mellitus"}],
    )
    add(
        Case(
            "evaluate: JSONL predictions on a different text",
            ["evaluate", "gold.jsonl", "moved.jsonl"],
            {"moved.jsonl": moved},
            check=says("differ", "different text"),
        )
    )
    add(
        Case(
            "evaluate: BRAT predictions on a different text",
            ["evaluate", "gold.jsonl", "pb"],
            {"pb/a.txt": "XXXXX" + TEXT, "pb/a.ann": "T1\tDISEASE 18 35\tdiabetes mellitus\n"},
            check=says("differ", "different text"),
        )
    )

    # -- inputs overwritten ---------------------------------------------------------------------
    add(Case("predict into its BRAT input", ["predict", "lex", "brat", "--output", "brat"], expect="error"))
    add(
        Case(
            "predict into its JSONL input",
            ["predict", "lex", "gold.jsonl", "--output", "gold.jsonl"],
            expect="error",
        )
    )
    add(
        Case(
            "predict into a folder holding its input",
            ["predict", "lex", "brat/a.txt", "--output", "brat"],
            expect="error",
        )
    )
    add(Case("predict into its lexicon", ["predict", "lex", "notes", "--output", "lex"], expect="error"))
    add(
        Case(
            "predict into a symlink to its input",
            ["predict", "lex", "gold.jsonl", "--output", "link.jsonl"],
            setup=lambda ws: os.symlink("gold.jsonl", ws / "link.jsonl"),
            expect="error",
        )
    )
    add(
        Case(
            "ensemble into its first input",
            ["ensemble", "pred.tsv", "pred2.tsv", "--output", "pred.tsv"],
            expect="error",
        )
    )
    add(
        Case(
            "ensemble into its second input",
            ["ensemble", "pred.tsv", "pred2.tsv", "--output", "./pred2.tsv"],
            expect="error",
        )
    )
    add(
        Case(
            "evaluate -o onto its gold",
            ["evaluate", "g.json", "pred.jsonl", "-o", "g.json"],
            {"g.json": BASE["gold.jsonl"]},
            expect="error",
        )
    )
    add(
        Case(
            "convert into its input", ["convert", "gold.jsonl", "gold.jsonl", "--to", "jsonl"], expect="error"
        )
    )
    add(
        Case(
            "convert into a folder holding its input",
            ["convert", "brat", ".", "--to", "brat"],
            expect="error",
        )
    )
    add(Case("lexicon into its corpus", ["lexicon", "brat", "--output", "brat/lex"], expect="error"))
    add(
        Case(
            "lexicon over its term list folder",
            ["lexicon", "lex/lexicon.tsv", "--output", "lex", "--format", "terms"],
            expect="error",
        )
    )

    # -- lexicons that do not read back ---------------------------------------------------------
    def corpus(mention_text: str, label: str = "DISEASE") -> dict[str, str | bytes]:
        text = f"Paciente con {mention_text} hoy.\n"
        return {
            "lx.jsonl": jline(
                id="a", text=text, spans=[{"start": 13, "end": 13 + len(mention_text), "label": label}]
            )
        }

    for desc, mention, label in [
        ("a mention with a tab", "diabetes\tmellitus", "DISEASE"),
        ("a mention with a newline", "diabetes\nmellitus", "DISEASE"),
        ("a mention with CRLF", "diabetes\r\nmellitus", "DISEASE"),
        ("a label with a tab", "diabetes", "DIS\tEASE"),
        ("a label with a newline", "diabetes", "DIS\nEASE"),
        ("a mention starting with #", "#diabetes", "DISEASE"),
        ("a mention starting with a space-hash", "# 5 vertebra", "PROCEDURE"),
        ("a label starting with #", "diabetes", "#DISEASE"),
        ("a mention 'term' with label 'label'", "term", "label"),
    ]:
        add(
            Case(
                f"lexicon: {desc}",
                ["lexicon", "lx.jsonl", "--output", "newlex"],
                corpus(mention, label),
                outputs=("newlex",),
                check=lexicon_reads_back("newlex", {(mention.strip(), label)}),
            )
        )

    # -- forced formats that find nothing -------------------------------------------------------
    add(
        Case(
            "convert a MultiClinAI tree forced as brat",
            ["convert", "mc", "out.jsonl", "--to", "jsonl", "--format", "brat"],
            outputs=("out.jsonl",),
            check=says("no annotation", "no .ann", "not brat", "no spans"),
        )
    )
    add(
        Case(
            "stats a MultiClinAI tree forced as brat",
            ["stats", "mc", "--format", "brat"],
            check=says("no annotation", "no .ann", "not brat", "no spans"),
        )
    )

    # -- detection fooled by note text ----------------------------------------------------------
    add(
        Case(
            "stats: BRAT note starting with 2|t|",
            ["stats", "brat2"],
            {
                "brat2/a.txt": "2|t|" + TEXT,
                "brat2/a.ann": "T1\tDISEASE 17 34\tdiabetes mellitus\n",
                "brat2/b.txt": TEXT,
                "brat2/b.ann": "",
            },
            expect="ok",
        )
    )
    add(
        Case(
            "stats: BRAT tree whose note starts with 2|t|",
            ["stats", "tree"],
            {
                "tree/x/a.txt": "2|t|" + TEXT,
                "tree/x/a.ann": "T1\tDISEASE 17 34\tdiabetes mellitus\n",
                "tree/y/a2.txt": TEXT,
                "tree/y/a2.ann": "",
            },
            expect="ok",
        )
    )
    add(
        Case(
            "predict: notes starting with 2|t|",
            ["predict", "lex", "n2", "--output", "out.tsv"],
            {"n2/a.txt": "2|t|" + TEXT, "n2/b.txt": TEXT},
            expect="ok",
            outputs=("out.tsv",),
        )
    )

    # -- temp files of a killed run ---------------------------------------------------------------
    file_leftovers = {".out.jsonl.k1q2w3.tmp": "{}\n"}
    folder_leftovers = {".outb.z9y8x7.tmp/a.txt": TEXT, ".outb.z9y8x7.tmp/a.ann": ""}
    add(
        Case(
            "convert after a killed convert (file)",
            ["convert", "gold.jsonl", "out.jsonl", "--to", "jsonl"],
            file_leftovers,
            expect="ok",
            outputs=("out.jsonl",),
            check=no_hidden_leftovers,
        )
    )
    add(
        Case(
            "convert after a killed convert (folder)",
            ["convert", "gold.jsonl", "outb", "--to", "brat"],
            folder_leftovers,
            expect="ok",
            outputs=("outb",),
            check=no_hidden_leftovers,
        )
    )
    add(
        Case(
            "convert after a killed folder swap",
            ["convert", "gold.jsonl", "outb", "--to", "brat"],
            {".outb.old/a.txt": TEXT, ".outb.old/a.ann": "", "outb/a.txt": TEXT, "outb/a.ann": ""},
            expect="ok",
            outputs=("outb",),
            check=no_hidden_leftovers,
        )
    )
    return out


# ---------------------------------------------------------------------------------------------
# Running


def snapshot(ws: Path) -> dict[str, str]:
    seen: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(ws):
        for n in filenames + dirnames:
            p = Path(dirpath) / n
            rel = p.relative_to(ws).as_posix()
            if p.is_symlink():
                seen[rel] = "link:" + os.readlink(p)
            elif p.is_file():
                seen[rel] = hashlib.sha1(p.read_bytes()).hexdigest()
            elif p.is_dir():
                seen[rel] = "dir"
            else:
                seen[rel] = "special"
    return seen


def build(ws: Path, case: Case) -> None:
    for rel, content in {**BASE, **case.files}.items():
        p = ws / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            p.write_bytes(content)
        else:
            with open(p, "w", encoding="utf-8", newline="") as f:
                f.write(content)
    if case.setup:
        case.setup(ws)


def run(case: Case, exe: list[str], root: Path) -> tuple[Result, Path]:
    ws = Path(tempfile.mkdtemp(prefix="probe-", dir=root))
    build(ws, case)
    before = snapshot(ws)
    env = {**os.environ, "COLUMNS": "100", "NO_COLOR": "1"}
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [*exe, *case.argv],
        cwd=ws,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=TIMEOUT)
        rc: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        rc = None
    result = Result(
        rc, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"), time.perf_counter() - t0
    )
    result.before = before  # type: ignore[attr-defined]
    return result, ws


def judge(case: Case, r: Result, ws: Path) -> tuple[str, str] | None:
    """The first thing wrong with a run: (class, detail), or None."""
    if r.rc is None:
        return "hang", f"no exit within {TIMEOUT:.0f} s"
    if "Traceback (most recent call last)" in r.text or r.rc not in (0, 2):
        last = [ln for ln in r.err.strip().splitlines() if ln.strip()][-1:] or ["?"]
        return "traceback", f"exit {r.rc}: {last[0][:120]}"
    after = snapshot(ws)
    allowed = case.outputs
    for rel, digest in r.before.items():  # type: ignore[attr-defined]
        if any(rel == o or rel.startswith(o.rstrip("/") + "/") for o in allowed):
            continue
        if rel.startswith("."):
            continue  # a planted leftover: judged by the case's own check
        if after.get(rel) != digest:
            return "silent", f"{rel} {'removed' if rel not in after else 'changed'}"
    new_tmp = [rel for rel in after if rel not in r.before and ".tmp" in rel]  # type: ignore[attr-defined]
    if new_tmp:
        return "silent", f"temp file left: {new_tmp[0]}"
    if case.expect == "ok" and r.rc != 0:
        return "silent" if case.check else "rejected", f"exit {r.rc}: {r.err.strip()[:160]}"
    if case.expect == "error" and r.rc == 0:
        return "silent", "exit 0 where an error was due"
    if case.check and (problem := case.check(ws, r)):
        return "silent", problem
    if r.rc == 2:
        if len(r.text) > OUTPUT_CAP:
            return "message", f"{len(r.text)} characters of output"
        if SECRET in r.text:
            return "message", "note text beyond the span printed"
        if "<input>" in r.err:
            return "message", "error names <input>, not the file"
        if case.names_file and case.names_file not in r.err:
            return "message", f"error does not name {case.names_file}: {r.err.strip()[:160]}"
    return None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", help="run only cases whose name holds this")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every case")
    ap.add_argument("--timeout", type=float, default=TIMEOUT)
    args = ap.parse_args()
    globals()["TIMEOUT"] = args.timeout
    exe = [sys.executable, "-c", "from clinicalner.cli import main; main()"]
    todo = [c for c in cases() if not args.only or args.only in c.name]
    counts: Counter[str] = Counter()
    root = Path(tempfile.mkdtemp(prefix="clinicalner-probe-"))
    try:
        for case in todo:
            r, ws = run(case, exe, root)
            verdict = judge(case, r, ws)
            kind = verdict[0] if verdict else ("ok" if r.rc == 0 else "clean error")
            counts[kind] += 1
            if verdict or args.verbose:
                detail = verdict[1] if verdict else (r.err.strip().splitlines() or [""])[-1][:120]
                print(f"{kind:11} {case.name}: {detail}", flush=True)
            shutil.rmtree(ws, ignore_errors=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"\n{len(todo)} cases: " + ", ".join(f"{n} {k}" for k, n in counts.most_common()))
    bad = sum(n for k, n in counts.items() if k not in ("ok", "clean error"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
