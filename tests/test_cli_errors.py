"""Errors and summaries of the CLI as a user meets them: one line, exit 2, no traceback, no note text."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from clinicalner.cli import app

runner = CliRunner()


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    """The real command with stdout and stderr going to pipes, as with ``> file 2>&1``."""
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    code = "from clinicalner.cli import app; app()"
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, check=False
    )


def test_predict_summary_is_not_preceded_by_a_blank_line(tmp_path: Path) -> None:
    """The transient progress bar used to leave an empty line when the output is not a terminal."""
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "a.txt").write_text("Paciente con fiebre.", encoding="utf-8")
    (tmp_path / "terms.tsv").write_text("fiebre\tSYMPTOM\n", encoding="utf-8")
    r = _run("predict", str(tmp_path / "terms.tsv"), str(tmp_path / "notes"), "-o", str(tmp_path / "p.tsv"))
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("tagged 1 documents, 1 spans"), repr(r.stdout)
    assert r.stderr == ""


def test_predict_names_what_lenient_reading_skipped(tmp_path: Path) -> None:
    (tmp_path / "in.jsonl").write_text('{"id": "a", "text": "fiebre"}\n{bad\n', encoding="utf-8")
    (tmp_path / "terms.tsv").write_text("fiebre\tSYMPTOM\n", encoding="utf-8")
    r = runner.invoke(
        app,
        [
            "predict",
            str(tmp_path / "terms.tsv"),
            str(tmp_path / "in.jsonl"),
            "-o",
            str(tmp_path / "p.tsv"),
            "--lenient",
            "--no-progress",
        ],
    )
    assert r.exit_code == 0, r.output
    assert "skipped 1 unreadable part(s) of the input (--lenient):" in r.output
    assert f"{tmp_path / 'in.jsonl'}:2: not valid JSON" in "".join(r.output.split("\n"))


def test_train_on_a_missing_gpu_is_one_line(tmp_path: Path, monkeypatch) -> None:
    torch = pytest.importorskip("torch")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    (tmp_path / "c.jsonl").write_text('{"id": "a", "text": "x"}\n', encoding="utf-8")
    r = runner.invoke(
        app,
        ["train", str(tmp_path / "c.jsonl"), "-o", str(tmp_path / "m"), "--device", "cuda", "--no-progress"],
    )
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert r.output.startswith("error: device 'cuda' asked for") and r.output.count("\n") == 1


def test_evaluate_refuses_a_report_suffix_it_cannot_write(tmp_path: Path) -> None:
    gold = tmp_path / "g.jsonl"
    gold.write_text('{"id": "a", "text": "fiebre", "spans": []}\n', encoding="utf-8")
    r = runner.invoke(app, ["evaluate", str(gold), str(gold), "-o", str(tmp_path / "rep.html")])
    assert r.exit_code == 2 and "name it .json or .md" in r.output
    assert not (tmp_path / "rep.html").exists()


def test_evaluate_never_prints_the_first_line_of_a_misnamed_file(tmp_path: Path) -> None:
    gold = tmp_path / "g.jsonl"
    line = '{"id": "a", "text": "Paciente de 46 anos con hematuria", "spans": []}'
    gold.write_text(line + "\n", encoding="utf-8")
    pred = tmp_path / "ens2.tsv"  # a JSONL named .tsv
    pred.write_text(line + "\n", encoding="utf-8")
    r = runner.invoke(app, ["evaluate", str(gold), str(pred)])
    assert r.exit_code == 2
    assert "the first line is not a TSV header" in r.output and "hematuria" not in r.output


def test_stats_on_a_folder_of_corpora_in_different_formats(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "c.jsonl").write_text('{"id": "a", "text": "x"}\n', encoding="utf-8")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "d.txt").write_text("x", encoding="utf-8")
    (tmp_path / "b" / "d.ann").write_text("", encoding="utf-8")
    r = runner.invoke(app, ["stats", str(tmp_path)])
    assert r.exit_code == 2
    assert "holds corpora of different formats (brat: b/; jsonl: a/)" in r.output


def test_convert_brat_to_brat_keeps_relations_and_says_nothing_is_lost(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "d.txt").write_text("fiebre y tos", encoding="utf-8")
    (src / "d.ann").write_text(
        "T1\tS 0 6\tfiebre\nT2\tS 9 12\ttos\nR1\tAND Arg1:T1 Arg2:T2\t\n*\tOR T1 T2\nA1\tNegated T2\n",
        encoding="utf-8",
    )
    r = runner.invoke(app, ["convert", str(src), str(tmp_path / "out"), "--to", "brat"])
    assert r.exit_code == 0, r.output
    assert "not written" not in r.output
    ann = next((tmp_path / "out").rglob("d.ann")).read_text(encoding="utf-8")
    assert "R1\tAND Arg1:T1 Arg2:T2\t\n" in ann and "*\tOR T1 T2\n" in ann and "A1\tNegated T2\n" in ann
