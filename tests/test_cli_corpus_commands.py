"""The corpus commands (convert, stats, evaluate) as a user meets them: output, help, errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from clinicalner.cli import app
from clinicalner.evaluate import METRICS

runner = CliRunner()


def _brat(root: Path, n_words: int = 20000) -> Path:
    root.mkdir(parents=True)
    text = "Fiebre alta y tos. " * (n_words // 4)
    (root / "d1.txt").write_text(text, encoding="utf-8")
    (root / "d1.ann").write_text(
        "T1\tSYMPTOM 0 6\tFiebre\nT2\tSYMPTOM 14 17\ttos\nT3\tSYMPTOMATIC_LONG_LABEL_NAME 7 11\talta\n",
        encoding="utf-8",
    )
    return root


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The real command, its output going to a pipe (not a terminal), as with ``> file``."""
    env = {k: v for k, v in (env or os.environ).items() if k != "COLUMNS"}
    code = "from clinicalner.cli import app; app()"
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, check=False
    )


def test_output_to_a_file_is_not_cut_at_80_columns(tmp_path: Path) -> None:
    gold = _brat(tmp_path / "gold")
    r = _run("stats", str(gold))
    assert r.returncode == 0, r.stderr
    assert "…" not in r.stdout and "25,000" in r.stdout
    r = _run("evaluate", str(gold), str(gold))
    assert r.returncode == 0, r.stderr
    assert "…" not in r.stdout
    for name in METRICS:
        assert name in r.stdout, name
    # rich would fall back to 80 columns in a pipe; the CLI gives it room (COLUMNS still decides)
    width = [sys.executable, "-c", "from clinicalner import cli; print(cli.console.width)"]
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    assert subprocess.run(width, capture_output=True, text=True, env=env, check=True).stdout.strip() == "200"
    env["COLUMNS"] = "100"
    assert subprocess.run(width, capture_output=True, text=True, env=env, check=True).stdout.strip() == "100"


def test_evaluate_help_lists_every_metric_and_is_whole_at_80_columns() -> None:
    r = runner.invoke(app, ["evaluate", "--help"], env={"COLUMNS": "80", "TERMINAL_WIDTH": "80"})
    assert r.exit_code == 0
    text = " ".join(r.output.split())
    for name in METRICS:
        assert name in text, name
    assert "default: all" in text
    for option in ("--invalid-predictions", "--no-mask-unannotated", "--mask-unannotated", "--pred-format"):
        assert option in r.output, option
    r = runner.invoke(app, ["convert", "--help"], env={"COLUMNS": "80", "TERMINAL_WIDTH": "80"})
    assert "bare TSV" in " ".join(r.output.split()) and "with the texts" in " ".join(r.output.split())


def test_evaluate_lenient_says_what_it_skipped(tmp_path: Path) -> None:
    gold = _brat(tmp_path / "gold", 8)
    pred = tmp_path / "pred"
    pred.mkdir()
    (pred / "d1.txt").write_bytes((gold / "d1.txt").read_bytes())
    (pred / "d1.ann").write_text(
        "T1\tSYMPTOM 0 6\tFiebre\nnonsense line\nT2\tSYMPTOM 14 99\ttos\n", encoding="utf-8"
    )
    r = runner.invoke(app, ["evaluate", str(gold), str(pred), "--lenient", "-m", "strict", "--json"])
    assert r.exit_code == 0, r.output
    import json

    report = json.loads(r.stdout)
    assert report["stats"]["predicted_problems_skipped"] == 2
    assert report["stats"]["gold_problems_skipped"] == 0
    assert any("d1.ann:2" in w for w in report["warnings"])
    r = runner.invoke(app, ["evaluate", str(gold), str(pred), "--lenient", "-m", "strict"])
    assert "problems skipped while reading the predictions (--lenient): 2" in " ".join(r.output.split())
    # each problem named, not only the first
    flat = "".join(r.output.split())
    assert "d1.ann:2:notaBRATannotationline" in flat and "d1.ann:3:T2:span14-99" in flat


def test_evaluate_unknown_label_is_a_clear_error(tmp_path: Path) -> None:
    gold = _brat(tmp_path / "gold", 8)
    r = runner.invoke(app, ["evaluate", str(gold), str(gold), "-l", "SYMPTOMS"])
    assert r.exit_code == 2
    assert "SYMPTOMS" in r.output and "the labels there are: SYMPTOM, SYMPTOMATIC_LONG_LABEL_NAME" in r.output
    assert "Traceback" not in r.output


@pytest.mark.parametrize("to", ["jsonl", "brat"])
def test_convert_bare_tsv_without_texts_is_refused(tmp_path: Path, to: str) -> None:
    bare = tmp_path / "p.tsv"
    bare.write_text("filename\tlabel\tstart_span\tend_span\ttext\nd\tS\t0\t6\tfiebre\n", encoding="utf-8")
    out = tmp_path / ("o.jsonl" if to == "jsonl" else "o")
    r = runner.invoke(app, ["convert", str(bare), str(out), "--to", to])
    assert r.exit_code == 2 and "has no text" in r.output
    assert not out.exists()
