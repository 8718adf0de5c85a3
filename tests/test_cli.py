"""The CLI is a thin layer over clinicalner.api: same names, every option explained, clean errors."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from clinicalner import api
from clinicalner.cli import app

runner = CliRunner()
DISPLAY_ONLY = {"json", "markdown"}  # how the CLI prints; the API returns objects instead


def _commands() -> dict[str, object]:
    """Every command by its API function's name; a sub-command of a group is ``group_sub``."""
    return {name: cmd for name, (_, cmd) in _command_paths().items()}


def _command_paths() -> dict[str, tuple[list[str], object]]:
    """Every command's API name, with the words that invoke it (``["omop", "tag"]``)."""
    group = typer.main.get_command(app)
    out: dict[str, tuple[list[str], object]] = {}
    for name, cmd in group.commands.items():
        if hasattr(cmd, "commands"):
            out.update({f"{name}_{sub}": ([name, sub], c) for sub, c in cmd.commands.items()})
        else:
            out[name.replace("-", "_")] = ([name], cmd)  # `self-train` is api.self_train
    return out


def test_every_command_has_an_api_function_with_the_same_arguments():
    for name, cmd in _commands().items():
        fn = getattr(api, name, None)
        assert fn is not None, f"clinicalner.api.{name} is missing"
        cli_params = {p.name for p in cmd.params} - DISPLAY_ONLY
        api_params = set(inspect.signature(fn).parameters)
        assert cli_params == api_params, f"{name}: CLI {sorted(cli_params)} vs API {sorted(api_params)}"


def test_every_option_is_explained():
    for name, cmd in _commands().items():
        assert cmd.help, f"{name} has no help"
        for p in cmd.params:
            assert getattr(p, "help", None), f"{name} --{p.name} has no help"
        result = runner.invoke(app, [*_command_paths()[name][0], "--help"])
        assert result.exit_code == 0
        # Square brackets in help are rich markup: unescaped, "[[taggers]]" is printed as "[]".
        assert "[]" not in result.output, f"{name} --help lost text to rich markup"


def test_help_is_plain_and_reads_at_80_columns():
    """Plain click help: brackets print as written (no rich markup to eat "[train]"), flags carry
    no ``<bool>`` placeholder, no line is wider than 80 columns and no page runs past 100 lines (predict has the most options: 96)
    (rich's boxed panels made ``train --help`` 159 lines)."""
    for name, (args, _) in _command_paths().items():
        r = runner.invoke(app, [*args, "--help"], env={"COLUMNS": "80", "TERMINAL_WIDTH": "80"})
        assert r.exit_code == 0, name
        lines = r.output.splitlines()
        assert "<bool>" not in r.output, name
        assert max(len(line) for line in lines) <= 80, name
        assert len(lines) <= 100, f"{name} --help is {len(lines)} lines at 80 columns"
    r = runner.invoke(app, ["tune", "--help"], env={"COLUMNS": "200"})
    assert "TOML with a [train] table (dev required) and a [search] table." in r.output
    r = runner.invoke(app, ["benchmark", "--help"], env={"COLUMNS": "200"})
    assert "TOML naming [[taggers]] and [[datasets]] tables" in r.output


BRAT_TXT = "Fiebre y tos.\r\nDolor torácico 🤒 con disnea."
BRAT_ANN = "T1\tSYMPTOM 0 6\tFiebre\nT2\tSYMPTOM 9 12\ttos\nT3\tSYMPTOM 15 29\tDolor torácico\n"


def _corpus(tmp_path: Path) -> Path:
    root = tmp_path / "gold"
    root.mkdir()
    (root / "d1.txt").write_bytes(BRAT_TXT.encode())
    (root / "d1.ann").write_text(BRAT_ANN, encoding="utf-8")
    return root


def test_convert_stats_and_evaluate_against_itself(tmp_path):
    gold = _corpus(tmp_path)
    out = tmp_path / "gold.jsonl"
    r = runner.invoke(app, ["convert", str(gold), str(out), "--to", "jsonl"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["stats", str(out), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["documents"] == 1
    r = runner.invoke(app, ["evaluate", str(gold), str(out), "--json"])
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    for name, m in report["metrics"].items():
        assert m["f1"] == pytest.approx(1.0), name


def test_bad_input_is_one_line_with_file_and_line_and_exit_2(tmp_path):
    gold = _corpus(tmp_path)
    (gold / "d1.ann").write_text(BRAT_ANN + "T4\tSYMPTOM 40 999\tnope\n", encoding="utf-8")
    r = runner.invoke(app, ["stats", str(gold)])
    assert r.exit_code == 2
    assert "d1.ann:4" in r.output
    assert "Traceback" not in r.output


def test_ensemble_command_votes(tmp_path):
    from clinicalner.document import Document, Span
    from clinicalner.io import read_corpus, write_corpus

    text = "Fiebre y tos."
    sets = [
        [Span(0, 6, "SYMPTOM"), Span(9, 12, "SYMPTOM")],
        [Span(0, 6, "SYMPTOM")],
        [Span(0, 6, "SYMPTOM"), Span(9, 12, "DISEASE")],
    ]
    paths = []
    for k, spans in enumerate(sets):
        path = tmp_path / f"p{k}.jsonl"
        write_corpus([Document("d", text, [s.with_text(text) for s in spans])], path, "jsonl")
        paths.append(str(path))
    out = tmp_path / "vote.jsonl"
    r = runner.invoke(app, ["ensemble", *paths, "--output", str(out), "--min-votes", "2"])
    assert r.exit_code == 0, r.output
    assert [s.key for s in read_corpus(out).documents[0].spans] == [(0, 6, "SYMPTOM")]


def test_benchmark_command_writes_the_leaderboard(tmp_path):
    config = Path(__file__).parent / "benchmark" / "fixtures" / "bench.toml"
    r = runner.invoke(app, ["benchmark", str(config), "--output", str(tmp_path / "lb"), "--no-progress"])
    assert r.exit_code == 0, r.output
    for name in ("leaderboard.md", "leaderboard.csv", "leaderboard.html"):
        assert (tmp_path / "lb" / name).is_file()
    assert "lexicon" in r.stdout


def test_predict_refuses_lexicon_options_and_explains_stride(tmp_path):
    (tmp_path / "terms.tsv").write_text("fiebre\tSYMPTOM\n", encoding="utf-8")
    gold = _corpus(tmp_path)
    out = tmp_path / "p.jsonl"
    args = ["predict", str(tmp_path / "terms.tsv"), str(gold), "-o", str(out), "--no-progress"]
    r = runner.invoke(app, [*args, "--no-postprocess"])
    assert r.exit_code == 2 and "lexicon has no postprocess" in r.output
    assert not out.exists()
    assert runner.invoke(app, args).exit_code == 0 and out.is_file()
    r = runner.invoke(app, [*args, "--merge-min-ratio", "0.1"])
    assert r.exit_code == 2 and "lexicon has no merge_min_ratio" in r.output
    r = runner.invoke(app, ["predict", "--help"], env={"COLUMNS": "400"})
    help_text = " ".join(r.output.split())
    assert "only matters inside a sentence longer than a window" in help_text
    assert "--merge-min-ratio" in help_text and "P(joined)/P(split)" in help_text


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--no-postprocess", "--merge-min-ratio", "0.1"], "cannot go with postprocess off"),
        (["--merge-min-ratio", "-1"], "must be 0 or more"),
    ],
)
def test_predict_refuses_a_merge_ratio_it_cannot_use(tmp_path, extra, message):
    gold = _corpus(tmp_path)
    out = tmp_path / "p.jsonl"
    r = runner.invoke(app, ["predict", str(tmp_path / "no-model"), str(gold), "-o", str(out), *extra])
    assert r.exit_code == 2 and message in r.output
    assert not out.exists()


def test_train_flags_reach_the_training_config(tmp_path, monkeypatch):
    """The settings users need most, without writing a config file."""
    from clinicalner.train import loop

    seen = []

    def fake_train_model(config, **kw):
        seen.append(config)
        return loop.TrainResult(output=Path(config.output), best_epoch=1, best_f1=None)

    monkeypatch.setattr(loop, "train_model", fake_train_model)
    flags = [
        "--grad-accum", "4", "--max-length", "128", "--stride", "96", "--windows", "sliding",
        "--label-strategy", "all", "--class-weights", "none", "--device", "cpu",
        "--no-mixed-precision", "--no-freeze-embeddings",
    ]  # fmt: skip
    gold = str(_corpus(tmp_path))
    r = runner.invoke(app, ["train", gold, "-o", str(tmp_path / "m"), *flags])
    assert r.exit_code == 0, r.output
    (cfg,) = seen
    assert (cfg.grad_accum, cfg.max_length, cfg.stride, cfg.windows) == (4, 128, 96, "sliding")
    assert (cfg.label_strategy, cfg.class_weights, cfg.device) == ("all", "none", "cpu")
    assert cfg.mixed_precision is False and cfg.freeze_embeddings is False
    # Not given: the config file's values (here the defaults) stay.
    r = runner.invoke(app, ["train", gold, "-o", str(tmp_path / "n")])
    assert r.exit_code == 0, r.output
    assert (seen[1].mixed_precision, seen[1].freeze_embeddings, seen[1].windows) == (True, True, "sentence")
    r = runner.invoke(app, ["train", gold, "-o", str(tmp_path / "o"), "--label-strategy", "most"])
    assert r.exit_code == 2 and "label_strategy must be" in r.output


def test_printed_paths_are_relative_inside_the_working_folder_else_absolute(tmp_path, monkeypatch):
    from clinicalner.cli import shown

    monkeypatch.chdir(tmp_path)
    assert shown("m/model") == "m/model"
    assert shown(tmp_path / "m" / "model") == "m/model"  # the same folder given absolute prints the same
    assert shown(".") == "."
    outside = tmp_path.parent / "elsewhere"
    assert shown(outside) == str(outside)
    assert shown("../elsewhere") == str(outside)
