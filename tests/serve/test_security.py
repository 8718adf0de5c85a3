"""Who may call the service: the loopback rule and the bearer token."""

from __future__ import annotations

import pytest

from clinicalner.serve.security import api_key_from_env, bearer_matches, is_loopback


@pytest.mark.parametrize(
    ("host", "loop"),
    [
        ("127.0.0.1", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("10.1.2.3", False),
        ("ehr-host", False),
    ],
)
def test_loopback(host: str, loop: bool) -> None:
    assert is_loopback(host) is loop


def test_binding_beyond_loopback_needs_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    assert api_key_from_env(None, "127.0.0.1") is None
    with pytest.raises(ValueError, match="--api-key-env"):
        api_key_from_env(None, "0.0.0.0")
    monkeypatch.delenv("NER_KEY", raising=False)
    with pytest.raises(ValueError, match="NER_KEY"):
        api_key_from_env("NER_KEY", "0.0.0.0")
    monkeypatch.setenv("NER_KEY", "k")
    assert api_key_from_env("NER_KEY", "0.0.0.0") == "k"


@pytest.mark.parametrize(
    ("header", "ok"),
    [
        ("Bearer k3y", True),
        ("bearer k3y", True),
        ("Bearer k3", False),
        ("Basic k3y", False),
        ("k3y", False),
        (None, False),
        ("", False),
    ],
)
def test_bearer(header: str | None, ok: bool) -> None:
    assert bearer_matches(header, "k3y") is ok


def test_cli_refuses_a_public_bind_without_a_key(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from clinicalner.cli import app

    terms = tmp_path / "terms.tsv"
    terms.write_text("fiebre\tSYMPTOM\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["serve", str(terms), "--host", "0.0.0.0"])
    assert result.exit_code == 2
    assert "--api-key-env" in result.output
