"""Optional packages are checked before a command starts: one line naming the extra, exit 2."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from clinicalner.cli import app
from clinicalner.extras import MissingExtra, installed, require

FIXTURES = Path(__file__).parent / "benchmark" / "fixtures"
runner = CliRunner()


def test_require_names_every_missing_package_and_its_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "optuna", None)  # import now raises ImportError
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert not installed("optuna") and installed("json")
    require({"json": "none"}, "this")  # present: nothing happens
    with pytest.raises(MissingExtra) as err:
        require({"optuna": "tune", "json": "x", "matplotlib": "plots"}, "the thing", "or not")
    assert str(err.value) == (
        "the thing needs optuna and matplotlib, which are not installed: pip install -e '.[tune,plots]' (or not)"
    )
    assert isinstance(err.value, ImportError) and err.value.name == "optuna"


def test_tune_without_optuna_is_one_line_and_exit_2(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """It was a ModuleNotFoundError with a traceback."""
    monkeypatch.setitem(sys.modules, "optuna", None)
    config = tmp_path / "search.toml"
    config.write_text("[train]\n[search]\n", encoding="utf-8")
    r = runner.invoke(app, ["tune", str(config), "--no-progress"])
    assert r.exit_code == 2, r.output
    assert "clinicalner tune needs optuna" in r.output and "pip install -e '.[tune" in r.output
    assert "Traceback" not in r.output and len(r.output.strip().splitlines()) == 1
    assert not (tmp_path / "search-tune").exists()


def test_benchmark_without_matplotlib_stops_before_tagging(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """It tagged everything and then crashed writing the HTML page."""
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    out = tmp_path / "lb"
    r = runner.invoke(app, ["benchmark", str(FIXTURES / "bench.toml"), "-o", str(out), "--no-progress"])
    assert r.exit_code == 2, r.output
    assert "pip install -e '.[plots]'" in r.output and "html = false" in r.output
    assert "Traceback" not in r.output
    assert not out.exists()  # nothing tagged


def test_the_help_of_tune_and_benchmark_names_their_extras() -> None:
    for command, extra in (("tune", "'.[train,tune]'"), ("benchmark", "'.[plots]'")):
        r = runner.invoke(app, [command, "--help"], env={"COLUMNS": "200"})
        assert r.exit_code == 0 and extra in r.output, command
