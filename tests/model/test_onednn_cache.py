"""The bounded oneDNN primitive cache that keeps bf16 tagging memory flat."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from clinicalner.model.onednn_cache import CAPACITY, ENV, bound_primitive_cache


def test_sets_the_capacity_when_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV, raising=False)
    assert bound_primitive_cache() is True
    assert os.environ[ENV] == str(CAPACITY)


def test_keeps_the_users_own_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, "2048")
    assert bound_primitive_cache(8) is False
    assert os.environ[ENV] == "2048"


def test_an_empty_setting_counts_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, " ")
    assert bound_primitive_cache(8) is True
    assert os.environ[ENV] == "8"


def test_rejects_a_negative_capacity() -> None:
    with pytest.raises(ValueError, match="capacity"):
        bound_primitive_cache(-1)


CHILD = """
import sys
import torch
if sys.argv[1] != "-":
    from clinicalner.predict.engine import TransformerTagger
    TransformerTagger(sys.argv[1], precision="fp32")
layer = torch.nn.Linear(32, 48)
with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
    for n in [*range(4, {shapes} + 4), 4]:  # many batch shapes, then the first again
        layer(torch.randn(n, 32))
"""


def _last_create(model: str) -> str | None:
    """The oneDNN verbose 'create' outcome of the child's last product (hit or miss)."""
    env = {k: v for k, v in os.environ.items() if k != ENV}
    env["ONEDNN_VERBOSE"] = "profile_create"
    code = CHILD.format(shapes=CAPACITY + 16)
    proc = subprocess.run(
        [sys.executable, "-c", code, model], env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    creates = [ln for ln in (proc.stdout + proc.stderr).splitlines() if ",create:cache_" in ln]
    if not creates:
        return None
    return "hit" if ",create:cache_hit," in creates[-1] else "miss"


def test_a_tagger_bounds_the_cache_before_its_first_product(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Without the bound a shape seen CAPACITY + 16 shapes ago is still cached (the default
    keeps 1,024); once a tagger has been created in the process it has been evicted."""
    pytest.importorskip("torch")
    from tiny_trained import shared_tiny_model

    control = _last_create("-")
    if control is None:
        pytest.skip("this CPU runs bf16 products without oneDNN primitives")
    assert control == "hit"
    assert _last_create(str(shared_tiny_model(tmp_path_factory))) == "miss"
